#include "gateway/channels/xmpp/xmpp_channel.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "gateway/channels/account_settings.h"
#include "gateway/channels/irc/irc_protocol.h"
#include "gateway/channels/xmpp/strophe_library.h"

namespace talon::gateway::channels {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kXmppMaxTextChars = 10000;
constexpr const char* kPingNs = "urn:xmpp:ping";
constexpr const char* kDelayNs = "urn:xmpp:delay";
constexpr const char* kMucNs = "http://jabber.org/protocol/muc";
constexpr const char* kMucUserNs = "http://jabber.org/protocol/muc#user";
constexpr const char* kStanzaErrorNs = "urn:ietf:params:xml:ns:xmpp-stanzas";

/// The text of a libstrophe string the caller must free, freed.
std::string takeStropheString(const StropheApi& strophe, xmpp_ctx_t* ctx, char* s) {
  if (s == nullptr) return {};
  std::string out(s);
  strophe.free(ctx, s);
  return out;
}

std::string stanzaAttribute(const StropheApi& strophe, xmpp_stanza_t* stanza, const char* name) {
  const char* v = strophe.stanzaGetAttribute(stanza, name);
  return v ? v : "";
}

/// The defined condition of a stanza's <error/> ("conflict", "forbidden", …) with its text, or "error".
std::string stanzaErrorOf(const StropheApi& strophe, xmpp_ctx_t* ctx, xmpp_stanza_t* stanza) {
  xmpp_stanza_t* error = strophe.stanzaGetChildByName(stanza, "error");
  if (error == nullptr) return "error";
  std::string condition;
  std::string text;
  for (xmpp_stanza_t* c = strophe.stanzaGetChildren(error); c != nullptr; c = strophe.stanzaGetNext(c)) {
    const char* ns = strophe.stanzaGetNs(c);
    const char* name = strophe.stanzaGetName(c);
    if (ns == nullptr || name == nullptr || std::strcmp(ns, kStanzaErrorNs) != 0) continue;
    if (std::strcmp(name, "text") == 0) {
      text = takeStropheString(strophe, ctx, strophe.stanzaGetText(c));
    } else if (condition.empty()) {
      condition = name;
    }
  }
  if (condition.empty()) condition = "error";
  return text.empty() ? condition : condition + " (" + text + ")";
}

/// The bare part of a JID string (before '/'), lower-cased as parseXmppJid does; empty when invalid.
std::string bareOf(std::string_view jid) {
  auto parsed = config::parseXmppJid(jid);
  return parsed ? parsed->bare() : std::string();
}

}  // namespace

Result<XmppSettings> XmppSettings::parse(std::string_view accountId, const json::object& settings) {
  static const std::set<std::string, std::less<>> kKnown = {
      "jid", "password", "resource", "server", "port", "allowPlaintext", "caFile", "nick", "rooms", "enabled", "name"};
  for (const auto& kv : settings) {
    if (!kKnown.contains(kv.key()))
      return fail(invalidAccountSetting("xmpp", accountId, kv.key(), "is not an XMPP channel setting"));
  }
  XmppSettings s;
  auto str = [&](std::string_view key, std::string& out) -> Status {
    const auto* v = settings.if_contains(key);
    if (!v || v->is_null()) return {};
    if (!v->is_string()) return fail(invalidAccountSetting("xmpp", accountId, key, "must be a string"));
    out = std::string(v->as_string());
    return {};
  };
  std::string jid;
  if (auto st = str("jid", jid); !st) return fail(st.error());
  if (jid.empty())
    return fail(invalidAccountSetting("xmpp", accountId, "jid", "is required (the account's bare JID, user@domain)"));
  auto parsedJid = config::parseXmppAccountJid(jid);
  if (!parsedJid) return fail(invalidAccountSetting("xmpp", accountId, "jid", parsedJid.error().message));
  s.jid = std::move(*parsedJid);
  for (auto [key, out] : {std::pair{"password", &s.password}, std::pair{"resource", &s.resource},
                          std::pair{"server", &s.server}, std::pair{"caFile", &s.caFile}, std::pair{"nick", &s.nick}}) {
    if (auto st = str(key, *out); !st) return fail(st.error());
  }
  if (s.password.empty()) return fail(invalidAccountSetting("xmpp", accountId, "password", "is required"));
  if (s.resource.empty() || s.resource.find('/') != std::string::npos) {
    return fail(invalidAccountSetting("xmpp", accountId, "resource", "must be a non-empty resource without '/'"));
  }
  if (const auto* v = settings.if_contains("port"); v && !v->is_null()) {
    // JSON5 gives an int64; a settings object built in code may hold a uint64.
    const int64_t port = v->is_int64()    ? v->as_int64()
                         : v->is_uint64() ? static_cast<int64_t>(v->as_uint64() & 0xfffff)
                                          : 0;
    if (port < 1 || port > 65535)
      return fail(invalidAccountSetting("xmpp", accountId, "port", "must be an integer from 1 to 65535"));
    s.port = static_cast<int>(port);
  }
  if (const auto* v = settings.if_contains("allowPlaintext"); v && !v->is_null()) {
    if (!v->is_bool()) return fail(invalidAccountSetting("xmpp", accountId, "allowPlaintext", "must be true or false"));
    s.allowPlaintext = v->as_bool();
  }
  if (s.allowPlaintext && !config::isLoopbackHost(s.host())) {
    return fail(
        invalidAccountSetting("xmpp", accountId, "allowPlaintext",
                              "is only allowed for a server on this machine's loopback (localhost, 127.0.0.0/8, ::1), "
                              "not \"" +
                                  s.host() + "\""));
  }
  if (!s.caFile.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(s.caFile, ec)) {
      return fail(invalidAccountSetting("xmpp", accountId, "caFile", "\"" + s.caFile + "\" is not a regular file"));
    }
  }
  if (s.nick.empty()) s.nick = s.jid.local;
  if (auto st = config::checkXmppNick(s.nick); !st)
    return fail(invalidAccountSetting("xmpp", accountId, "nick", st.error().message));
  if (const auto* v = settings.if_contains("rooms"); v && !v->is_null()) {
    auto rooms = config::parseXmppRooms(*v);
    if (!rooms) {
      const auto& e = rooms.error();
      std::string key = "rooms";
      if (v->is_array()) key += "[" + std::to_string(e.index) + "]";
      if (!e.member.empty()) key += "." + e.member;
      return fail(invalidAccountSetting("xmpp", accountId, key, e.message));
    }
    s.rooms = std::move(*rooms);
    for (auto& room : s.rooms) {
      if (room.nick.empty()) room.nick = s.nick;
    }
  }
  return s;
}

