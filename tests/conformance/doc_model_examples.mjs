// Extracts the model-related config examples from OpenClaw's package docs (run-openclaw-doc-models.sh).
//   node doc_model_examples.mjs DOCS_DIR JSON5_MODULE OUT_DIR
// Every ```json5 / ```json / ```jsonc block of a .md/.mdx file under DOCS_DIR that parses (JSON5) to an
// object whose root keys are all OpenClaw root config keys and that configures models — `models`,
// `auth`, or a `model`/`models`/`fallbacks`/`imageModel` key under `agents` — is written to
// OUT_DIR/NNNN.json5, and OUT_DIR/index.json lists {file, source ("docs/…:line"), vars} for each, where
// `vars` are the `${VAR}` names the block uses (the driver sets them to placeholder values).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [docsDir, json5Module, outDir] = process.argv.slice(2);
if (!docsDir || !json5Module || !outDir) {
  console.error("usage: doc_model_examples.mjs DOCS_DIR JSON5_MODULE OUT_DIR");
  process.exit(2);
}
const JSON5 = createRequire(import.meta.url)(json5Module);

// OpenClaw 2026.9.6's root config keys (dist zod-schema OpenClawSchema).
const ROOT_KEYS = new Set([
  "$schema", "$include", "meta", "env", "wizard", "diagnostics", "logging", "update", "browser", "ui",
  "secrets", "auth", "accessGroups", "acp", "models", "nodeHost", "agents", "worktreeRoot",
  "worktreeAcceleration", "tools", "security", "bindings", "broadcast", "attachments", "messages", "tts",
  "commands", "approvals", "session", "cron", "hooks", "web", "channels", "discovery", "canvasHost",
  "talk", "gateway", "memory", "skills", "plugins", "mcp", "cli", "media", "audio", "stt", "proxy",
  "sandbox", "cloudWorkers", "telemetry", "observability",
]);
const MODEL_KEYS = new Set(["model", "models", "fallbacks", "imageModel", "utilityModel", "modelPolicy"]);

function walkFiles(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walkFiles(p, out);
    else if (/\.mdx?$/.test(e.name)) out.push(p);
  }
  return out;
}

function mentionsModels(agents) {
  if (!agents || typeof agents !== "object") return false;
  const scan = (o, depth) => {
    if (!o || typeof o !== "object" || depth > 3) return false;
    for (const [k, v] of Object.entries(o)) {
      if (MODEL_KEYS.has(k)) return true;
      if (scan(v, depth + 1)) return true;
    }
    return false;
  };
  return scan(agents, 0);
}

function isModelConfig(v) {
  if (!v || typeof v !== "object" || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  if (keys.length === 0 || !keys.every((k) => ROOT_KEYS.has(k))) return false;
  return "models" in v || "auth" in v || mentionsModels(v.agents);
}

fs.mkdirSync(outDir, { recursive: true });
const index = [];
for (const file of walkFiles(docsDir, []).sort()) {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  for (let i = 0; i < lines.length; ++i) {
    const open = lines[i].match(/^(\s*)```(json5|jsonc|json)\b/);
    if (!open) continue;
    const indent = open[1].length;
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); ++j) body.push(lines[j].slice(indent));
    const text = body.join("\n");
    let value;
    try {
      value = JSON5.parse(text);
    } catch {
      i = j;
      continue;
    }
    if (isModelConfig(value) && !text.includes("$include")) {
      const name = String(index.length).padStart(4, "0") + ".json5";
      fs.writeFileSync(path.join(outDir, name), text + "\n");
      const vars = [...new Set([...text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1]))];
      index.push({ file: name, source: `docs/${path.relative(docsDir, file)}:${i + 1}`, vars });
    }
    i = j;
  }
}
fs.writeFileSync(path.join(outDir, "index.json"), JSON.stringify(index, null, 1));
console.log(`${index.length} model-related examples`);
