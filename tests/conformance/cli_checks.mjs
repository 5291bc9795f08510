// Checks the output of one OpenClaw CLI command run against Talon (run-openclaw-cli.sh). The expected
// shapes are fields that OpenClaw 2026.9.6's own gateway returns and that OpenClaw's CLI and clients
// read. They come from the captured frames (reference set openclaw-wire/res.*.json, partly in
// tests/data/wire/), and every check passed against OpenClaw's gateway itself. Talon may return more.
//   node cli_checks.mjs CHECK STDOUT-FILE [ARG...]
// Prints a one-line summary and exits 0 when the output passes, 1 when it does not, 2 on bad usage.
import {readFileSync} from 'node:fs';

const EXPECTED_TEXT = 'pong from the mock model';  // mock-script.json, rule 1
const REDACTED = '__OPENCLAW_REDACTED__';          // OpenClaw's redaction sentinel (config.get)

class CheckError extends Error {}
function assert(cond, message) {
  if (!cond) throw new CheckError(message);
}
function show(v) { return JSON.stringify(v)?.slice(0, 400); }
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNumber = (v) => typeof v === 'number' && Number.isFinite(v);
const isString = (v) => typeof v === 'string';

/// `--json` output must be exactly one JSON document on stdout.
function parseJsonOutput(text) {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CheckError(`stdout is not one JSON document (${err.message}): ${show(text.slice(0, 300))}`);
  }
}

function expectAgentsHealth(p, where) {
  assert(
      isString(p.defaultAgentId) && p.defaultAgentId === 'main',
      `${where}.defaultAgentId is ${show(p.defaultAgentId)}, expected "main"`);
  assert(Array.isArray(p.agents), `${where}.agents is not an array: ${show(p.agents)}`);
  const main = p.agents.find((a) => a?.agentId === 'main');
  assert(main, `${where}.agents has no {agentId:"main"}: ${show(p.agents)}`);
  assert(main.isDefault === true, `${where}.agents[main].isDefault is ${show(main.isDefault)}`);
}