Result<std::optional<routing::InboundMessage>> mapXmppMessage(const std::vector<config::XmppRoom>& rooms,
                                                              const XmppStanza& stanza) {
  using Out = std::optional<routing::InboundMessage>;
  if (stanza.type == "error" || stanza.type == "headline") return Out{};
  if (stanza.body.find_first_not_of(" \t\r\n") == std::string::npos) return Out{};
  auto from = config::parseXmppJid(stanza.from);
  if (!from) return fail(ErrorCode::kInvalidArgument, "the sender is not a JID: " + from.error().message);
  const std::string bare = from->bare();
  const config::XmppRoom* room = nullptr;
  for (const auto& r : rooms) {
    if (r.jid == bare) room = &r;
  }
  routing::InboundMessage m;
  m.channel = "xmpp";
  m.text = stanza.body;
  if (stanza.type == "groupchat") {
    // Only the rooms we joined; not the room itself (subject, announcements), not our own echo, not the
    // history the room replays on join.
    if (room == nullptr || from->resource.empty() || from->resource == room->nick || stanza.delayed) return Out{};
    m.peer = routing::Peer{routing::PeerKind::kGroup, room->jid};
    m.sender = room->jid + "/" + from->resource;
    m.mentioned = irc::mentionsNick(stanza.body, room->nick);
    return Out{std::move(m)};
  }
  // A private message through a room carries an occupant JID, not the person's: not routed.
  if (room != nullptr) return Out{};
  m.peer = routing::Peer{routing::PeerKind::kDirect, bare};
  m.sender = bare;
  return Out{std::move(m)};
}

/// Everything the channel's threads share; owned by XmppChannel (and the network thread while it runs).
struct XmppChannel::State : std::enable_shared_from_this<XmppChannel::State> {
  using Callback = std::function<void(Status)>;
  /// Work for the network thread: a message to write (then a ping), or a probe (a ping only).
  struct Outgoing {
    bool message = false;
    std::string to;
    std::string type;  // "chat" | "groupchat"
    std::string body;
    Callback done;
  };
  /// A ping the server has not answered yet.
  struct PendingPing {
    Callback done;
    bool forSend = false;
    TimerHandlePtr timer;
  };
  struct RoomState {
    std::string nick;
    bool joined = false;
    std::string problem;  // why the room refused us (this connection)
  };

  State(const ChannelContext& context, XmppSettings s, XmppTiming t)
      : accountId(context.accountId),
        executors(context.executors),
        clock(context.clock),
        settings(std::move(s)),
        timing(t),
        backoff(t.backoff) {
    health.sinceMs = clock->nowMs();
  }

  const std::string accountId;
  const Executors executors;
  const ClockPtr clock;
  const XmppSettings settings;
  const XmppTiming timing;

