// Checks route_cases.json against the OpenClaw reference implementation (2026.9.6, installed by
// /work/shared/tools/install-openclaw). Not part of the unit tests: run it by hand after changing the
// table or when the reference version changes.
//
//   node src/gateway/routing/testdata/openclaw_route_probe.mjs src/gateway/routing/testdata/route_cases.json
//
// Exits 1 when a case without `talonDiffers` disagrees with OpenClaw, or when a `talonDiffers` case
// turns out to agree (then the note is stale).
import { readFileSync } from "node:fs";

const dist = (process.env.OPENCLAW_DIST ?? "/root/.cache/openclaw-ref/node_modules/openclaw/dist") + "/";
const { o: resolveAgentRoute } = await import(dist + "resolve-route-6ukGCxYl.mjs");
const sk = await import(dist + "session-key-CBvmC8zz.mjs");
const { n: normalizeAgentId } = await import(dist + "agent-id-GA8mwdTG.mjs");
const { n: normalizeAccountId } = await import(dist + "account-id-B1bfbA5J.mjs");
const resolveThreadSessionKeys = sk.f;
const normalizeSessionKey = sk.O;

const table = JSON.parse(readFileSync(process.argv[2], "utf8"));
let failures = 0;
const report = (ok, what, detail) => {
  if (!ok) failures += 1;
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? `\n       ${detail}` : ""}`);
};

function toOpenClawConfig(cfg, session) {
  const out = {};
  if (cfg.agents) {
    out.agents = { ...(cfg.agents.ownership ? { ownership: cfg.agents.ownership } : {}) };
    if (cfg.agents.entries) out.agents.entries = Object.fromEntries(cfg.agents.entries.map((id) => [id, {}]));
  }
  if (cfg.bindings) out.bindings = cfg.bindings;
  if (session) out.session = session;
  return out;
}

function runRoute(c) {
  const cfg = toOpenClawConfig(table.configs[c.config], c.session);
  const m = c.message;
  try {
    const r = resolveAgentRoute({
      cfg,
      channel: m.channel,
      accountId: m.accountId,
      peer: m.peer,
      parentPeer: m.parentPeer,
      guildId: m.guildId,
      teamId: m.teamId,
      memberRoleIds: m.memberRoles,
      defaultAgentId: c.caller,
    });
    const sessionKey = m.threadId
      ? resolveThreadSessionKeys({ baseSessionKey: r.sessionKey, threadId: m.threadId }).sessionKey
      : r.sessionKey;
    const matchedBy = r.matchedBy === "default" && c.caller?.trim() ? "caller" : r.matchedBy;
    return { agentId: r.agentId, matchedBy, sessionKey };
  } catch (e) {
    return { error: e.code ?? String(e.message) };
  }
}

for (const c of table.routes) {
  const got = runRoute(c);
  const want = { ...c.expect };
  delete want.bindingIndex;
  const same = JSON.stringify(got) === JSON.stringify(want);
  if (c.talonDiffers) {
    report(!same, `${c.name} (Talon differs: ${c.talonDiffers})`, same ? "OpenClaw now agrees; drop the note" : `OpenClaw: ${JSON.stringify(got)}`);
  } else {
    report(same, c.name, same ? "" : `want ${JSON.stringify(want)}\n       got  ${JSON.stringify(got)}`);
  }
}
for (const [input, want] of table.agentIds) {
  const got = normalizeAgentId(input);
  report(got === want, `normalizeAgentId(${JSON.stringify(input)})`, got === want ? "" : `want ${want} got ${got}`);
}
for (const [input, want] of table.accountIds) {
  const got = normalizeAccountId(input);
  report(got === want, `normalizeAccountId(${JSON.stringify(input)})`, got === want ? "" : `want ${want} got ${got}`);
}
for (const [input, want] of table.sessionKeys) {
  const got = normalizeSessionKey(input);
  report(got === want, `normalizeSessionKey(${JSON.stringify(input)})`, got === want ? "" : `want ${want} got ${got}`);
}
console.log(failures === 0 ? "all cases agree with OpenClaw" : `${failures} disagreement(s)`);
process.exit(failures === 0 ? 0 : 1);