const checks = {
  // health (res.health.json): {ok, ts, durationMs, channels, channelOrder, heartbeatSeconds, defaultAgentId, agents[],
  // sessions}
  health(p) {
    assert(isObject(p), `payload is not an object: ${show(p)}`);
    assert(p.ok === true, `ok is ${show(p.ok)}`);
    assert(isNumber(p.ts) && p.ts > 1.6e12, `ts is ${show(p.ts)} (epoch ms expected)`);
    assert(isNumber(p.durationMs), `durationMs is ${show(p.durationMs)}`);
    assert(isObject(p.channels), `channels is ${show(p.channels)}`);
    assert(Array.isArray(p.channelOrder), `channelOrder is ${show(p.channelOrder)}`);
    assert(isNumber(p.heartbeatSeconds), `heartbeatSeconds is ${show(p.heartbeatSeconds)}`);
    expectAgentsHealth(p, 'health');
    assert(
        isObject(p.sessions) && isNumber(p.sessions.count) && Array.isArray(p.sessions.recent),
        `sessions is ${show(p.sessions)} ({path, count, recent[]} expected)`);
    return `ok=true, defaultAgentId=${p.defaultAgentId}, ${p.agents.length} agent(s)`;
  },

  // status (res.status.json). OpenClaw's `status` command reads sessions.byAgent, heartbeat.agents, tasks.
  status(p) {
    assert(isObject(p), `payload is not an object: ${show(p)}`);
    assert(isString(p.runtimeVersion) && p.runtimeVersion.length > 0, `runtimeVersion is ${show(p.runtimeVersion)}`);
    assert(
        isObject(p.heartbeat) && p.heartbeat.defaultAgentId === 'main' && Array.isArray(p.heartbeat.agents),
        `heartbeat is ${show(p.heartbeat)}`);
    assert(Array.isArray(p.channelSummary), `channelSummary is ${show(p.channelSummary)}`);
    assert(Array.isArray(p.queuedSystemEvents), `queuedSystemEvents is ${show(p.queuedSystemEvents)}`);
    const s = p.sessions;
    assert(isObject(s), `sessions is ${show(s)}`);
    assert(
        isNumber(s.count) && Array.isArray(s.recent) && Array.isArray(s.paths),
        `sessions {paths[], count, recent[]}: ${show(s)}`);
    assert(
        Array.isArray(s.byAgent) && s.byAgent.some((a) => a?.agentId === 'main'),
        `sessions.byAgent has no main: ${show(s.byAgent)}`);
    assert(isObject(s.defaults), `sessions.defaults is ${show(s.defaults)}`);
    assert(isObject(p.tasks) && isNumber(p.tasks.total), `tasks is ${show(p.tasks)}`);
    return `runtimeVersion=${p.runtimeVersion}, sessions.count=${s.count}`;
  },

  // agents.list (res.agents.list.json): {defaultId, ownership, selectionRequired, mainKey, scope, agents[{id, ...}]}
  'agents.list'(p) {
    assert(isObject(p), `payload is not an object: ${show(p)}`);
    assert(p.defaultId === 'main', `defaultId is ${show(p.defaultId)}`);
    assert(isString(p.mainKey) && p.mainKey.length > 0, `mainKey is ${show(p.mainKey)}`);
    assert(isString(p.scope), `scope is ${show(p.scope)}`);
    assert(isString(p.ownership), `ownership is ${show(p.ownership)}`);
    assert(typeof p.selectionRequired === 'boolean', `selectionRequired is ${show(p.selectionRequired)}`);
    assert(
        Array.isArray(p.agents) && p.agents.some((a) => a?.id === 'main'),
        `agents has no {id:"main"}: ${show(p.agents)}`);
    return `defaultId=${p.defaultId}, agents=[${p.agents.map((a) => a.id).join(', ')}]`;
  },

  // sessions.list (res.sessions.list.json): {ts, path, count, totalCount, hasMore, defaults, sessions[]}.
  // ARG: a session key that must be listed.
  'sessions.list'(p, wantKey) {
    assert(isObject(p), `payload is not an object: ${show(p)}`);
    assert(isNumber(p.ts), `ts is ${show(p.ts)}`);
    assert(isNumber(p.count), `count is ${show(p.count)}`);
    assert(Array.isArray(p.sessions), `sessions is ${show(p.sessions)}`);
    assert(p.count === p.sessions.length, `count ${p.count} != sessions.length ${p.sessions.length}`);
    assert(typeof p.hasMore === 'boolean', `hasMore is ${show(p.hasMore)}`);
    assert(isObject(p.defaults), `defaults is ${show(p.defaults)}`);
    for (const s of p.sessions) assert(isString(s?.key), `a session without a string key: ${show(s)}`);
    if (wantKey) {
      assert(
          p.sessions.some((s) => s.key === wantKey), `no session ${wantKey} in ${show(p.sessions.map((s) => s.key))}`);
    }
    return `count=${p.count}${wantKey ? `, has ${wantKey}` : ''}`;
  },

  // channels.status (res.channels.status.json): the maps OpenClaw sends, empty without channels.
  'channels.status'(p) {
    assert(isObject(p), `payload is not an object: ${show(p)}`);
    assert(typeof p.ts === 'number', `ts is ${show(p.ts)}`);
    assert(Array.isArray(p.channelOrder), `channelOrder is ${show(p.channelOrder)}`);
    for (const k of ['channels', 'channelAccounts', 'channelLabels', 'channelDefaultAccountId']) {
      assert(isObject(p[k]), `${k} is ${show(p[k])}`);
    }
    assert(Array.isArray(p.statusIssues), `statusIssues is ${show(p.statusIssues)}`);
    return `${p.channelOrder.length} channel(s)`;
  },

  // `openclaw channels status --json`: the channels.status payload with Talon's loopback account.
  'channels-status-json'(p) {
    checks['channels.status'](p);
    assert(p.channelOrder.includes('loopback'), `channelOrder is ${show(p.channelOrder)}`);
    const accounts = p.channelAccounts.loopback;
    assert(Array.isArray(accounts) && accounts.length === 1, `channelAccounts.loopback is ${show(accounts)}`);
    const a = accounts[0];
    assert(a.accountId === 'default' && a.running === true && a.connected === true, `account is ${show(a)}`);
    assert(a.healthState === 'healthy', `healthState is ${show(a.healthState)}`);
    assert(p.channelDefaultAccountId.loopback === 'default', `default is ${show(p.channelDefaultAccountId)}`);
    return 'loopback default: running, connected, healthy';
  },

  // `openclaw channels status` (text): one line per account, e.g.
  // "- Loopback default: enabled, configured, running, connected, in:…, health:healthy".
  'channels-status-text'(_p, _arg, text) {
    const line = text.split('\n').find((l) => /^- Loopback default: /.test(l));
    assert(line, `no "- Loopback default:" line in: ${show(text)}`);
    for (const bit of ['enabled', 'configured', 'running', 'connected', 'health:healthy']) {
      assert(line.includes(bit), `"${bit}" is missing from: ${show(line)}`);
    }
    return line;
  },

  // config.get (res.config.get.json): {path, exists, raw, config, valid, hash, issues[], warnings[]}; secrets
  // replaced by "__OPENCLAW_REDACTED__" in raw and in the parsed views.
  'config.get'(p) {
    assert(isObject(p), `payload is not an object: ${show(p)}`);
    assert(isString(p.path), `path is ${show(p.path)}`);
    assert(p.exists === true, `exists is ${show(p.exists)}`);
    assert(p.valid === true, `valid is ${show(p.valid)}`);
    assert(isString(p.hash) && p.hash.length >= 16, `hash is ${show(p.hash)}`);
    assert(Array.isArray(p.issues), `issues is ${show(p.issues)}`);
    assert(Array.isArray(p.warnings), `warnings is ${show(p.warnings)}`);
    assert(isString(p.raw), `raw is ${show(p.raw)}`);
    assert(p.raw.includes(REDACTED), `raw does not contain the redaction sentinel ${REDACTED}`);
    assert(isObject(p.config), `config is ${show(p.config)}`);
    assert(
        p.config.gateway?.auth?.token === REDACTED,
        `config.gateway.auth.token is ${show(p.config.gateway?.auth?.token)}, expected ${REDACTED}`);
    assert(
        p.config.gateway?.auth?.mode === 'token', `config.gateway.auth.mode is ${show(p.config.gateway?.auth?.mode)}`);
    assert(
        p.config.models?.providers?.mock?.apiKey === REDACTED,
        `config.models.providers.mock.apiKey is ${show(p.config.models?.providers?.mock?.apiKey)}, expected ${
            REDACTED}`);
    return `exists, valid, hash=${p.hash.slice(0, 12)}…, token and apiKey redacted`;
  },

  // `openclaw gateway health` without --json: "Gateway Health" then "OK (<n>ms)", as against OpenClaw.
  'gateway-health-text'(_p, _arg, text) {
    assert(/^Gateway Health$/m.test(text), `no "Gateway Health" line: ${show(text)}`);
    const ok = text.match(/^OK \(\d+ms\)$/m);
    assert(ok, `no "OK (<n>ms)" line: ${show(text)}`);
    return ok[0];
  },

  // `openclaw gateway probe --json` (dist/gateway-status-*.mjs writeGatewayStatusJson). ARG: Talon's URL,
  // the explicit target. The probe connects as client cli/probe; OpenClaw's gateway cuts a probe
  // connection's scopes to [] so its read probes (status, system-presence, config.get) fail with
  // "missing scope: operator.read": connect.ok, rpcOk false, scopeLimited (observed on OpenClaw
  // 2026.9.6). A gateway that grants read instead must then answer every read probe (rpcOk, health.ok).
  probe(p, url) {
    assert(isObject(p), `payload is not an object: ${show(p)}`);
    assert(p.ok === true, `ok is ${show(p.ok)}`);
    assert(Array.isArray(p.targets) && p.targets.length > 0, `targets is ${show(p.targets)}`);
    const t = p.targets.find((x) => x?.url === url);
    assert(t, `no target with url ${url}: ${show(p.targets.map((x) => ({id: x.id, url: x.url})))}`);
    const c = t.connect;
    assert(c?.ok === true, `target ${t.id}: connect.ok is ${show(c?.ok)}; connect=${show(c)}`);
    assert(t.auth?.role === 'operator', `target ${t.id}: auth.role is ${show(t.auth?.role)}`);
    assert(
        isString(t.server?.version) && t.server.version.length > 0,
        `target ${t.id}: server.version is ${show(t.server?.version)}`);
    assert(
        isString(t.server?.connId) && t.server.connId.length > 0,
        `target ${t.id}: server.connId is ${show(t.server?.connId)}`);
    let reads;
    if (c.rpcOk === true) {
      assert(isObject(t.health) && t.health.ok === true, `target ${t.id}: rpcOk but health is ${show(t.health)}`);
      reads = 'read probes ok';
    } else {
      assert(
          c.scopeLimited === true && c.error === 'missing scope: operator.read',
          `target ${
              t.id}: read probes failed otherwise than OpenClaw's (scopeLimited, "missing scope: operator.read"): ${
              show(c)}`);
      assert(
          Array.isArray(t.auth?.scopes) && t.auth.scopes.length === 0,
          `target ${t.id}: probe scopes ${show(t.auth?.scopes)}, OpenClaw grants []`);
      reads = 'read probes scope-limited as on OpenClaw';
    }
    for (const other of p.targets) {
      assert(
          other.connect?.ok === true,
          `target ${other.id} (${other.kind} ${other.url}) is not reachable: ${show(other.connect)}`);
    }
    return `ok=true; ${p.targets.map((x) => `${x.kind} ${x.url} connect.ok=${x.connect?.ok}`).join('; ')}; ${
        reads}; server ${t.server.version}`;
  },

  // `openclaw gateway probe` (text): "Reachable: yes" and the explicit target's "Connect: ok". ARG: URL.
  'probe-text'(_p, url, text) {
    assert(/^Reachable: yes$/m.test(text), `no "Reachable: yes" line: ${show(text)}`);
    const lines = text.split('\n');
    const i = lines.findIndex((l) => l.includes('(explicit)') && l.includes(url));
    assert(i >= 0, `no "URL (explicit) ${url}" line: ${show(text)}`);
    assert(
        /^\s*Connect: ok\b/.test(lines[i + 1] ?? ''),
        `the explicit target's next line is not "Connect: ok": ${show(lines[i + 1])}`);
    return `Reachable: yes; ${lines[i + 1].trim()}`;
  },

  // `gateway call health --json` with a wrong token prints {ok:false, error} (exit 1 is checked by the
  // driver). OpenClaw: INVALID_REQUEST, details.code AUTH_TOKEN_MISMATCH, a message about the token.
  'wrong-token'(p) {
    assert(isObject(p) && p.ok === false && isObject(p.error), `not {ok:false, error}: ${show(p)}`);
    assert(p.error.code === 'INVALID_REQUEST', `error.code is ${show(p.error.code)}, OpenClaw sends "INVALID_REQUEST"`);
    assert(
        p.error.details?.code === 'AUTH_TOKEN_MISMATCH',
        `error.details.code is ${show(p.error.details?.code)}, OpenClaw sends "AUTH_TOKEN_MISMATCH"`);
    assert(/token/i.test(p.error.message ?? ''), `error.message does not mention the token: ${show(p.error.message)}`);
    return `${p.error.code}/${p.error.details.code}: ${p.error.message}`;
  },

  // chat.send acks at once: {runId: <idempotencyKey>, status: "started"}. ARG: the idempotency key.
  'chat.send'(p, key) {
    assert(isObject(p), `payload is not an object: ${show(p)}`);
    assert(p.runId === key, `runId is ${show(p.runId)}, expected the idempotencyKey ${show(key)}`);
    assert(p.status === 'started', `status is ${show(p.status)}, expected "started"`);
    return `runId=${p.runId}, status=${p.status}`;
  },

  // The final `agent` response: {runId, status:"ok", summary, result:{payloads:[{text}], meta}}. ARG: runId.
  'agent-final'(p, key) {
    assert(isObject(p), `payload is not an object: ${show(p)}`);
    if (key) assert(p.runId === key, `runId is ${show(p.runId)}, expected ${show(key)}`);
    assert(p.status === 'ok', `status is ${show(p.status)} (summary ${show(p.summary)}), expected "ok"`);
    const payloads = p.result?.payloads;
    assert(Array.isArray(payloads) && payloads.length > 0, `result.payloads is ${show(payloads)}`);
    const text = payloads.map((x) => x?.text ?? '').join('');
    assert(text === EXPECTED_TEXT, `reply text is ${show(text)}, expected ${show(EXPECTED_TEXT)}`);
    return `status=ok, reply "${text}"`;
  },

  // `openclaw agent --json`: the final agent response as the CLI prints it.
  'openclaw-agent'(p) { return checks['agent-final'](p); },

  // chat.history: {sessionKey, messages[{role, content}]}; ARG: text an assistant message must contain.
  'chat.history'(p, want) {
    assert(isObject(p), `payload is not an object: ${show(p)}`);
    assert(Array.isArray(p.messages), `messages is ${show(p.messages)}`);
    const textOf = (m) => typeof m?.content === 'string' ? m.content :
        Array.isArray(m?.content)   ? m.content.map((c) => (typeof c?.text === 'string' ? c.text : '')).join('') :
        typeof m?.text === 'string' ? m.text :
                                      '';
    const assistant = p.messages.filter((m) => m?.role === 'assistant').map(textOf);
    assert(
        assistant.some((t) => t.includes(want)),
        `no assistant message containing ${show(want)}; assistant messages: ${show(assistant)}`);
    const users = p.messages.filter((m) => m?.role === 'user').map(textOf);
    assert(
        users.some((t) => t.includes('conformance-ping via chat.send')), `the user message is missing: ${show(users)}`);
    return `${p.messages.length} messages, assistant replied "${want}"`;
  },
};

const [check, file, arg] = process.argv.slice(2);
if (!check || !file || !checks[check]) {
  console.error(`usage: node cli_checks.mjs CHECK STDOUT-FILE [ARG]; checks: ${Object.keys(checks).join(', ')}`);
  process.exit(2);
}
const text = readFileSync(file, 'utf8');
try {
  const payload = check.endsWith('-text') ? null : parseJsonOutput(text);
  const summary = checks[check](payload, arg, text);
  console.log(summary);
} catch (err) {
  if (!(err instanceof CheckError)) throw err;
  console.log(`${check}: ${err.message}`);
  process.exit(1);
}