  mutable std::mutex mu;
  std::condition_variable wake;  // the network thread waits on it between connections
  bool started = false;
  bool stopped = false;
  bool connectWanted = false;    // the network thread should connect now
  bool dropWanted = false;       // restart(): end the current connection (or attempt) and connect again
  bool attempting = false;       // a connection (attempt) is under way on the network thread
  bool connected = false;        // the session is established on the current connection
  bool closed = false;           // the current connection is over (the network thread releases it)
  bool tcpConnected = false;     // the current attempt's TCP connection is up (transport)
  int connectErrno = 0;          // why the current attempt's TCP connect failed (from libstrophe's log)
  std::string closeReason;       // why the current connection failed or ended
  std::string lastLibraryError;  // libstrophe's last error log line (this connection)
  Clock::time_point connectedAt{};
  std::deque<Outgoing> outgoing;             // queued for the network thread
  std::map<std::string, PendingPing> pings;  // ping id → waiter (current connection)
  uint64_t nextPing = 0;
  std::map<std::string, RoomState> rooms;     // room JID → its state on this connection
  std::deque<routing::InboundMessage> inbox;  // received, not yet handed to the sink (in order)
  bool draining = false;                      // a drainInbox task is posted or running
  ChannelHealth health;
  ReconnectBackoff backoff;
  TimerHandlePtr reconnectTimer;
  std::thread network;

  std::mutex sinkMu;  // held while calling the sink, so stop() can detach it
  ChannelSink* sink = nullptr;

  // libstrophe's functions: set by start() before the network thread exists, then only read.
  StropheApi strophe{};

  // Network thread only.
  xmpp_ctx_t* ctx = nullptr;
  xmpp_log_t log{};

  // --- helpers (mu held) ----------------------------------------------------------------------------

  void setState(ChannelHealth::State s, std::string detail) {
    if (health.state != s) health.sinceMs = clock->nowMs();
    health.state = s;
    health.detail = std::move(detail);
  }

  /// Posts `cb(result)` onto Executors::io (never runs it under the lock or on the network thread).
  void post(Callback cb, Status result) {
    if (!cb) return;
    executors.io([cb = std::move(cb), result = std::move(result)]() mutable { cb(std::move(result)); });
  }

  /// Fails every queued message, pending ping and probe with `error`.
  void failPendingLocked(const Error& error) {
    for (auto& o : outgoing) {
      if (o.message) ++health.sendFailures;
      post(std::move(o.done), fail(error));
    }
    outgoing.clear();
    for (auto& [id, p] : pings) {
      if (p.timer) p.timer->cancel();
      if (p.forSend) ++health.sendFailures;
      post(std::move(p.done), fail(error));
    }
    pings.clear();
  }

  void scheduleReconnectLocked(std::string reason) {
    const auto delay = backoff.failed();
    health.circuitOpen = backoff.circuitOpen();
    setState(ChannelHealth::State::kDisconnected, std::move(reason));
    spdlog::warn("xmpp[{}]: disconnected ({}); reconnecting in {} ms", accountId, health.detail, delay.count());
    std::weak_ptr<State> weak = weak_from_this();
    reconnectTimer = executors.after(delay, [weak] {
      auto self = weak.lock();
      if (!self) return;
      std::lock_guard lock(self->mu);
      if (self->stopped || self->connectWanted) return;
      ++self->health.reconnects;
      self->connectWanted = true;
      self->wake.notify_all();
    });
  }

  /// After the session is established and after each room's answer: the application state.
  void roomsSettledLocked() {
    std::string problem;
    bool pending = false;
    for (const auto& [jid, room] : rooms) {
      if (!room.problem.empty() && problem.empty()) problem = room.problem;
      if (!room.joined && room.problem.empty()) pending = true;
    }
    if (!problem.empty()) {
      if (health.state != ChannelHealth::State::kDegraded) spdlog::warn("xmpp[{}]: {}", accountId, problem);
      health.authenticated = false;
      setState(ChannelHealth::State::kDegraded, problem);
    } else if (pending) {
      health.authenticated = false;
      setState(ChannelHealth::State::kConnected, "joining rooms");
    } else {
      health.authenticated = true;
      health.circuitOpen = false;
      setState(ChannelHealth::State::kConnected, "");
    }
  }

  // --- the network thread -----------------------------------------------------------------------------

