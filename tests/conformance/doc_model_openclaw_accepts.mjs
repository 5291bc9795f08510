// Which extracted examples OpenClaw itself accepts (run-openclaw-doc-models.sh): each OUT_DIR/NNNN.json5
// of index.json goes through OpenClaw's own core schema validation (`validateConfigObject` of its dist
// validation-core module, what `openclaw config validate` checks before plugin schemas), in one process.
//   node doc_model_openclaw_accepts.mjs OPENCLAW_PACKAGE_DIR JSON5_MODULE OUT_DIR
// Writes OUT_DIR/openclaw.json: {file: {ok, issues?}} for every example.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [pkgDir, json5Module, outDir] = process.argv.slice(2);
const JSON5 = createRequire(import.meta.url)(json5Module);
const dist = path.join(pkgDir, "dist");

// The module exporting validateConfigObject (its file name and export alias change between builds).
let validate = null;
for (const f of fs.readdirSync(dist).filter((n) => /^validation-core-.*\.mjs$/.test(n))) {
  const text = fs.readFileSync(path.join(dist, f), "utf8");
  const m = text.match(/export \{[^}]*\bvalidateConfigObject as (\w+)\b/);
  if (!m) continue;
  validate = (await import(pathToFileURL(path.join(dist, f)).href))[m[1]];
  break;
}
if (typeof validate !== "function") {
  console.error(`validateConfigObject not found in ${dist}/validation-core-*.mjs`);
  process.exit(2);
}

const index = JSON.parse(fs.readFileSync(path.join(outDir, "index.json"), "utf8"));
const out = {};
let accepted = 0;
for (const e of index) {
  const raw = JSON5.parse(fs.readFileSync(path.join(outDir, e.file), "utf8"));
  let r;
  try {
    r = validate(raw);
  } catch (err) {
    r = { ok: false, issues: [{ path: "", message: `threw: ${err && err.message}` }] };
  }
  out[e.file] = r.ok ? { ok: true } : { ok: false, issues: (r.issues || []).slice(0, 5) };
  if (r.ok) ++accepted;
}
fs.writeFileSync(path.join(outDir, "openclaw.json"), JSON.stringify(out, null, 1));
console.log(`OpenClaw accepts ${accepted} of ${index.length}`);
