// ws-load.mjs: `health` throughput over N WebSocket connections with Node's `ws`, one request in flight
// per connection — the neutral client the gateway issue's first figures were measured with, so that
// Talon's figures do not rest on Talon's own client (bench/ws_load.cpp) alone.
//
//   node ws-load.mjs --port N [--token T | --raw] [--conns 64] [--duration-ms 5000] [--warmup-ms 1000]
//                    [--cpu-pid PID] [--timeout-ms 10000]
//
// Gateway mode (--token): each connection waits for the `connect.challenge` event, sends `connect` as
// OpenClaw's CLI does on a loopback URL with a token (no device identity; openclaw-protocol.md §1) and
// waits for hello-ok. Raw mode (--raw, for an echo server): no handshake; the echo of the request is the
// answer. Then each connection sends `{"type":"req","id":"t<conn>-<seq>","method":"health"}` and its next
// request when the answer arrives; every answer is parsed with JSON.parse (as a real client reads it) and
// must be a successful `res` with that id (raw mode: the echoed request, or a successful `res` replayed by
// talon-bench-echo --answer-file). Frames other than `res` (events) are counted and skipped.
//
// Answers are counted in the window [warmup, warmup + duration). With --cpu-pid, the server's CPU time
// (utime + stime of /proc/PID/stat: every thread of that process) is read when the window opens and
// closes. Prints one JSON object:
//   {mode, client, conns, durationMs, answers, rps, errors, events, serverCpuSeconds, serverCoresUsed,
//    serverCpuPerRpcUs, clientCpuPerRpcUs, clientCoresUsed}
// Exit status 0; 1 when a connection failed, an answer was an error or did not match, or answers were
// missing at the end (the reason on stderr); 2 for bad options.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";

function parseArgs(argv) {
  const o = { conns: 64, durationMs: 5000, warmupMs: 1000, cpuPid: 0, timeoutMs: 10000, raw: false, token: "" };
  const names = {
    "--port": "port",
    "--token": "token",
    "--conns": "conns",
    "--duration-ms": "durationMs",
    "--warmup-ms": "warmupMs",
    "--cpu-pid": "cpuPid",
    "--timeout-ms": "timeoutMs",
  };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === "--raw") {
      o.raw = true;
      continue;
    }
    const key = names[a];
    if (!key || i + 1 >= argv.length) throw new Error(`unknown or incomplete option ${a}`);
    const v = argv[++i];
    o[key] = key === "token" ? v : Number(v);
    if (key !== "token" && !(Number.isInteger(o[key]) && o[key] >= 0)) throw new Error(`${a}: not a number: ${v}`);
  }
  if (!(o.port > 0 && o.port < 65536)) throw new Error("--port is required");
  if (!o.raw && !o.token) throw new Error("--token (gateway) or --raw (echo) is required");
  if (o.conns < 1) throw new Error("--conns must be at least 1");
  return o;
}

const kTicksPerSecond = 100; // USER_HZ: the unit of /proc/PID/stat's utime and stime on Linux

/** utime + stime of every thread of `pid`, in seconds (fields 14 and 15 of /proc/PID/stat). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / kTicksPerSecond;
}

const kConnectId = "connect-1";

/** The connect request of OpenClaw's CLI on a loopback URL with a token (openclaw-wire/req.connect.json). */
function connectRequest(token) {
  return JSON.stringify({
    type: "req",
    id: kConnectId,
    method: "connect",
    params: {
      minProtocol: 4,
      maxProtocol: 4,
      client: { id: "cli", version: "talon-bench-node", platform: "linux", mode: "cli" },
      caps: [],
      auth: { token },
      role: "operator",
      scopes: ["operator.admin", "operator.read", "operator.write"],
    },
  });
}