  void run() {
    log.handler = onLog;
    log.userdata = this;
    ctx = strophe.ctxNew(nullptr, &log);
    std::unique_lock lock(mu);
    while (true) {
      wake.wait(lock, [&] { return stopped || connectWanted; });
      if (stopped || ctx == nullptr) {
        if (!stopped) {
          setState(ChannelHealth::State::kDisconnected, "libstrophe cannot create a context");
          wake.wait(lock, [&] { return stopped; });
        }
        break;
      }
      connectWanted = false;
      attempting = true;
      closed = false;
      connected = false;
      tcpConnected = false;
      connectErrno = 0;
      closeReason.clear();
      lastLibraryError.clear();
      rooms.clear();
      for (const auto& r : settings.rooms) rooms[r.jid] = RoomState{r.nick, false, ""};
      setState(ChannelHealth::State::kStarting,
               "connecting to " + settings.host() + ":" + std::to_string(settings.port));
      lock.unlock();
      const std::string failure = runConnection();
      lock.lock();
      attempting = false;
      endConnectionLocked(failure, dropWanted);
    }
    lock.unlock();
    if (ctx != nullptr) strophe.ctxFree(ctx);
    ctx = nullptr;
  }

  /// One connection, from connect to close; returns why it failed ("" after stop() or restart()).
  std::string runConnection() {
    xmpp_conn_t* conn = strophe.connNew(ctx);
    if (conn == nullptr) return "libstrophe cannot create a connection";
    long flags = XMPP_CONN_FLAG_DISABLE_SM;  // the durable outbox resends, not the library
    if (!settings.allowPlaintext) flags |= XMPP_CONN_FLAG_MANDATORY_TLS;
    strophe.connSetFlags(conn, flags);
    const std::string fullJid = settings.jid.bare() + "/" + settings.resource;
    strophe.connSetJid(conn, fullJid.c_str());
    strophe.connSetPass(conn, settings.password.c_str());
    if (!settings.caFile.empty()) strophe.connSetCafile(conn, settings.caFile.c_str());
    strophe.connSetSockoptCallback(conn, strophe.sockoptCbKeepalive);  // TCP keepalive: a dead peer drops
    strophe.handlerAdd(conn, onMessage, nullptr, "message", nullptr, this);
    strophe.handlerAdd(conn, onPresence, nullptr, "presence", nullptr, this);
    strophe.handlerAdd(conn, onIq, nullptr, "iq", "get", this);
    strophe.handlerAdd(conn, onIq, nullptr, "iq", "set", this);
    const std::string host = settings.host();
    const int rc =
        strophe.connectClient(conn, host.c_str(), static_cast<unsigned short>(settings.port), onConnection, this);
    std::string failure;
    if (rc != XMPP_EOK) {
      failure = "cannot connect to " + host + ":" + std::to_string(settings.port) + ": libstrophe error " +
                std::to_string(rc);
    } else {
      const auto connectDeadline = Clock::now() + timing.connectTimeout;
      bool goodbye = false;
      Clock::time_point goodbyeDeadline{};
      while (true) {
        strophe.runOnce(ctx, static_cast<unsigned long>(timing.loopInterval.count()));
        std::deque<Outgoing> work;
        bool leave = false;
        bool timedOut = false;
        {
          std::lock_guard l(mu);
          if (closed) {
            if (!stopped && !dropWanted) failure = closeReason;
            break;
          }
          leave = (stopped || dropWanted) && !goodbye;
          if (!connected && !goodbye && Clock::now() > connectDeadline) {
            timedOut = true;
            closeReason = "no session within " + std::to_string(timing.connectTimeout.count()) + " ms";
          }
          // Nothing is written once the connection is being closed: what is queued then fails with it.
          if (connected && !goodbye && !leave && !timedOut) work.swap(outgoing);
        }
        if (goodbye && Clock::now() > goodbyeDeadline) break;  // the server did not close in time
        if (leave || timedOut) {
          goodbye = true;
          goodbyeDeadline = Clock::now() + std::chrono::seconds(1);
          strophe.disconnect(conn);
          if (timedOut) {
            // The handler sees a disconnect; keep the timeout as the reason.
            std::lock_guard l(mu);
            failure = closeReason;
          }
          continue;
        }
        for (auto& o : work) write(conn, std::move(o));
      }
      if (failure.empty()) {
        std::lock_guard l(mu);
        if (!stopped && !dropWanted) failure = closeReason.empty() ? "the connection closed" : closeReason;
      }
    }
    strophe.connRelease(conn);  // no handler of this connection runs after this
    return failure;
  }

