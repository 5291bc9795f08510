#!/usr/bin/env node
// Conformance check of Talon's JSON5 parser against the reference implementation, the `json5` npm
// package (installed into tests/node_modules by `npm install` in tests/).
//
//   node compare.mjs --dump <path to talon_json5_dump> [--corpus <dir>]
//
// For every corpus/*.json5 file: json5.parse(text) and `talon_json5_dump file` must agree — both
// reject it, or both accept it with the same value (compared as canonical JSON: keys sorted; NaN and
// +/-Infinity, which JSON cannot carry, as the strings "NaN", "Infinity", "-Infinity"). Files named
// bad-*.json5 must be rejected by json5 and the others accepted, so the corpus itself stays honest.
//
// Exit status: 0 all agree, 1 a mismatch (or a corpus error), 77 skipped (the json5 package is not
// installed), 2 usage.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SKIP = 77;
const here = path.dirname(fileURLToPath(import.meta.url));

function usage(message) {
  console.error(`${message}\nusage: node compare.mjs --dump <talon_json5_dump> [--corpus <dir>]`);
  process.exit(2);
}

const args = process.argv.slice(2);
let dump;
let corpus = path.join(here, 'corpus');
for (let i = 0; i < args.length; i += 1) {
  if (args[i] === '--dump') dump = args[++i];
  else if (args[i] === '--corpus') corpus = args[++i];
  else usage(`unknown argument: ${args[i]}`);
}
if (!dump) usage('missing --dump');

let JSON5;
try {
  JSON5 = createRequire(path.join(here, '..', 'package.json'))('json5');
} catch {
  console.log('SKIP: the json5 npm package is not installed (run `npm install` in tests/)');
  process.exit(SKIP);
}

// Canonical JSON text of a value: keys sorted, non-finite numbers as strings.
function canonical(value) {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '"NaN"';
    if (value === Infinity) return '"Infinity"';
    if (value === -Infinity) return '"-Infinity"';
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function referenceParse(text) {
  const warn = console.warn;
  console.warn = () => {};  // json5 warns about raw U+2028/U+2029 in strings
  try {
    return { ok: true, value: canonical(JSON5.parse(text)) };
  } catch (e) {
    return { ok: false, error: e.message };
  } finally {
    console.warn = warn;
  }
}

function talonParse(file) {
  const r = spawnSync(dump, [file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status === 0) return { ok: true, value: canonical(JSON.parse(r.stdout)) };
  if (r.status === 1) return { ok: false, error: r.stderr.trim() };
  throw new Error(`${dump} ${file}: exit ${r.status}: ${r.stderr}`);
}

const files = readdirSync(corpus).filter((f) => f.endsWith('.json5')).sort();
if (files.length === 0) {
  console.error(`no .json5 files in ${corpus}`);
  process.exit(1);
}

let failures = 0;
let accepted = 0;
for (const name of files) {
  const file = path.join(corpus, name);
  const expectInvalid = name.startsWith('bad-');
  const ref = referenceParse(readFileSync(file, 'utf8'));
  const ours = talonParse(file);
  const problems = [];
  if (ref.ok === expectInvalid) {
    problems.push(`corpus: json5 ${ref.ok ? 'accepts' : 'rejects'} it but the name says ${expectInvalid ? 'invalid' : 'valid'}`);
  }
  if (ref.ok !== ours.ok) {
    problems.push(`json5 ${ref.ok ? 'accepts' : `rejects (${ref.error})`}, talon ${ours.ok ? 'accepts' : `rejects (${ours.error})`}`);
  } else if (ref.ok && ref.value !== ours.value) {
    problems.push(`values differ:\n    json5: ${ref.value.slice(0, 400)}\n    talon: ${ours.value.slice(0, 400)}`);
  }
  if (problems.length > 0) {
    failures += 1;
    console.log(`FAIL ${name}\n  ${problems.join('\n  ')}`);
  } else if (ref.ok) {
    accepted += 1;
  }
}
console.log(`${files.length} files: ${accepted} valid and ${files.length - accepted - failures} invalid agree, ${failures} fail`);
process.exit(failures === 0 ? 0 : 1);
