// Classifies `talon config validate --json` over OpenClaw's model-related doc examples
// (run-openclaw-doc-models.sh) and compares the model refusals with the expected list.
//   node doc_model_report.mjs OUT_DIR EXPECTED_FILE
// OUT_DIR holds index.json, openclaw.json (doc_model_openclaw_accepts.mjs) and NNNN.talon.json (Talon's
// report per example). Only examples OpenClaw accepts count. A Talon error is a *model refusal* when its
// path is under `models`, `auth` or an agent's model keys; one whose message says an `api` value is not
// supported yet is an *unsupported API* refusal (allowed: the issue asks for no refusal of a supported
// API). Every other model refusal must be listed in EXPECTED_FILE as `docs/…:line<TAB>path` (a known gap,
// with the reason in a comment); an unlisted one fails, and so does a listed one Talon no longer makes
// (the list must shrink as Talon grows). Errors elsewhere (channels, tools, …) are reported, not failed.
// Exit 0 when the refusals match, 1 otherwise.
import fs from "node:fs";
import path from "node:path";

const [outDir, expectedFile] = process.argv.slice(2);
const index = JSON.parse(fs.readFileSync(path.join(outDir, "index.json"), "utf8"));
const openclaw = JSON.parse(fs.readFileSync(path.join(outDir, "openclaw.json"), "utf8"));

const MODEL_PATH =
  /^(models|auth)(\.|\[|$)|^agents\.(defaults|entries\.[^.]+)\.(model|models|imageModel|utilityModel|pdfModel|mediaModels|modelPolicy|params|spendLimit)(\.|\[|$)/;
// An `api` value Talon does not speak (models_section.cpp: `"<api>" is not supported by Talon yet (supported: …)`).
const UNSUPPORTED_API = /^"[^"]+" is not supported by Talon yet \(supported: /;

const expected = new Map();
for (const line of fs.readFileSync(expectedFile, "utf8").split("\n")) {
  const t = line.replace(/#.*/, "").trim();
  if (t) expected.set(t.replace(/\s+/, "\t"), false);
}

let considered = 0;
let clean = 0;
const unexpected = [];
const apiRefusals = [];
const otherRefusals = new Map();  // path head -> count
const modelRefusals = [];
for (const e of index) {
  if (!openclaw[e.file] || !openclaw[e.file].ok) continue;
  ++considered;
  const reportPath = path.join(outDir, e.file.replace(/\.json5$/, ".talon.json"));
  let report;
  try {
    report = JSON.parse(fs.readFileSync(reportPath, "utf8"));
  } catch (err) {
    unexpected.push(`${e.source}: no JSON report from talon config validate (${err.message})`);
    continue;
  }
  const errors = (report.issues || []).filter((i) => i.severity === "error");
  if (errors.length === 0) ++clean;
  for (const i of errors) {
    const p = i.path || "";
    if (!MODEL_PATH.test(p)) {
      const head = p.split(/[.[]/).slice(0, 2).join(".");
      otherRefusals.set(head, (otherRefusals.get(head) || 0) + 1);
      continue;
    }
    if (/^models\.providers\.[^.]+\.api$/.test(p) && UNSUPPORTED_API.test(i.message)) {
      apiRefusals.push(`${e.source}\t${p}: ${i.message}`);
      continue;
    }
    const key = `${e.source}\t${p}`;
    modelRefusals.push(`${key}: ${i.message}`);
    if (expected.has(key)) {
      expected.set(key, true);
    } else {
      unexpected.push(`${key}: ${i.message}`);
    }
  }
}
const stale = [...expected].filter(([, seen]) => !seen).map(([k]) => k);

console.log(`${index.length} model-related examples; OpenClaw accepts ${considered}; Talon accepts ${clean} of them`);
console.log(`model refusals: ${modelRefusals.length} (expected: ${expected.size})`);
for (const r of modelRefusals) console.log(`  ${r}`);
console.log(`refused for an API Talon does not speak yet: ${apiRefusals.length}`);
for (const r of apiRefusals) console.log(`  ${r}`);
console.log("refused elsewhere (not model keys; not failed here):");
for (const [head, n] of [...otherRefusals].sort((a, b) => b[1] - a[1])) console.log(`  ${head}: ${n}`);
if (unexpected.length) {
  console.log(`FAIL: ${unexpected.length} model refusal(s) not in ${path.basename(expectedFile)}:`);
  for (const u of unexpected) console.log(`  ${u}`);
}
if (stale.length) {
  console.log(`FAIL: ${stale.length} expected refusal(s) Talon no longer makes (remove them from the list):`);
  for (const s of stale) console.log(`  ${s}`);
}
process.exit(unexpected.length || stale.length ? 1 : 0);