  /// Writes one queued message (then a ping) or a probe's ping on the current connection.
  void write(xmpp_conn_t* conn, Outgoing o) {
    if (o.message) {
      xmpp_stanza_t* m = strophe.messageNew(ctx, o.type.c_str(), o.to.c_str(), nullptr);
      strophe.messageSetBody(m, o.body.c_str());
      strophe.send(conn, m);
      strophe.stanzaRelease(m);
    }
    std::string id;
    {
      std::lock_guard l(mu);
      id = "talon-ping-" + std::to_string(++nextPing);
      auto& p = pings[id];
      p.done = std::move(o.done);
      p.forSend = o.message;
      std::weak_ptr<State> weak = weak_from_this();
      p.timer = executors.after(timing.probeTimeout, [weak, id, ms = timing.probeTimeout.count()] {
        auto self = weak.lock();
        if (!self) return;
        Callback done;
        {
          std::lock_guard lock(self->mu);
          auto it = self->pings.find(id);
          if (it == self->pings.end()) return;
          done = std::move(it->second.done);
          if (it->second.forSend) ++self->health.sendFailures;
          self->pings.erase(it);
        }
        if (done) {
          done(fail(ErrorCode::kDeadlineExceeded,
                    "the XMPP server did not answer within " + std::to_string(ms) + " ms"));
        }
      });
    }
    xmpp_stanza_t* iq = strophe.iqNew(ctx, "get", id.c_str());
    strophe.stanzaSetTo(iq, settings.jid.domain.c_str());
    xmpp_stanza_t* ping = strophe.stanzaNew(ctx);
    strophe.stanzaSetName(ping, "ping");
    strophe.stanzaSetNs(ping, kPingNs);
    strophe.stanzaAddChildEx(iq, ping, 0);
    strophe.idHandlerAdd(conn, onPingAnswer, id.c_str(), this);
    strophe.send(conn, iq);
    strophe.stanzaRelease(iq);
  }

  /// The connection of the current attempt is over: why (`failure`, empty after stop or restart).
  void endConnectionLocked(const std::string& failure, bool dropped) {
    dropWanted = false;
    const bool wasStable = connected && clock->steadyNow() - connectedAt >= timing.stableAfter;
    connected = false;
    health.authenticated = false;
    if (stopped) {
      failPendingLocked(Error{ErrorCode::kCancelled, "the xmpp channel stopped"});
      setState(ChannelHealth::State::kStopped, "");
      return;
    }
    const std::string reason = dropped ? "restarting" : failure;
    failPendingLocked(Error{ErrorCode::kUnavailable, "the XMPP connection closed: " + reason});
    if (dropped) {
      ++health.reconnects;
      connectWanted = true;
      setState(ChannelHealth::State::kStarting, "restarting");
      spdlog::info("xmpp[{}]: reconnecting (restart)", accountId);
      return;
    }
    if (wasStable) backoff.succeeded();
    scheduleReconnectLocked(reason);
  }

  // --- libstrophe handlers (network thread, inside xmpp_run_once) -------------------------------------

  static void onLog(void* userdata, xmpp_log_level_t level, const char* area, const char* msg) {
    auto& s = *static_cast<State*>(userdata);
    if (msg != nullptr && area != nullptr && std::strcmp(area, "xmpp") == 0) {
      // libstrophe reports the TCP connect's outcome only in its log (its handler gets no errno).
      constexpr std::string_view kFailed = "connection failed, error ";
      const std::string_view line(msg);
      std::lock_guard l(s.mu);
      if (line == "connection successful") {
        s.tcpConnected = true;
        s.setState(ChannelHealth::State::kStarting, "connected; establishing the session");
      } else if (line.substr(0, kFailed.size()) == kFailed) {
        s.connectErrno = std::atoi(std::string(line.substr(kFailed.size())).c_str());
      }
    }
    // Debug lines carry raw stanzas (and the SASL exchange): never forwarded.
    if (level < XMPP_LEVEL_WARN) return;
    spdlog::warn("xmpp[{}]: libstrophe {}: {}", s.accountId, area ? area : "", msg ? msg : "");
    if (level == XMPP_LEVEL_ERROR && msg != nullptr) {
      std::lock_guard l(s.mu);
      s.lastLibraryError = msg;
    }
  }

