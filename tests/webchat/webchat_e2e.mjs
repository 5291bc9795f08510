// WebChat end to end: headless Chromium (playwright-core, Debian's /usr/bin/chromium) against a real
// `talon gateway run` answering through `talon-mock-model` (mock-script.json: streamed replies).
//
//   TALON_BINARY=build/talon TALON_MOCK_MODEL_BINARY=build/tests/support/talon-mock-model \
//     node tests/webchat/webchat_e2e.mjs
//
// Steps: the page and its headers (CSP) → the token typed into the form → the device pairing request
// approved with `talon devices approve` → a message sent, its reply rendered while streaming, then
// final → reload: the history is shown once → the gateway restarted on the same port: the page
// reconnects, re-reads the history, and a second exchange works → a browser page from another origin is
// refused (CONTROL_UI_ORIGIN_NOT_ALLOWED, close 1008). The screenshot is saved as
// $TALON_TEST_ARTIFACTS_DIR/webchat.png (CMake: <build>/test-artifacts/), and webchat-failure.png on a
// failure. Every process started here is stopped on every exit path; the work dir is removed unless
// TALON_WEBCHAT_KEEP=1. Missing Chromium or playwright-core is a failure, never a skip.
import { execFile, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const requireFromTests = createRequire(path.join(here, "..", "package.json"));
const CHROMIUM = process.env.TALON_CHROMIUM || "/usr/bin/chromium";
const STEP_TIMEOUT_MS = 30000; // an upper bound for each wait, never a timing assertion

function die(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

for (const name of ["TALON_BINARY", "TALON_MOCK_MODEL_BINARY"]) {
  const value = process.env[name];
  if (!value || !fs.existsSync(value)) die(`${name} is not an executable: '${value || ""}'`);
}
if (!fs.existsSync(CHROMIUM)) die(`Chromium not found at ${CHROMIUM} (scripts/install-deps.sh installs Debian's chromium)`);
let chromium;
try {
  ({ chromium } = requireFromTests("playwright-core"));
} catch (e) {
  die(`playwright-core is not installed: run \`npm install\` in ${path.join(here, "..")} (${e.message})`);
}

const TALON = process.env.TALON_BINARY;
const MOCK = process.env.TALON_MOCK_MODEL_BINARY;
const ARTIFACTS = process.env.TALON_TEST_ARTIFACTS_DIR || path.join(process.cwd(), "test-artifacts");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "talon-webchat."));
const TOKEN = `webchat-token-${crypto.randomBytes(16).toString("hex")}`;
const PROVIDER_KEY = `webchat-provider-key-${crypto.randomBytes(12).toString("hex")}`;
const children = new Set();
let failed = false;

function log(message) {
  console.log(message);
}

// ---------- processes ----------
function startProcess(name, file, args, env) {
  const out = fs.openSync(path.join(work, `${name}.log`), "a");
  const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ["ignore", out, out] });
  fs.closeSync(out);
  child.name = name;
  child.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  child.exited.then(() => children.delete(child));
  children.add(child);
  return child;
}

async function stopProcess(child) {
  if (!children.has(child)) return;
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 10000);
  await child.exited;
  clearTimeout(killer);
}

