// Differential check of Talon's cron engine against OpenClaw's (run-cron-schedule.sh): random croner
// expressions, time zones and instants — half of them within hours of a daylight-saving change — go to
// OpenClaw's computeNextRunAtMs (dist/schedule-*.mjs, on croner) and to talon-cron-next, and the answers
// must be equal. The one accepted difference is Talon's documented rule for the spring-forward gap
// (docs/cron.md "Schedules"): where OpenClaw skips a wall time that does not exist, Talon runs at the
// end of the gap, so Talon's answer is earlier and is the instant the offset jumps forward. Cases where
// OpenClaw itself throws (croner recursing without end on an impossible `+` day, e.g. "0 0 9 * +MON#1")
// are counted and skipped. Where Talon answers earlier with a time that croner's own match() accepts,
// OpenClaw missed a run (croner skips the 1st of March after Feb 29 for "0 3 1,16,31 * *"): counted apart.
//   node cron_schedule_diff.mjs --openclaw DIR --driver talon-cron-next [--seed N] [--count N]
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const distDir = join(args.openclaw, "node_modules/openclaw/dist");
const scheduleFile = readdirSync(distDir).find(
  (f) => /^schedule-.*\.mjs$/.test(f) && readFileSync(join(distDir, f), "utf8").includes("function computeNextRunAtMs"),
);
if (!scheduleFile) throw new Error(`no dist/schedule-*.mjs with computeNextRunAtMs under ${distDir}`);
const mod = await import(pathToFileURL(join(distDir, scheduleFile)).href);
const computeNextRunAtMs = Object.values(mod).find((f) => typeof f === "function" && f.name === "computeNextRunAtMs");
if (!computeNextRunAtMs) throw new Error(`${scheduleFile} does not export computeNextRunAtMs`);
const { Cron } = await import(pathToFileURL(join(args.openclaw, "node_modules/croner/dist/croner.js")).href);

let state = Number(args.seed ?? 20261201) >>> 0;
function rnd() {  // mulberry32
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rnd() * a.length)];
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
function item(lo, hi, names) {
  const v = () => {
    const n = int(lo, hi);
    return names && rnd() < 0.3 ? names[n - lo] : String(n);
  };
  const r = rnd();
  if (r < 0.25) return "*";
  if (r < 0.4) return `*/${int(1, Math.max(1, Math.floor((hi - lo) / 2)))}`;
  if (r < 0.65) return v();
  const a = int(lo, hi);
  const b = int(a, hi);
  const range = names && rnd() < 0.3 ? `${names[a - lo]}-${names[b - lo]}` : `${a}-${b}`;
  return r < 0.85 ? range : `${range}/${int(1, 5)}`;
}
function field(lo, hi, names) {
  const parts = Array.from({ length: rnd() < 0.75 ? 1 : int(2, 3) }, () => item(lo, hi, names));
  return parts.includes("*") ? "*" : parts.join(",");
}
const ZONES = {
  UTC: [Date.UTC(2026, 0, 1)],
  "America/New_York": [Date.UTC(2026, 2, 8, 7), Date.UTC(2026, 10, 1, 6)],
  "Europe/Berlin": [Date.UTC(2026, 2, 29, 1), Date.UTC(2026, 9, 25, 1)],
  "Asia/Kolkata": [Date.UTC(2026, 0, 1)],
  "Australia/Lord_Howe": [Date.UTC(2026, 3, 4, 15), Date.UTC(2026, 9, 3, 15, 30)],
  "Pacific/Chatham": [Date.UTC(2026, 3, 4, 14), Date.UTC(2026, 8, 26, 14)],
  "America/Sao_Paulo": [Date.UTC(2026, 0, 1)],
  "Asia/Tokyo": [Date.UTC(2026, 0, 1)],
};
function makeCase() {
  const nearChange = rnd() < 0.5;
  let dom = field(1, 31);
  if (rnd() < 0.1) dom = pick(["L", "LW", "15W", "1W", "L,15", "?"]);
  let dow = field(0, 7, [...DAYS, "SUN"]);
  if (rnd() < 0.1) dow = pick(["5#2", "FRI#L", "1L", "MON#1", "1-5", "SAT,SUN"]);
  if (rnd() < 0.1 && dow !== "*") dow = `+${dow}`;
  if (dom === "?" && dow !== "*") dow = "*";  // croner's "?" in day-of-month differs on purpose (docs/cron.md)
  const hour = nearChange && rnd() < 0.6 ? pick(["1", "2", "3", "1-3", "*", "*/2", "2,3"]) : field(0, 23);
  const fields = [field(0, 59), hour, dom, field(1, 12, MONTHS), dow];
  if (rnd() < 0.2) fields.unshift(field(0, 59));
  const tz = pick(Object.keys(ZONES));
  const after = nearChange
    ? pick(ZONES[tz]) + Math.floor((rnd() - 0.5) * 6 * 3600e3)
    : Date.UTC(2024, 0, 1) + Math.floor(rnd() * 6 * 365 * 864e5) + int(0, 999);
  return [fields.join(" "), tz, after];
}

function offsetMinutes(tz, ms) {
  const name = new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "longOffset" })
    .formatToParts(new Date(ms))
    .find((p) => p.type === "timeZoneName").value;  // "GMT+05:30" or "GMT"
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}
const isSpringForward = (tz, ms) => offsetMinutes(tz, ms) > offsetMinutes(tz, ms - 1000);

const count = Number(args.count ?? 4000);
const cases = Array.from({ length: count }, makeCase);
const driver = spawnSync(args.driver, [], { input: JSON.stringify(cases), maxBuffer: 64 << 20 });
if (driver.status !== 0) throw new Error(`talon-cron-next failed: ${driver.stderr}`);
const talon = JSON.parse(driver.stdout.toString());

let same = 0, gap = 0, skipped = 0, missed = 0;
const failures = [];
cases.forEach(([expr, tz, after], i) => {
  let want;
  try {
    want = computeNextRunAtMs({ kind: "cron", expr, tz }, after) ?? null;
  } catch {
    skipped += 1;
    return;
  }
  const got = talon[i];
  if (got === want) same += 1;
  else if (typeof got === "number" && (want === null || got < want) && isSpringForward(tz, got)) gap += 1;
  else if (typeof got === "number" && (want === null || got < want) && new Cron(expr, { timezone: tz }).match(new Date(got)))
    missed += 1;
  else failures.push({ expr, tz, after: new Date(after).toISOString(), openclaw: want, talon: got });
});
console.log(`cron differential (seed ${args.seed ?? 20261201}, ${count} cases, OpenClaw ${scheduleFile}): ` +
  `${same} equal, ${gap} spring-forward gap runs (documented), ${missed} runs OpenClaw missed, ` +
  `${skipped} skipped (OpenClaw threw), ` +
  `${failures.length} different`);
for (const f of failures.slice(0, 20)) {
  const iso = (v) => (typeof v === "number" ? new Date(v).toISOString() : JSON.stringify(v));
  console.log(`  ${JSON.stringify(f.expr)} in ${f.tz} after ${f.after}: OpenClaw ${iso(f.openclaw)}, Talon ${iso(f.talon)}`);
}
process.exit(failures.length === 0 ? 0 : 1);