  static void onConnection(xmpp_conn_t* conn, xmpp_conn_event_t event, int error, xmpp_stream_error_t* streamError,
                           void* userdata) {
    auto& s = *static_cast<State*>(userdata);
    const StropheApi& strophe = s.strophe;
    if (event == XMPP_CONN_CONNECT) {
      {
        std::lock_guard l(s.mu);
        s.connected = true;
        s.connectedAt = s.clock->steadyNow();
        spdlog::info("xmpp[{}]: session established as {}/{} ({})", s.accountId, s.settings.jid.bare(),
                     s.settings.resource, strophe.connIsSecured(conn) ? "TLS" : "plaintext on loopback");
        s.roomsSettledLocked();
      }
      // Available, so messages to the bare JID reach this resource; then into every room.
      xmpp_stanza_t* presence = strophe.presenceNew(s.ctx);
      strophe.send(conn, presence);
      strophe.stanzaRelease(presence);
      for (const auto& room : s.settings.rooms) s.join(conn, room);
      return;
    }
    std::lock_guard l(s.mu);
    std::string reason;
    if (streamError != nullptr) {
      reason = "the server closed the stream";
      if (streamError->text != nullptr) reason += std::string(": ") + streamError->text;
    } else if (!s.tcpConnected) {
      const int code = error != 0 ? error : s.connectErrno;
      reason = "cannot connect to " + s.settings.host() + ":" + std::to_string(s.settings.port) +
               (code != 0 ? std::string(": ") + std::strerror(code) : std::string());
    } else if (error != 0) {
      reason = std::string(s.connected ? "connection lost: " : "no session: ") + std::strerror(error);
    } else if (!s.connected) {
      reason = s.lastLibraryError.empty() ? "the server closed the connection before the session was established"
                                          : "no session: " + s.lastLibraryError;
    } else {
      reason = "the server closed the connection";
    }
    if (s.closeReason.empty()) s.closeReason = reason;
    s.closed = true;
  }

  void join(xmpp_conn_t* conn, const config::XmppRoom& room) {
    xmpp_stanza_t* presence = strophe.presenceNew(ctx);
    const std::string to = room.jid + "/" + room.nick;
    strophe.stanzaSetTo(presence, to.c_str());
    xmpp_stanza_t* x = strophe.stanzaNew(ctx);
    strophe.stanzaSetName(x, "x");
    strophe.stanzaSetNs(x, kMucNs);
    xmpp_stanza_t* history = strophe.stanzaNew(ctx);
    strophe.stanzaSetName(history, "history");
    strophe.stanzaSetAttribute(history, "maxstanzas", "0");
    strophe.stanzaAddChildEx(x, history, 0);
    strophe.stanzaAddChildEx(presence, x, 0);
    strophe.send(conn, presence);
    strophe.stanzaRelease(presence);
  }

  static int onPresence(xmpp_conn_t*, xmpp_stanza_t* stanza, void* userdata) {
    auto& s = *static_cast<State*>(userdata);
    const StropheApi& strophe = s.strophe;
    const std::string from = stanzaAttribute(strophe, stanza, "from");
    auto jid = config::parseXmppJid(from);
    if (!jid) return 1;
    std::lock_guard l(s.mu);
    auto it = s.rooms.find(jid->bare());
    if (it == s.rooms.end()) return 1;
    auto& room = it->second;
    const std::string type = stanzaAttribute(strophe, stanza, "type");
    if (type == "error") {
      room.joined = false;
      room.problem = "room " + it->first + " refused to let us join as \"" + room.nick +
                     "\": " + stanzaErrorOf(strophe, s.ctx, stanza);
      s.roomsSettledLocked();
      return 1;
    }
    // Our own presence in the room carries status 110 (XEP-0045 §7.2.2).
    bool self = jid->resource == room.nick;
    if (xmpp_stanza_t* x = strophe.stanzaGetChildByNameAndNs(stanza, "x", kMucUserNs); x != nullptr) {
      for (xmpp_stanza_t* c = strophe.stanzaGetChildren(x); c != nullptr; c = strophe.stanzaGetNext(c)) {
        const char* name = strophe.stanzaGetName(c);
        if (name != nullptr && std::strcmp(name, "status") == 0 && stanzaAttribute(strophe, c, "code") == "110")
          self = true;
      }
    }
    if (!self) return 1;
    if (type == "unavailable") {
      room.joined = false;
      room.problem = "removed from room " + it->first;
    } else {
      room.joined = true;
      room.problem.clear();
    }
    s.roomsSettledLocked();
    return 1;
  }

  static int onMessage(xmpp_conn_t*, xmpp_stanza_t* stanza, void* userdata) {
    auto& s = *static_cast<State*>(userdata);
    const StropheApi& strophe = s.strophe;
    XmppStanza in;
    in.type = stanzaAttribute(strophe, stanza, "type");
    in.from = stanzaAttribute(strophe, stanza, "from");
    in.body = takeStropheString(strophe, s.ctx, strophe.messageGetBody(stanza));
    in.delayed = strophe.stanzaGetChildByNameAndNs(stanza, "delay", kDelayNs) != nullptr;
    std::vector<config::XmppRoom> joined;
    {
      std::lock_guard l(s.mu);
      s.health.lastInboundAtMs = s.clock->nowMs();
      for (const auto& [jid, room] : s.rooms) {
        if (room.joined) joined.push_back(config::XmppRoom{jid, room.nick});
      }
    }
    auto mapped = mapXmppMessage(joined, in);
    if (!mapped) {
      spdlog::warn("xmpp[{}]: dropped a message from \"{}\": {}", s.accountId, in.from, mapped.error().message);
      return 1;
    }
    if (!mapped->has_value()) return 1;
    routing::InboundMessage m = std::move(**mapped);
    m.accountId = s.accountId;
    std::lock_guard l(s.mu);
    ++s.health.received;
    s.inbox.push_back(std::move(m));
    if (!s.draining) {
      s.draining = true;
      std::weak_ptr<State> weak = s.weak_from_this();
      s.executors.io([weak] {
        if (auto state = weak.lock()) state->drainInbox();
      });
    }
    return 1;
  }

