// Talon WebChat: chats with an agent over the gateway WebSocket (protocol v4), as OpenClaw's browser
// clients do: connect.challenge → connect (client "webchat-ui", mode "webchat", role operator, a device
// identity signed with Ed25519 over the v3 payload, the gateway token from the user) → hello-ok →
// chat.history, chat.send with an idempotencyKey, streamed `chat` events (delta → final | error |
// aborted). The connection is re-opened with jittered exponential backoff and the history re-read.
// docs/channels.md "WebChat" describes it; tests/webchat/webchat_e2e.mjs drives it in Chromium.
"use strict";
(() => {
  const TOKEN_KEY = "talon.webchat.token"; // sessionStorage: this tab only
  const DEVICE_KEY = "talon.webchat.device"; // localStorage: the browser's device key pair
  const CLIENT = {
    id: "webchat-ui",
    displayName: "Talon WebChat",
    version: "talon-webchat/1",
    platform: "web",
    mode: "webchat",
  };
  const ROLE = "operator";
  const SCOPES = ["operator.read", "operator.write"];
  const BACKOFF_BASE_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const HISTORY_LIMIT = 200;

  const basePath = document.body.dataset.basePath || "";
  const $ = (id) => document.getElementById(id);
  const els = {
    status: $("status"),
    agent: $("agent"),
    login: $("login"),
    loginForm: $("login-form"),
    token: $("token"),
    forget: $("forget"),
    notice: $("notice"),
    log: $("log"),
    composer: $("composer"),
    message: $("message"),
    send: $("send"),
  };

  // /chat → agent "main"; /chat/<agentId>[/...] → that agent.
  const agentId = (() => {
    const rest = location.pathname.slice(basePath.length).replace(/^\/chat\/?/, "");
    const first = rest.split("/")[0];
    return first ? decodeURIComponent(first) : null;
  })();
  els.agent.textContent = `agent ${agentId || "main"}`;

  let ws = null;
  let attempt = 0; // consecutive failed connects, for the backoff
  let reconnectTimer = null;
  let stopped = false; // no automatic reconnect (bad token, refused origin)
  let sessionKey = null; // the resolved key chat.history returned ("agent:main:main")
  let historyLoads = 0; // shown as data-history-loads on the log (tests wait for a re-read)
  const pending = new Map(); // request id → {resolve, reject}
  const runs = new Map(); // runId → assistant message element

  // ---------- UI ----------
  function setStatus(state, text) {
    els.status.dataset.state = state;
    els.status.textContent = text;
  }
  function notice(text, kind = "error") {
    if (!text) {
      els.notice.hidden = true;
      els.notice.textContent = "";
      return;
    }
    els.notice.hidden = false;
    els.notice.dataset.kind = kind;
    els.notice.textContent = text;
  }
  function setComposer(enabled) {
    els.message.disabled = !enabled;
    els.send.disabled = !enabled;
  }
  function scrollDown() {
    els.log.scrollTop = els.log.scrollHeight;
  }
  function bubble(role, text, state) {
    const el = document.createElement("div");
    el.className = "msg";
    el.dataset.role = role;
    if (state) el.dataset.state = state;
    el.textContent = text; // never innerHTML: message text is untrusted
    els.log.appendChild(el);
    scrollDown();
    return el;
  }
  function textOf(message) {
    if (!message) return "";
    if (typeof message.content === "string") return message.content;
    if (!Array.isArray(message.content)) return "";
    return message.content
      .filter((c) => c && c.type === "text" && typeof c.text === "string")
      .map((c) => c.text)
      .join("");
  }
  function showLogin(error) {
    els.login.hidden = false;
    els.forget.hidden = true;
    setStatus("idle", "not connected");
    if (error) notice(error);
    els.token.focus();
  }

  // ---------- encoding and the device identity ----------
  function b64url(bytes) {
    let s = "";
    for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64url(text) {
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function hex(bytes) {
    return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // One Ed25519 key pair per browser profile (OpenClaw's browser clients keep theirs in local storage
  // too). deviceId = hex SHA-256 of the raw public key (docs/devices.md).
  async function deviceIdentity() {
    const stored = localStorage.getItem(DEVICE_KEY);
    if (stored) {
      try {
        const d = JSON.parse(stored);
        const privateKey = await crypto.subtle.importKey("pkcs8", unb64url(d.privateKey), { name: "Ed25519" }, false, [
          "sign",
        ]);
        return { deviceId: d.deviceId, publicKey: d.publicKey, privateKey };
      } catch (e) {
        localStorage.removeItem(DEVICE_KEY);
      }
    }
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
    const pkcs8 = await crypto.subtle.exportKey("pkcs8", pair.privateKey);
    const d = {
      deviceId: hex(await crypto.subtle.digest("SHA-256", raw)),
      publicKey: b64url(raw),
      privateKey: b64url(pkcs8),
    };
    localStorage.setItem(DEVICE_KEY, JSON.stringify(d));
    return { deviceId: d.deviceId, publicKey: d.publicKey, privateKey: pair.privateKey };
  }

  // ---------- the connection ----------
  function request(method, params) {
    return new Promise((resolve, reject) => {
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        reject({ message: "not connected" });
        return;
      }
      const id = crypto.randomUUID();
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ type: "req", id, method, params }));
    });
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) {
      showLogin();
      return;
    }
    if (!window.isSecureContext || !crypto.subtle) {
      stopped = true;
      setStatus("error", "insecure page");
      notice("WebChat needs a secure context for its device identity: open it over HTTPS or on localhost.");
      return;
    }
    els.login.hidden = true;
    els.forget.hidden = false;
    stopped = false;
    if (els.status.dataset.state !== "pairing") {
      setStatus(attempt ? "reconnecting" : "connecting", attempt ? "reconnecting…" : "connecting…");
    }
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${basePath}/`;
    const sock = new WebSocket(url);
    ws = sock;
    sock.onmessage = (ev) => {
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (frame.type === "event" && frame.event === "connect.challenge") {
        sendConnect(sock, frame.payload || {}, token).catch((e) => {
          notice(`cannot sign the connect: ${e && e.message ? e.message : e}`);
          sock.close();
        });
      } else if (frame.type === "res") {
        const p = pending.get(frame.id);
        if (!p) return;
        pending.delete(frame.id);
        if (frame.ok) p.resolve(frame.payload);
        else p.reject(frame.error || { message: "request failed" });
      } else if (frame.type === "event") {
        onEvent(frame.event, frame.payload || {});
      }
    };
    sock.onclose = () => {
      if (ws !== sock) return;
      ws = null;
      for (const p of pending.values()) p.reject({ message: "connection closed" });
      pending.clear();
      setComposer(false);
      if (!stopped) scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt) * (0.75 + Math.random() * 0.5);
    attempt += 1;
    if (els.status.dataset.state !== "pairing") {
      setStatus("reconnecting", `reconnecting in ${Math.ceil(delay / 1000)} s`);
    }
    reconnectTimer = setTimeout(connect, delay);
  }

  async function sendConnect(sock, challenge, token) {
    const id = await deviceIdentity();
    const nonce = String(challenge.nonce || "");
    const signedAt = typeof challenge.ts === "number" ? challenge.ts : Date.now();
    // v3|deviceId|clientId|mode|role|scopesCSV|signedAtMs|token|nonce|platform|deviceFamily
    const payload = [
      "v3",
      id.deviceId,
      CLIENT.id,
      CLIENT.mode,
      ROLE,
      SCOPES.join(","),
      String(signedAt),
      token,
      nonce,
      CLIENT.platform,
      "",
    ].join("|");
    const signature = await crypto.subtle.sign({ name: "Ed25519" }, id.privateKey, new TextEncoder().encode(payload));
    if (ws !== sock) return;
    let hello;
    try {
      hello = await request("connect", {
        minProtocol: 4,
        maxProtocol: 4,
        client: CLIENT,
        role: ROLE,
        scopes: SCOPES,
        caps: [],
        auth: { token },
        device: { id: id.deviceId, publicKey: id.publicKey, signature: b64url(signature), signedAt, nonce },
        userAgent: navigator.userAgent,
        locale: navigator.language,
      });
    } catch (error) {
      onConnectRefused(error);
      return;
    }
    onHello(hello);
  }

  function onConnectRefused(error) {
    const code = (error && error.details && error.details.code) || "";
    const message = (error && error.message) || "connect refused";
    if (code === "PAIRING_REQUIRED") {
      const requestId = error.details.requestId || "?";
      setStatus("pairing", "waiting for approval");
      notice(
        `This browser must be approved once by an operator:\n  talon devices approve ${requestId}\n` +
          "WebChat retries by itself.",
        "info",
      );
      attempt = Math.min(attempt, 2); // keep retrying briskly while the operator approves
      return; // the gateway closes the socket; onclose schedules the retry
    }
    if (code === "AUTH_TOKEN_MISMATCH" || code === "AUTH_TOKEN_MISSING" || code === "AUTH_PASSWORD_MISMATCH") {
      stopped = true;
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(`The gateway refused the token: ${message}`);
      return;
    }
    if (code === "CONTROL_UI_ORIGIN_NOT_ALLOWED") {
      stopped = true;
      setStatus("error", "origin refused");
      notice(message);
      return;
    }
    setStatus("error", "connect refused");
    notice(message);
  }

  function onHello(hello) {
    attempt = 0;
    setStatus("connected", "connected");
    notice(null);
    setComposer(true);
    loadHistory();
  }

  function sessionParams() {
    return agentId ? { sessionKey: "main", agentId } : { sessionKey: "main" };
  }

  async function loadHistory() {
    let history;
    try {
      history = await request("chat.history", { ...sessionParams(), limit: HISTORY_LIMIT });
    } catch (error) {
      notice(`cannot read the history: ${error.message || error}`);
      return;
    }
    sessionKey = history.sessionKey || sessionKey;
    els.log.replaceChildren();
    runs.clear();
    for (const m of history.messages || []) {
      if (m.role !== "user" && m.role !== "assistant") continue;
      const text = textOf(m);
      if (text) bubble(m.role, text, "final");
    }
    historyLoads += 1;
    els.log.dataset.historyLoads = String(historyLoads);
  }

  function runBubble(runId) {
    let el = runs.get(runId);
    if (!el || !el.isConnected) {
      el = bubble("assistant", "", "streaming");
      runs.set(runId, el);
    }
    return el;
  }

  function onEvent(name, payload) {
    if (name !== "chat") return;
    if (sessionKey && payload.sessionKey && payload.sessionKey !== sessionKey) return;
    const runId = payload.runId;
    if (!runId) return;
    switch (payload.state) {
      case "delta": {
        const el = runBubble(runId);
        el.textContent = payload.message ? textOf(payload.message) : el.textContent + (payload.deltaText || "");
        el.dataset.state = "streaming";
        break;
      }
      case "final": {
        const el = runBubble(runId);
        el.textContent = textOf(payload.message);
        el.dataset.state = "final";
        break;
      }
      case "aborted": {
        const el = runBubble(runId);
        if (payload.message) el.textContent = textOf(payload.message);
        el.dataset.state = "aborted";
        break;
      }
      case "error": {
        const el = runBubble(runId);
        el.textContent = payload.errorMessage || "the run failed";
        el.dataset.state = "error";
        break;
      }
      default:
        return;
    }
    scrollDown();
  }

  async function send(text) {
    const idempotencyKey = crypto.randomUUID();
    const mine = bubble("user", text, "sending");
    runBubble(idempotencyKey); // chat.send's runId is the idempotencyKey
    try {
      await request("chat.send", { ...sessionParams(), message: text, idempotencyKey });
      mine.dataset.state = "final";
    } catch (error) {
      mine.dataset.state = "error";
      const el = runs.get(idempotencyKey);
      if (el) {
        el.textContent = error.message || "not sent";
        el.dataset.state = "error";
      }
      notice(`not sent: ${error.message || error}`);
    }
  }

  // ---------- wiring ----------
  els.loginForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = els.token.value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    els.token.value = "";
    notice(null);
    attempt = 0;
    connect();
  });
  els.forget.addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    stopped = true;
    if (ws) ws.close();
    showLogin();
  });
  els.composer.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = els.message.value;
    if (!text.trim() || els.send.disabled) return;
    els.message.value = "";
    send(text);
  });
  els.message.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      els.composer.requestSubmit();
    }
  });

  // A token in the URL fragment (#token=…) is taken once and removed from the address bar; browsers
  // never send the fragment to the server.
  if (location.hash.length > 1) {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const token = fragment.get("token");
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, "", location.pathname + location.search);
  }
  connect();
})();