function killAll() {
  for (const child of children) child.kill("SIGKILL");
}
process.on("exit", () => {
  killAll();
  if (process.env.TALON_WEBCHAT_KEEP === "1") console.error(`work dir kept: ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
});
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]]) {
  process.on(signal, () => process.exit(code));
}

// The processes write their port file atomically once listening; a readiness poll bounded at 30 s.
async function waitPortFile(child, file) {
  for (let i = 0; i < 600; i++) {
    if (fs.existsSync(file)) {
      const text = fs.readFileSync(file, "utf8").trim();
      if (text) return Number(text);
    }
    if (!children.has(child)) throw new Error(`${child.name} exited before listening (see ${child.name}.log)`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${child.name} did not write ${file} within 30 s`);
}

async function startMock() {
  const portFile = path.join(work, "mock.port");
  const child = startProcess("mock", MOCK, [
    "--port", "0", "--port-file", portFile, "--script", path.join(here, "mock-script.json"),
  ]);
  return waitPortFile(child, portFile);
}

function writeConfig(mockPort) {
  const config = {
    gateway: { auth: { mode: "token", token: TOKEN } },
    models: {
      providers: {
        mock: {
          baseUrl: `http://127.0.0.1:${mockPort}/v1`,
          apiKey: PROVIDER_KEY,
          api: "openai-completions",
          models: [{ id: "mock-model", name: "Mock" }],
        },
      },
    },
    agents: { defaults: { model: "mock/mock-model" } },
  };
  const file = path.join(work, "talon.json5");
  fs.writeFileSync(file, `// Written by tests/webchat/webchat_e2e.mjs.\n${JSON.stringify(config, null, 2)}\n`);
  return file;
}

async function startGateway(configFile, port) {
  const portFile = path.join(work, "talon.port");
  fs.rmSync(portFile, { force: true });
  const child = startProcess(
    "talon",
    TALON,
    ["gateway", "run", "--config", configFile, "--port", String(port), "--port-file", portFile],
    { TALON_STATE_DIR: path.join(work, "state"), HOME: work },
  );
  return { child, port: await waitPortFile(child, portFile) };
}

function talonCli(args) {
  return new Promise((resolve, reject) => {
    execFile(TALON, args, { env: { ...process.env, HOME: work, TALON_STATE_DIR: path.join(work, "cli-state") } },
      (error, stdout, stderr) => (error ? reject(new Error(`talon ${args[0]} ${args[1]}: ${stderr || error.message}`))
                                        : resolve(stdout)));
  });
}

// ---------- a raw WebSocket connect with a chosen Origin header (no browser policy in the way) ----------
function rawConnect(port, origin) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const key = crypto.randomBytes(16).toString("base64");
    let buf = Buffer.alloc(0);
    let upgraded = false;
    const out = { frames: [], closeCode: null };
    const sendText = (text) => {
      const payload = Buffer.from(text);
      const mask = crypto.randomBytes(4);
      let header;
      if (payload.length < 126) header = Buffer.from([0x81, 0x80 | payload.length]);
      else {
        header = Buffer.alloc(4);
        header[0] = 0x81;
        header[1] = 0x80 | 126;
        header.writeUInt16BE(payload.length, 2);
      }
      const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
      sock.write(Buffer.concat([header, mask, masked]));
    };
    sock.setTimeout(STEP_TIMEOUT_MS, () => {
      sock.destroy();
      reject(new Error("raw WebSocket: no answer"));
    });
    sock.on("connect", () => {
      sock.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\n\r\n`);
    });
    sock.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        if (!buf.subarray(0, end).toString().startsWith("HTTP/1.1 101")) {
          reject(new Error(`no upgrade: ${buf.subarray(0, end).toString().split("\r\n")[0]}`));
          sock.destroy();
          return;
        }
        upgraded = true;
        buf = buf.subarray(end + 4);
      }
      while (buf.length >= 2) {
        const opcode = buf[0] & 0x0f;
        let len = buf[1] & 0x7f;
        let offset = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          offset = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          offset = 10;
        }
        if (buf.length < offset + len) return;
        const payload = buf.subarray(offset, offset + len);
        buf = buf.subarray(offset + len);
        if (opcode === 0x1) {
          const frame = JSON.parse(payload.toString());
          out.frames.push(frame);
          if (frame.type === "res" && frame.ok) {  // accepted: nothing more to see
            sock.destroy();
            resolve(out);
            return;
          }
          if (frame.type === "event" && frame.event === "connect.challenge") {
            sendText(JSON.stringify({
              type: "req", id: "connect-1", method: "connect",
              params: {
                minProtocol: 4, maxProtocol: 4,
                client: { id: "webchat-ui", version: "e2e", platform: "web", mode: "webchat" },
                role: "operator", scopes: ["operator.read"], auth: { token: TOKEN },
              },
            }));
          }
        } else if (opcode === 0x8) {
          out.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
          sock.destroy();
          resolve(out);
          return;
        }
      }
    });
    sock.on("close", () => resolve(out));
    sock.on("error", reject);
  });
}

// ---------- checks ----------
let passed = 0;
function ok(name, detail = "") {
  passed += 1;
  log(`ok    ${name}${detail ? `: ${detail}` : ""}`);
}
function expect(condition, name, detail) {
  if (!condition) throw new Error(`${name}: ${detail}`);
  ok(name);
}

const assistantFinal = (text) => `.msg[data-role="assistant"][data-state="final"]:has-text("${text}")`;

async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const mockPort = await startMock();
  const configFile = writeConfig(mockPort);
  let gateway = await startGateway(configFile, 0);
  const port = gateway.port;
  const base = `http://127.0.0.1:${port}`;
  log(`talon gateway on ${base} (mock model on 127.0.0.1:${mockPort}, work dir ${work})`);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  const context = await browser.newContext({ viewport: { width: 960, height: 640 } });
  const page = await context.newPage();
  const pageErrors = [];
  // While the test has the gateway stopped (step 5), Chromium logs each refused reconnect attempt as a
  // console error ("WebSocket connection to ... failed: ... ERR_CONNECTION_REFUSED"): expected then, and
  // how many there are depends on how long the restart takes. Any other error, or one at another time,
  // counts.
  let gatewayDown = false;
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    if (gatewayDown && /^WebSocket connection to .* failed: .*ERR_CONNECTION_REFUSED/.test(m.text())) return;
    pageErrors.push(`console: ${m.text()}`);
  });
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  try {
    // 1. The page and its headers.
    const response = await page.goto(`${base}/chat`);
    expect(response.status() === 200, "GET /chat answers 200", `status ${response.status()}`);
    const headers = response.headers();
    const csp = headers["content-security-policy"] || "";
    expect(csp.includes("script-src 'self'") && csp.includes("connect-src 'self'") &&
           csp.includes("frame-ancestors 'none'") && !csp.includes("unsafe-inline"),
           "the page has a strict Content-Security-Policy", csp);
    expect(headers["x-content-type-options"] === "nosniff", "nosniff", JSON.stringify(headers));
    await page.locator("#login").waitFor({ state: "visible" });
    ok("the token form is shown");

    // 2. Token → device pairing → approval → connected.
    await page.fill("#token", TOKEN);
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector('#status[data-state="pairing"]');
    const pairingNotice = await page.textContent("#notice");
    const requestId = /approve (\S+)/.exec(pairingNotice || "")?.[1];
    expect(Boolean(requestId), "the page shows the pairing request to approve", pairingNotice);
    const approved = JSON.parse(await talonCli(["devices", "approve", requestId, "--url", `ws://127.0.0.1:${port}`,
                                                "--token", TOKEN, "--json"]));
    ok("talon devices approve", `device ${approved.device?.deviceId ?? "?"}`);
    await page.waitForSelector('#status[data-state="connected"]');
    ok("the page connects once approved");
    const stored = await page.evaluate(() => sessionStorage.getItem("talon.webchat.token"));
    expect(stored === TOKEN && !page.url().includes(TOKEN), "the token stays in the tab (not in the URL)", page.url());

    // 3. A message; the reply streams (delta → final).
    await page.evaluate(() => {
      window.__seen = [];
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('.msg[data-role="assistant"]')) {
          window.__seen.push([el.dataset.state, el.textContent]);
        }
      }).observe(document.getElementById("log"), { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.fill("#message", "webchat-ping-1: hello from Chromium");
    await page.press("#message", "Enter");
    await page.waitForSelector(assistantFinal("pong one from the mock model, streamed in pieces"));
    const seen = await page.evaluate(() => window.__seen);
    const finalText = "pong one from the mock model, streamed in pieces";
    const partial = seen.filter(([state, text]) => state === "streaming" && text && text.length < finalText.length &&
                                                   finalText.startsWith(text));
    expect(partial.length > 0, "the reply is rendered incrementally before the final",
           JSON.stringify(seen.slice(0, 20)));
    expect(await page.locator('.msg[data-role="user"]:has-text("webchat-ping-1")').count() === 1,
           "the user's message is shown once", "");

    // 4. Reload: the history, once.
    await page.reload();
    await page.waitForSelector('#status[data-state="connected"]');
    await page.waitForSelector(assistantFinal(finalText));
    expect(await page.locator('.msg[data-role="user"]:has-text("webchat-ping-1")').count() === 1 &&
           await page.locator('.msg[data-role="assistant"]').count() === 1,
           "after a reload the history shows the exchange once", await page.textContent("#log"));

    // 5. Gateway restart on the same port: reconnect, history re-read, a second exchange.
    const loadsBefore = Number(await page.getAttribute("#log", "data-history-loads"));
    gatewayDown = true;
    await stopProcess(gateway.child);
    await page.waitForSelector('#status[data-state="reconnecting"]');
    ok("the page notices the gateway is gone");
    gateway = await startGateway(configFile, port);
    await page.waitForSelector('#status[data-state="connected"]');
    gatewayDown = false;
    ok("the page reconnects to the restarted gateway");
    await page.waitForFunction((n) => Number(document.getElementById("log").dataset.historyLoads) > n, loadsBefore);
    await page.waitForSelector(assistantFinal(finalText));
    expect(await page.locator('.msg[data-role="user"]').count() === 1, "the history is re-read after the reconnect",
           await page.textContent("#log"));
    await page.fill("#message", "webchat-ping-2: still there?");
    await page.press("#message", "Enter");
    await page.waitForSelector(assistantFinal("pong two after the gateway restart"));
    ok("a second exchange works after the restart");
    expect(pageErrors.length === 0, "no script errors on the page", pageErrors.join("\n"));
    await page.screenshot({ path: path.join(ARTIFACTS, "webchat.png") });
    ok("screenshot", path.join(ARTIFACTS, "webchat.png"));

    // 6. Another site's page may not use the gateway from the user's browser.
    const refused = await rawConnect(port, "https://evil.example");
    const res = refused.frames.find((f) => f.type === "res");
    expect(res && res.ok === false && res.error?.details?.code === "CONTROL_UI_ORIGIN_NOT_ALLOWED" &&
           refused.closeCode === 1008, "a connect from another origin is refused", JSON.stringify(refused));
    const sameOrigin = await rawConnect(port, base);
    const hello = sameOrigin.frames.find((f) => f.type === "res");
    expect(hello && hello.ok === true, "a connect from the gateway's own origin is accepted", JSON.stringify(hello));
  } catch (e) {
    failed = true;
    console.error(`FAIL  ${e.message}`);
    try {
      console.error(`page status: ${await page.textContent("#status")}; notice: ${await page.textContent("#notice")}`);
      await page.screenshot({ path: path.join(ARTIFACTS, "webchat-failure.png") });
      console.error(`failure screenshot: ${path.join(ARTIFACTS, "webchat-failure.png")}`);
    } catch {}
    if (pageErrors.length) console.error(`page errors:\n${pageErrors.join("\n")}`);
    for (const name of ["talon", "mock"]) {
      const file = path.join(work, `${name}.log`);
      if (!fs.existsSync(file)) continue;
      const lines = fs.readFileSync(file, "utf8").trimEnd().split("\n");
      console.error(`---- last lines of ${name}.log ----\n${lines.slice(-40).join("\n")}`);
    }
  } finally {
    await browser.close();
    for (const child of [...children]) await stopProcess(child);
  }
  log(`\n${passed} passed, ${failed ? 1 : 0} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
});