/** Opens one connection; resolves once it may send `health` (after hello-ok in gateway mode). */
function open(o, index) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${o.port}/`, { perMessageDeflate: false });
    const timer = setTimeout(() => fail(new Error("handshake timed out")), o.timeoutMs);
    function fail(e) {
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(`connection ${index}: ${e.message}`));
    }
    ws.on("error", fail);
    ws.on("close", (code) => fail(new Error(`closed with ${code} before the handshake ended`)));
    function ready() {
      clearTimeout(timer);
      ws.removeAllListeners();
      // Until the run attaches its own listeners (after every connection's handshake), an error or a
      // close is kept here and reported then, rather than thrown or lost.
      ws.on("error", (e) => (ws.earlyError ??= e.message));
      ws.on("close", (code) => (ws.earlyError ??= `closed with ${code}`));
      resolve(ws);
    }
    if (o.raw) {
      ws.on("open", ready);
      return;
    }
    ws.on("message", (data) => {
      const f = JSON.parse(data.toString());
      if (f.type === "event" && f.event === "connect.challenge") {
        ws.send(connectRequest(o.token));
      } else if (f.type === "res" && f.id === kConnectId) {
        if (f.ok !== true) return fail(new Error(`connect refused: ${JSON.stringify(f.error)}`));
        ready();
      }
    });
  });
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`ws-load: ${e.message}\n`);
    process.exit(2);
  }
  const sockets = [];
  for (let i = 0; i < o.conns; ++i) sockets.push(await open(o, i));

  let answers = 0; // in the window
  let errors = 0;
  let events = 0;
  let firstError = "";
  let sending = true;
  let outstanding = 0;
  let cpuAtStart = null;
  let cpuAtEnd = null;
  let clientAtStart = null;
  let clientAtEnd = null;
  let windowOpen = false;
  let windowStartedAt = 0;
  let windowEndedAt = 0;
  const seq = new Array(o.conns).fill(0);

  const noteError = (why) => {
    ++errors;
    if (!firstError) firstError = why;
  };
  const send = (i) => {
    const id = `t${i}-${seq[i]++}`;
    ++outstanding;
    sockets[i].send(`{"type":"req","id":"${id}","method":"health"}`);
  };

  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  sockets.forEach((ws, i) => {
    if (ws.earlyError) noteError(`connection ${i}: ${ws.earlyError} before the run started`);
    ws.on("message", (data) => {
      let f;
      try {
        f = JSON.parse(data.toString());
      } catch (e) {
        noteError(`connection ${i}: an answer is not JSON: ${e.message}`);
        return finish();
      }
      if (!o.raw && f.type !== "res") {
        ++events;
        return;
      }
      const expected = `t${i}-${seq[i] - 1}`;
      // Raw mode: the echoed request, or a replayed successful answer (talon-bench-echo --answer-file).
      const good = o.raw ? f.type === "req" || (f.type === "res" && f.ok === true) : f.ok === true;
      if (f.id !== expected || !good) {
        noteError(`connection ${i}: expected a successful answer to ${expected}, got ${data.toString().slice(0, 200)}`);
        return finish();
      }
      --outstanding;
      if (windowOpen) ++answers;
      if (sending) send(i);
      else if (outstanding === 0) finish();
    });
    ws.on("error", (e) => {
      noteError(`connection ${i}: ${e.message}`);
      finish();
    });
    ws.on("close", (code) => {
      if (sending || outstanding > 0) {
        noteError(`connection ${i}: closed with ${code}`);
        finish();
      }
    });
  });

  if (errors > 0) {
    process.stderr.write(`ws-load: ${firstError}\n`);
    process.exit(1);
  }
  const started = performance.now();
  for (let i = 0; i < o.conns; ++i) send(i);
  setTimeout(() => {
    windowOpen = true;
    windowStartedAt = performance.now();
    if (o.cpuPid) cpuAtStart = cpuSeconds(o.cpuPid);
    clientAtStart = process.cpuUsage();
  }, o.warmupMs);
  setTimeout(() => {
    windowOpen = false;
    sending = false;
    windowEndedAt = performance.now();
    if (o.cpuPid) cpuAtEnd = cpuSeconds(o.cpuPid);
    clientAtEnd = process.cpuUsage(clientAtStart);
    if (outstanding === 0) finish();
  }, o.warmupMs + o.durationMs);
  const deadline = setTimeout(() => {
    noteError(`${outstanding} answers missing ${o.timeoutMs} ms after the run ended`);
    finish();
  }, o.warmupMs + o.durationMs + o.timeoutMs);
  await done;
  clearTimeout(deadline);
  for (const ws of sockets) ws.terminate();

  const seconds = (windowEndedAt - windowStartedAt) / 1000;
  const out = {
    mode: "throughput",
    client: `node ${process.version}, ws`,
    conns: o.conns,
    durationMs: Math.round(windowEndedAt - windowStartedAt),
    answers,
    rps: seconds > 0 ? answers / seconds : 0,
    errors,
    events,
  };
  if (o.cpuPid && cpuAtStart !== null && cpuAtEnd !== null && seconds > 0 && answers > 0) {
    out.serverCpuSeconds = cpuAtEnd - cpuAtStart;
    out.serverCoresUsed = out.serverCpuSeconds / seconds;
    out.serverCpuPerRpcUs = (out.serverCpuSeconds / answers) * 1e6;
  }
  if (clientAtEnd && seconds > 0 && answers > 0) {
    const client = (clientAtEnd.user + clientAtEnd.system) / 1e6;
    out.clientCoresUsed = client / seconds;
    out.clientCpuPerRpcUs = (client / answers) * 1e6;
  }
  out.elapsedMs = Math.round(performance.now() - started);
  process.stdout.write(JSON.stringify(out) + "\n");
  if (errors > 0) {
    process.stderr.write(`ws-load: ${firstError}\n`);
    process.exit(1);
  }
}

main().catch((e) => {
  process.stderr.write(`ws-load: ${e.message}\n`);
  process.exit(1);
});