  /// Answers the server's and peers' pings (XEP-0199 §4.2), and every other get or set with
  /// service-unavailable.
  static int onIq(xmpp_conn_t* conn, xmpp_stanza_t* stanza, void* userdata) {
    auto& s = *static_cast<State*>(userdata);
    const StropheApi& strophe = s.strophe;
    const bool ping = stanzaAttribute(strophe, stanza, "type") == "get" &&
                      strophe.stanzaGetChildByNameAndNs(stanza, "ping", kPingNs) != nullptr;
    xmpp_stanza_t* result = strophe.iqNew(s.ctx, ping ? "result" : "error", strophe.stanzaGetId(stanza));
    const char* from = strophe.stanzaGetFrom(stanza);
    if (from != nullptr) strophe.stanzaSetTo(result, from);
    if (!ping) {
      // Any other request: we offer no such service (RFC 6120 §8.2.3: every get and set gets an answer).
      xmpp_stanza_t* error = strophe.stanzaNew(s.ctx);
      strophe.stanzaSetName(error, "error");
      strophe.stanzaSetType(error, "cancel");
      xmpp_stanza_t* condition = strophe.stanzaNew(s.ctx);
      strophe.stanzaSetName(condition, "service-unavailable");
      strophe.stanzaSetNs(condition, kStanzaErrorNs);
      strophe.stanzaAddChildEx(error, condition, 0);
      strophe.stanzaAddChildEx(result, error, 0);
    }
    strophe.send(conn, result);
    strophe.stanzaRelease(result);
    return 1;
  }

  /// The server's answer to one of our pings (result, or an error: both mean it handled what came before).
  static int onPingAnswer(xmpp_conn_t*, xmpp_stanza_t* stanza, void* userdata) {
    auto& s = *static_cast<State*>(userdata);
    const StropheApi& strophe = s.strophe;
    const char* id = strophe.stanzaGetId(stanza);
    if (id == nullptr) return 0;
    std::lock_guard l(s.mu);
    auto it = s.pings.find(id);
    if (it == s.pings.end()) return 0;
    if (it->second.timer) it->second.timer->cancel();
    if (it->second.forSend) {
      ++s.health.sent;
      s.health.lastOutboundAtMs = s.clock->nowMs();
    }
    s.post(std::move(it->second.done), Status{});
    s.pings.erase(it);
    return 0;
  }

  /// Hands the inbox to the sink in arrival order (one drain at a time, on Executors::io).
  void drainInbox() {
    while (true) {
      routing::InboundMessage m;
      {
        std::lock_guard lock(mu);
        if (inbox.empty()) {
          draining = false;
          return;
        }
        m = std::move(inbox.front());
        inbox.pop_front();
      }
      std::lock_guard sinkLock(sinkMu);
      if (sink) sink->onInbound("xmpp", std::move(m));
    }
  }
};

XmppChannel::XmppChannel(std::shared_ptr<State> state) : state_(std::move(state)) {}

XmppChannel::~XmppChannel() { stop(); }

Result<std::unique_ptr<XmppChannel>> XmppChannel::create(const ChannelContext& context, XmppSettings settings,
                                                         XmppTiming timing) {
  if (!context.executors.after || !context.executors.io || !context.clock) {
    return fail(ErrorCode::kFailedPrecondition, "the xmpp channel needs the gateway's executors and clock");
  }
  auto state = std::make_shared<State>(context, std::move(settings), timing);
  return std::unique_ptr<XmppChannel>(new XmppChannel(std::move(state)));
}

Result<ChannelPtr> XmppChannel::fromContext(const ChannelContext& context) {
  auto settings = XmppSettings::parse(context.accountId, context.settings);
  if (!settings) return fail(settings.error());
  auto channel = create(context, std::move(*settings));
  if (!channel) return fail(channel.error());
  return ChannelPtr(std::move(*channel));
}

Status XmppChannel::start(ChannelSink& sink) {
  // libstrophe is opened with dlopen on first use (strophe_library.h): without it the channel cannot
  // connect, so its start fails with the library's name, package and reason (kUnavailable: retried by the
  // channel manager, so installing the package is enough).
  auto strophe = stropheApi();
  if (!strophe) return fail(strophe.error());
  {
    std::lock_guard sinkLock(state_->sinkMu);
    state_->sink = &sink;
  }
  std::lock_guard lock(state_->mu);
  if (state_->started) return fail(ErrorCode::kFailedPrecondition, "the xmpp channel was already started");
  state_->started = true;
  state_->strophe = **strophe;
  state_->connectWanted = true;
  state_->setState(ChannelHealth::State::kStarting, "starting");
  state_->network = std::thread([state = state_] { state->run(); });
  return {};
}

void XmppChannel::stop() {
  std::thread network;
  {
    std::lock_guard lock(state_->mu);
    if (!state_->stopped) {
      state_->stopped = true;
      if (state_->reconnectTimer) state_->reconnectTimer->cancel();
      state_->reconnectTimer.reset();
      state_->failPendingLocked(Error{ErrorCode::kCancelled, "the xmpp channel stopped"});
      state_->connected = false;
      state_->health.authenticated = false;
      state_->setState(ChannelHealth::State::kStopped, "");
      state_->wake.notify_all();
    }
    network = std::move(state_->network);
  }
  if (network.joinable()) network.join();
  std::lock_guard sinkLock(state_->sinkMu);
  state_->sink = nullptr;
}

void XmppChannel::send(OutboundMessage message, std::function<void(Status)> onSent) {
  auto& s = *state_;
  State::Outgoing o;
  o.message = true;
  o.body = std::move(message.text);
  o.done = std::move(onSent);
  std::lock_guard lock(s.mu);
  if (message.peer.kind == routing::PeerKind::kDirect) {
    auto jid = config::parseXmppJid(message.peer.id);
    const bool isRoom = jid && std::any_of(s.settings.rooms.begin(), s.settings.rooms.end(),
                                           [&](const config::XmppRoom& r) { return r.jid == jid->bare(); });
    if (!jid || jid->local.empty() || isRoom) {
      ++s.health.sendFailures;
      return s.post(std::move(o.done), fail(ErrorCode::kInvalidArgument,
                                            "peer \"" + message.peer.id + "\" is not a user's JID (user@domain)"));
    }
    o.to = jid->bare();
    o.type = "chat";
  } else {
    const std::string room = bareOf(message.peer.id);
    const bool configured = std::any_of(s.settings.rooms.begin(), s.settings.rooms.end(),
                                        [&](const config::XmppRoom& r) { return r.jid == room; });
    if (!configured) {
      ++s.health.sendFailures;
      return s.post(std::move(o.done), fail(ErrorCode::kInvalidArgument,
                                            "peer \"" + message.peer.id + "\" is not a room of this account"));
    }
    o.to = room;
    o.type = "groupchat";
  }
  if (s.stopped || !s.connected) {
    ++s.health.sendFailures;
    return s.post(std::move(o.done), fail(ErrorCode::kUnavailable,
                                          s.stopped ? "the xmpp channel is stopped"
                                                    : "not connected to the XMPP server" +
                                                          (s.health.detail.empty() ? "" : ": " + s.health.detail)));
  }
  if (o.type == "groupchat" && !s.rooms[o.to].joined) {
    ++s.health.sendFailures;
    return s.post(std::move(o.done), fail(ErrorCode::kUnavailable, "not in room " + o.to + " (yet)"));
  }
  s.outgoing.push_back(std::move(o));
}

Status XmppChannel::restart() {
  std::lock_guard lock(state_->mu);
  auto& s = *state_;
  if (!s.started || s.stopped) return fail(ErrorCode::kFailedPrecondition, "the xmpp channel is not running");
  if (s.attempting) {
    s.dropWanted = true;  // the network thread closes the stream and connects again
  } else if (!s.connectWanted) {
    if (s.reconnectTimer) s.reconnectTimer->cancel();
    s.reconnectTimer.reset();
    ++s.health.reconnects;
    s.connectWanted = true;
  }
  s.wake.notify_all();
  return {};
}

void XmppChannel::probe(std::function<void(Status)> done) {
  auto& s = *state_;
  std::lock_guard lock(s.mu);
  if (s.stopped || !s.connected) {
    return s.post(
        std::move(done),
        fail(ErrorCode::kUnavailable, s.health.detail.empty() ? "not connected to the XMPP server" : s.health.detail));
  }
  State::Outgoing o;
  o.done = std::move(done);
  s.outgoing.push_back(std::move(o));
}

ChannelHealth XmppChannel::health() const {
  std::lock_guard lock(state_->mu);
  return state_->health;
}

ChannelCapabilities XmppChannel::capabilities() const {
  ChannelCapabilities c;
  c.maxTextChars = kXmppMaxTextChars;
  c.typing = false;
  return c;
}

}  // namespace talon::gateway::channels
