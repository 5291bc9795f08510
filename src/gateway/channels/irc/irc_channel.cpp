#include "gateway/channels/irc/irc_channel.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "gateway/channels/account_settings.h"
#include "gateway/channels/irc/irc_protocol.h"
#include "gateway/routing/id_normalization.h"
#include "net/tcp_line_client.h"

namespace talon::gateway::channels {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// No CR, LF or NUL (which would end or cut an IRC line), and no space when `noSpace`.
bool ircSafe(std::string_view s, bool noSpace) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0' || (noSpace && c == ' ')) return false;
  }
  return true;
}

Result<std::string> stringKey(std::string_view accountId, const json::object& o, std::string_view key,
                              std::string_view path, bool noSpace) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::string();
  if (!v->is_string()) return fail(invalidAccountSetting("irc", accountId, path, "must be a string"));
  std::string s(v->as_string());
  if (!ircSafe(s, noSpace)) {
    return fail(invalidAccountSetting(
        "irc", accountId, path, noSpace ? "must not contain spaces, CR, LF or NUL" : "must not contain CR, LF or NUL"));
  }
  return s;
}

/// The first line of the regular file at `path` (a password file). Errors: kConfigInvalid naming `key`.
Result<std::string> readPasswordFile(std::string_view accountId, std::string_view key, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return fail(invalidAccountSetting("irc", accountId, key, "\"" + path + "\" is not a regular file"));
  }
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line))
    return fail(invalidAccountSetting("irc", accountId, key, "cannot read \"" + path + "\""));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty() || !ircSafe(line, true)) {
    return fail(invalidAccountSetting("irc", accountId, key,
                                      "\"" + path + "\" holds no usable password (one line, no spaces)"));
  }
  return line;
}

}  // namespace

Result<IrcSettings> IrcSettings::parse(std::string_view accountId, const json::object& settings) {
  IrcSettings s;
  auto str = [&](std::string_view key, std::string& out, bool noSpace) -> Status {
    auto v = stringKey(accountId, settings, key, key, noSpace);
    if (!v) return fail(v.error());
    if (!v->empty()) out = std::move(*v);
    return {};
  };
  if (auto st = str("host", s.host, true); !st) return fail(st.error());
  if (s.host.empty())
    return fail(invalidAccountSetting("irc", accountId, "host", "is required (the IRC server's host name)"));
  if (auto st = str("nick", s.nick, true); !st) return fail(st.error());
  if (s.nick.empty()) return fail(invalidAccountSetting("irc", accountId, "nick", "is required (the bot's nick)"));
  if (s.nick.front() == ':' || s.nick.front() == '#')
    return fail(invalidAccountSetting("irc", accountId, "nick", "is not a valid nick"));
  if (const auto* v = settings.if_contains("tls"); v && !v->is_null()) {
    if (!v->is_bool()) return fail(invalidAccountSetting("irc", accountId, "tls", "must be true or false"));
    s.tls = v->as_bool();
  }
  s.port = s.tls ? 6697 : 6667;
  if (const auto* v = settings.if_contains("port"); v && !v->is_null()) {
    if (!v->is_int64() && !v->is_uint64())
      return fail(invalidAccountSetting("irc", accountId, "port", "must be an integer"));
    const int64_t p = v->is_int64() ? v->as_int64() : static_cast<int64_t>(v->as_uint64());
    if (p < 1 || p > 65535) return fail(invalidAccountSetting("irc", accountId, "port", "must be between 1 and 65535"));
    s.port = static_cast<uint16_t>(p);
  }
  if (auto st = str("username", s.username, true); !st) return fail(st.error());
  if (s.username.empty()) s.username = s.nick;
  if (auto st = str("realname", s.realname, false); !st) return fail(st.error());
  if (auto st = str("password", s.password, true); !st) return fail(st.error());
  std::string passwordFile;
  if (auto st = str("passwordFile", passwordFile, false); !st) return fail(st.error());
  if (s.password.empty() && !passwordFile.empty()) {
    auto p = readPasswordFile(accountId, "passwordFile", passwordFile);
    if (!p) return fail(p.error());
    s.password = std::move(*p);
  }
  if (const auto* v = settings.if_contains("textChunkLimit"); v && !v->is_null()) {
    if (!v->is_int64() || v->as_int64() < 1) {
      return fail(invalidAccountSetting("irc", accountId, "textChunkLimit", "must be an integer of at least 1"));
    }
    s.textChunkLimit = static_cast<std::size_t>(v->as_int64());
  }
  if (const auto* v = settings.if_contains("channels"); v && !v->is_null()) {
    if (!v->is_array())
      return fail(invalidAccountSetting("irc", accountId, "channels", "must be a list of channel names"));
    for (const auto& item : v->as_array()) {
      if (!item.is_string())
        return fail(invalidAccountSetting("irc", accountId, "channels", "must be a list of channel names"));
      std::string name(item.as_string());
      if (!irc::isChannelName(name) || !ircSafe(name, true) || name.find(',') != std::string::npos) {
        return fail(
            invalidAccountSetting("irc", accountId, "channels", "\"" + name + "\" is not a channel name (#name)"));
      }
      s.channels.push_back(std::move(name));
    }
  }
  if (const auto* v = settings.if_contains("nickserv"); v && !v->is_null()) {
    if (!v->is_object()) return fail(invalidAccountSetting("irc", accountId, "nickserv", "must be an object"));
    const auto& ns = v->as_object();
    static const std::set<std::string, std::less<>> kKnown = {"enabled",  "service",       "password",
                                                              "register", "registerEmail", "passwordFile"};
    for (const auto& [key, value] : ns) {
      if (!kKnown.contains(key)) {
        return fail(
            invalidAccountSetting("irc", accountId, "nickserv." + std::string(key), "is not supported by Talon yet"));
      }
    }
    auto nsBool = [&](std::string_view key, bool& out) -> Status {
      if (const auto* b = ns.if_contains(key); b && !b->is_null()) {
        if (!b->is_bool())
          return fail(invalidAccountSetting("irc", accountId, "nickserv." + std::string(key), "must be true or false"));
        out = b->as_bool();
      }
      return {};
    };
    auto nsStr = [&](std::string_view key, std::string& out, bool noSpace) -> Status {
      const std::string path = "nickserv." + std::string(key);
      if (const auto* p = ns.if_contains(key); p && !p->is_null() && !p->is_string()) {
        return fail(invalidAccountSetting(
            "irc", accountId, path,
            p->is_object() ? "must be a string (a secret ref here is not supported yet)" : "must be a string"));
      }
      auto r = stringKey(accountId, ns, key, path, noSpace);
      if (!r) return fail(r.error());
      if (!r->empty()) out = std::move(*r);
      return {};
    };
    if (auto st = nsBool("enabled", s.nickserv.enabled); !st) return fail(st.error());
    if (auto st = nsBool("register", s.nickserv.registerNick); !st) return fail(st.error());
    if (auto st = nsStr("service", s.nickserv.service, true); !st) return fail(st.error());
    if (auto st = nsStr("password", s.nickserv.password, true); !st) return fail(st.error());
    if (auto st = nsStr("registerEmail", s.nickserv.registerEmail, true); !st) return fail(st.error());
    std::string nsFile;
    if (auto st = nsStr("passwordFile", nsFile, false); !st) return fail(st.error());
    if (s.nickserv.password.empty() && !nsFile.empty()) {
      auto p = readPasswordFile(accountId, "nickserv.passwordFile", nsFile);
      if (!p) return fail(p.error());
      s.nickserv.password = std::move(*p);
    }
    if (s.nickserv.registerNick && s.nickserv.registerEmail.empty()) {
      return fail(invalidAccountSetting("irc", accountId, "nickserv.registerEmail",
                                        "is required when nickserv.register is true"));
    }
  }
  return s;
}

/// Everything the channel's callbacks share; owned by IrcChannel, reached by callbacks through weak
/// pointers so a callback that arrives after destruction does nothing.
struct IrcChannel::State : std::enable_shared_from_this<IrcChannel::State> {
  /// One outbound message in flight: the callback runs once, after its last line or its first failure.
  struct SendJob {
    std::size_t remaining = 0;
    bool done = false;
    std::function<void(Status)> onSent;
  };
  struct OutLine {
    std::string line;
    std::shared_ptr<SendJob> job;
  };
  using Callbacks = std::vector<std::function<void()>>;

  State(const ChannelContext& context, IrcSettings s, IrcTiming t, std::string ca)
      : accountId(context.accountId),
        executors(context.executors),
        clock(context.clock),
        io(*context.io),
        settings(std::move(s)),
        timing(t),
        extraCaPem(std::move(ca)),
        backoff(t.backoff) {
    health.state = ChannelHealth::State::kStopped;
    health.sinceMs = clock->nowMs();
  }

  const std::string accountId;
  const Executors executors;
  const ClockPtr clock;
  boost::asio::io_context& io;
  const IrcSettings settings;
  const IrcTiming timing;
  const std::string extraCaPem;

  mutable std::mutex mu;
  bool started = false;
  bool stopped = false;
  ChannelHealth health;
  ReconnectBackoff backoff;
  net::TcpLineClientPtr client;
  uint64_t generation = 0;
  bool registered = false;
  std::string nick;            // the nick asked for or the server knows us by on the current connection
  std::string registeredNick;  // the nick of the last welcome (and NICK changes after it)
  std::string selfUser, selfHost;
  int nickAttempt = 0;
  /// Configured channels the bot could not join or was kicked from, by lower-cased name → the reason.
  std::map<std::string, std::string> channelProblems;
  std::string closeReason;  // why the channel closed the connection itself
  Clock::time_point connectedAt{}, lastRx{}, pingSentAt{}, welcomedAt{};
  bool pingOutstanding = false;
  TimerHandlePtr reconnectTimer, keepaliveTimer, drainTimer;
  double tokens = 0;
  Clock::time_point lastRefill{};
  std::deque<OutLine> outQueue;
  /// Pending probes by their PING token.
  struct PendingProbe {
    std::function<void(Status)> done;
    TimerHandlePtr timer;
  };
  std::map<std::string, PendingProbe> probes;
  uint64_t probeSeq = 0;

  std::mutex sinkMu;  // held while calling the sink, so stop() can detach it
  ChannelSink* sink = nullptr;

  // --- helpers (mu held) ---------------------------------------------------------------------------

  void setState(ChannelHealth::State s, std::string detail) {
    if (health.state != s) health.sinceMs = clock->nowMs();
    health.state = s;
    health.detail = std::move(detail);
  }

  void sendRaw(const std::string& line) {
    if (!client) return;
    if (auto s = client->send(line); !s)
      spdlog::warn("irc[{}]: cannot send {}: {}", accountId, line.substr(0, 4), s.error().message);
  }

  void connectLocked() {
    ++generation;
    const uint64_t gen = generation;
    registered = false;
    health.authenticated = false;
    nickAttempt = 0;
    nick = settings.nick;
    closeReason.clear();
    pingOutstanding = false;
    setState(ChannelHealth::State::kStarting, "connecting to " + settings.host + ":" + std::to_string(settings.port));
    net::TcpLineClientOptions options;
    options.host = settings.host;
    options.port = settings.port;
    options.tls = settings.tls;
    options.extraCaPem = extraCaPem;
    options.connectTimeout = timing.connectTimeout;
    std::weak_ptr<State> weak = weak_from_this();
    net::TcpLineHandlers handlers;
    handlers.onConnected = [weak, gen] {
      if (auto self = weak.lock()) self->onConnected(gen);
    };
    handlers.onLine = [weak, gen](std::string line) {
      if (auto self = weak.lock()) self->onLine(gen, line);
    };
    handlers.onClosed = [weak, gen](Error error) {
      if (auto self = weak.lock()) self->onClosed(gen, std::move(error));
    };
    auto created = net::TcpLineClient::create(io, std::move(options), std::move(handlers));
    if (!created) {
      // A TLS context that cannot be built: retrying will not help, but keep the channel observable.
      spdlog::error("irc[{}]: {}", accountId, created.error().message);
      client.reset();
      scheduleReconnectLocked(created.error().message);
      return;
    }
    client = std::move(*created);
    if (!settings.password.empty()) sendRaw("PASS " + settings.password);
    sendRaw("NICK " + nick);
    sendRaw("USER " + settings.username + " 0 * :" + settings.realname);
    client->connect();
  }

  void scheduleReconnectLocked(std::string reason) {
    const auto delay = backoff.failed();
    health.circuitOpen = backoff.circuitOpen();
    setState(ChannelHealth::State::kDisconnected, std::move(reason));
    spdlog::warn("irc[{}]: disconnected ({}); reconnecting in {} ms", accountId, health.detail, delay.count());
    std::weak_ptr<State> weak = weak_from_this();
    reconnectTimer = executors.after(delay, [weak] {
      auto self = weak.lock();
      if (!self) return;
      std::lock_guard lock(self->mu);
      if (self->stopped) return;
      ++self->health.reconnects;
      self->connectLocked();
    });
  }

  /// Fails every queued line's message with `error`; returns the callbacks to run unlocked.
  Callbacks failQueueLocked(const Error& error) {
    Callbacks out;
    for (auto& l : outQueue) {
      if (!l.job->done) {
        l.job->done = true;
        ++health.sendFailures;
        out.push_back([cb = std::move(l.job->onSent), error] {
          if (cb) cb(fail(error));
        });
      }
    }
    outQueue.clear();
    return out;
  }

  /// Ends every pending probe with `error`; returns the callbacks to run unlocked.
  Callbacks failProbesLocked(const Error& error) {
    Callbacks out;
    for (auto& [token, probe] : probes) {
      if (probe.timer) probe.timer->cancel();
      out.push_back([done = std::move(probe.done), error] {
        if (done) done(fail(error));
      });
    }
    probes.clear();
    return out;
  }

  /// Ends the probe `token` with `result` (once; a later PONG or timer finds nothing).
  void finishProbe(const std::string& token, Status result) {
    std::function<void(Status)> done;
    {
      std::lock_guard lock(mu);
      auto it = probes.find(token);
      if (it == probes.end()) return;
      if (it->second.timer) it->second.timer->cancel();
      done = std::move(it->second.done);
      probes.erase(it);
    }
    if (done) done(std::move(result));
  }

  void armKeepaliveLocked() {
    std::weak_ptr<State> weak = weak_from_this();
    const uint64_t gen = generation;
    keepaliveTimer = executors.after(timing.keepaliveInterval, [weak, gen] {
      if (auto self = weak.lock()) self->keepalive(gen);
    });
  }

  /// Sends queued PRIVMSG lines while the bucket has tokens; schedules itself for the next token.
  void drainLocked() {
    const auto now = clock->steadyNow();
    const double interval = static_cast<double>(timing.lineInterval.count());
    if (interval > 0) {
      tokens += std::chrono::duration<double, std::milli>(now - lastRefill).count() / interval;
    } else {
      tokens = timing.burstLines;
    }
    tokens = std::min(tokens, static_cast<double>(timing.burstLines));
    lastRefill = now;
    while (!outQueue.empty() && tokens >= 1.0) {
      OutLine l = std::move(outQueue.front());
      outQueue.pop_front();
      if (l.job->done) continue;
      tokens -= 1.0;
      std::weak_ptr<State> weak = weak_from_this();
      auto job = l.job;
      auto s = client ? client->send(l.line,
                                     [weak, job](Status written) {
                                       if (auto self = weak.lock()) self->onLineWritten(job, std::move(written));
                                     })
                      : Status(fail(ErrorCode::kUnavailable, "not connected"));
      if (!s) {
        // Fail the job now (its callback runs from the io executor, never under the lock).
        if (!job->done) {
          job->done = true;
          ++health.sendFailures;
          executors.io([cb = std::move(job->onSent), e = s.error()] {
            if (cb) cb(fail(e));
          });
        }
      }
    }
    if (!outQueue.empty() && !drainTimer) {
      const auto wait = std::chrono::milliseconds(
          static_cast<int64_t>(std::ceil((1.0 - tokens) * static_cast<double>(timing.lineInterval.count()))));
      std::weak_ptr<State> weak = weak_from_this();
      drainTimer = executors.after(std::max(wait, 1ms), [weak] {
        auto self = weak.lock();
        if (!self) return;
        std::lock_guard lock(self->mu);
        self->drainTimer.reset();
        if (!self->stopped) self->drainLocked();
      });
    }
  }

  // --- events -------------------------------------------------------------------------------------

  void onConnected(uint64_t gen) {
    std::lock_guard lock(mu);
    if (gen != generation || stopped) return;
    connectedAt = lastRx = clock->steadyNow();
    setState(ChannelHealth::State::kConnected, "registering");
    armKeepaliveLocked();
  }

  void onClosed(uint64_t gen, Error error) {
    Callbacks callbacks;
    {
      std::lock_guard lock(mu);
      if (gen != generation || stopped) return;
      // The backoff starts over only after a connection that stayed registered for a while: a server
      // that welcomes and drops at once is retried ever more slowly, not hammered.
      if (registered && clock->steadyNow() - welcomedAt >= timing.stableAfter) backoff.succeeded();
      registered = false;
      health.authenticated = false;
      client.reset();
      if (keepaliveTimer) keepaliveTimer->cancel();
      std::string reason = closeReason.empty() ? error.message : closeReason;
      callbacks = failQueueLocked(Error{ErrorCode::kUnavailable, "the IRC connection closed: " + reason});
      for (auto& c : failProbesLocked(Error{ErrorCode::kUnavailable, "the IRC connection closed: " + reason})) {
        callbacks.push_back(std::move(c));
      }
      scheduleReconnectLocked(std::move(reason));
    }
    for (auto& c : callbacks) c();
  }

  void onLineWritten(const std::shared_ptr<SendJob>& job, Status written) {
    std::function<void(Status)> cb;
    {
      std::lock_guard lock(mu);
      if (job->done) return;
      if (!written) {
        job->done = true;
        ++health.sendFailures;
      } else if (--job->remaining == 0) {
        job->done = true;
        ++health.sent;
        health.lastOutboundAtMs = clock->nowMs();
      } else {
        return;
      }
      cb = std::move(job->onSent);
    }
    if (cb) cb(std::move(written));
  }

  /// Closes the current connection on the channel's own decision; onClosed then reconnects.
  void closeLocked(std::string reason) {
    closeReason = std::move(reason);
    spdlog::warn("irc[{}]: closing the connection: {}", accountId, closeReason);
    if (client) client->close();
  }

  void keepalive(uint64_t gen) {
    std::lock_guard lock(mu);
    if (gen != generation || stopped || !client) return;
    const auto now = clock->steadyNow();
    if (!registered && now - connectedAt >= timing.registrationTimeout) {
      return closeLocked("no welcome (001) within " + std::to_string(timing.registrationTimeout.count()) + " ms");
    }
    if (pingOutstanding && now - pingSentAt >= timing.pongTimeout) {
      return closeLocked("no reply to PING within " + std::to_string(timing.pongTimeout.count()) + " ms");
    }
    if (!pingOutstanding && now - lastRx >= timing.idleBeforePing) {
      pingOutstanding = true;
      pingSentAt = now;
      sendRaw("PING :talon-keepalive");
    }
    armKeepaliveLocked();
  }

  void onLine(uint64_t gen, const std::string& raw) {
    std::optional<routing::InboundMessage> inbound;
    std::string pongToken;
    {
      std::lock_guard lock(mu);
      if (gen != generation || stopped) return;
      lastRx = clock->steadyNow();
      pingOutstanding = false;
      auto line = irc::parseIrcLine(raw);
      if (!line) return;
      const auto& cmd = line->command;
      const auto& p = line->params;
      if (cmd == "PING") {
        sendRaw("PONG :" + (p.empty() ? std::string() : p.back()));
      } else if (cmd == "PONG") {
        if (!p.empty() && probes.contains(p.back())) pongToken = p.back();
      } else if (cmd == "001") {
        onWelcomeLocked(*line);
      } else if ((cmd == "433" || cmd == "436") && !registered) {
        if (++nickAttempt > timing.maxNickAttempts) {
          closeLocked("nick \"" + settings.nick + "\" and its " + std::to_string(timing.maxNickAttempts) +
                      " alternatives are in use");
        } else {
          nick = irc::alternativeNick(settings.nick, nickAttempt);
          spdlog::info("irc[{}]: nick in use; trying {}", accountId, nick);
          sendRaw("NICK " + nick);
        }
      } else if ((cmd == "432" || cmd == "464" || cmd == "465") && !registered) {
        closeLocked("login refused (" + cmd + "): " + (p.empty() ? std::string() : p.back()));
      } else if (cmd == "NICK") {
        auto prefix = irc::parseIrcPrefix(line->prefix);
        if (!p.empty() && lowerAscii(prefix.nick) == lowerAscii(nick)) nick = registeredNick = p.back();
      } else if (cmd == "ERROR") {
        closeReason = "server ERROR: " + (p.empty() ? std::string() : p.back());
      } else if ((cmd == "403" || cmd == "405" || cmd == "471" || cmd == "473" || cmd == "474" || cmd == "475") &&
                 p.size() >= 2) {
        spdlog::warn("irc[{}]: cannot join {}: {}", accountId, p[1], p.back());
        channelProblem(p[1], "cannot join " + p[1] + " (" + cmd + "): " + p.back());
      } else if (cmd == "JOIN" && !p.empty() &&
                 lowerAscii(irc::parseIrcPrefix(line->prefix).nick) == lowerAscii(nick)) {
        channelProblem(p[0], "");
      } else if (cmd == "KICK" && p.size() >= 2 && lowerAscii(p[1]) == lowerAscii(nick)) {
        const std::string by = irc::parseIrcPrefix(line->prefix).nick;
        spdlog::warn("irc[{}]: kicked from {} by {}", accountId, p[0], by);
        channelProblem(p[0], "kicked from " + p[0] + " by " + by + (p.size() > 2 ? ": " + p.back() : ""));
      } else if (cmd == "PRIVMSG" && registered && p.size() >= 2) {
        inbound = toInboundLocked(*line);
      }
    }
    if (!pongToken.empty()) finishProbe(pongToken, Status{});
    if (!inbound) return;
    std::lock_guard sinkLock(sinkMu);
    if (!sink) return;
    sink->onInbound("irc", std::move(*inbound));
  }

  /// Records (non-empty `problem`) or clears the problem of channel `name`, and sets the transport
  /// state: degraded while any configured channel is not joined, with the first reason as the detail.
  void channelProblem(const std::string& name, std::string problem) {
    const std::string key = lowerAscii(name);
    if (problem.empty()) {
      channelProblems.erase(key);
    } else {
      channelProblems[key] = std::move(problem);
    }
    if (!registered) return;
    if (channelProblems.empty()) {
      setState(ChannelHealth::State::kConnected, "");
    } else {
      setState(ChannelHealth::State::kDegraded, channelProblems.begin()->second);
    }
  }

  void onWelcomeLocked(const irc::IrcLine& line) {
    registered = true;
    if (!line.params.empty()) nick = line.params.front();
    registeredNick = nick;
    // RFC 2812 §5.1: "Welcome to the Internet Relay Network <nick>!<user>@<host>".
    if (line.params.size() >= 2) {
      const auto& text = line.params.back();
      const auto sp = text.rfind(' ');
      auto mask = irc::parseIrcPrefix(text.substr(sp == std::string::npos ? 0 : sp + 1));
      if (!mask.user.empty() && !mask.host.empty()) {
        selfUser = mask.user;
        selfHost = mask.host;
      } else {
        selfUser.clear();
        selfHost.clear();
      }
    }
    health.authenticated = true;
    channelProblems.clear();
    welcomedAt = clock->steadyNow();
    health.circuitOpen = false;
    setState(ChannelHealth::State::kConnected, "");
    tokens = timing.burstLines;
    lastRefill = clock->steadyNow();
    spdlog::info("irc[{}]: registered as {} on {}:{}", accountId, nick, settings.host, settings.port);
    const auto& ns = settings.nickserv;
    if (ns.enabled && !ns.password.empty()) {
      sendRaw("PRIVMSG " + ns.service + " :IDENTIFY " + ns.password);
      if (ns.registerNick) sendRaw("PRIVMSG " + ns.service + " :REGISTER " + ns.password + " " + ns.registerEmail);
    }
    for (const auto& c : settings.channels) sendRaw("JOIN " + c);
  }

  std::optional<routing::InboundMessage> toInboundLocked(const irc::IrcLine& line) {
    const auto sender = irc::parseIrcPrefix(line.prefix);
    const std::string& target = line.params[0];
    std::string text = line.params.back();
    if (sender.nick.empty() || lowerAscii(sender.nick) == lowerAscii(nick)) return std::nullopt;
    if (auto ctcp = irc::parseCtcp(text)) {
      if (ctcp->command != "ACTION") {
        spdlog::debug("irc[{}]: ignoring CTCP {} from {}", accountId, ctcp->command, sender.nick);
        return std::nullopt;
      }
      text = "* " + sender.nick + " " + ctcp->args;
    }
    text = irc::stripFormatting(text);
    if (routing::trimWhitespace(text).empty()) return std::nullopt;
    routing::InboundMessage m;
    m.channel = "irc";
    m.accountId = accountId;
    std::string id = sender.nick;
    if (!sender.user.empty()) id += "!" + sender.user;
    if (!sender.host.empty()) id += "@" + sender.host;
    m.sender = lowerAscii(id);
    if (irc::isChannelName(target)) {
      m.peer = routing::Peer{routing::PeerKind::kGroup, target};
      m.mentioned = irc::mentionsNick(text, nick);
    } else {
      m.peer = routing::Peer{routing::PeerKind::kDirect, sender.nick};
    }
    m.text = std::move(text);
    ++health.received;
    health.lastInboundAtMs = clock->nowMs();
    return m;
  }

  static std::string lowerAscii(std::string_view s) { return routing::lowerAscii(s); }
};

IrcChannel::IrcChannel(std::shared_ptr<State> state) : state_(std::move(state)) {}

IrcChannel::~IrcChannel() { stop(); }

Result<std::unique_ptr<IrcChannel>> IrcChannel::create(const ChannelContext& context, IrcSettings settings,
                                                       IrcTiming timing, std::string extraCaPem) {
  if (!context.io) {
    return fail(ErrorCode::kFailedPrecondition, "the irc channel needs the gateway's I/O context");
  }
  if (!context.executors.after || !context.executors.io) {
    return fail(ErrorCode::kFailedPrecondition, "the irc channel needs the gateway's executors");
  }
  auto state = std::make_shared<State>(context, std::move(settings), timing, std::move(extraCaPem));
  return std::unique_ptr<IrcChannel>(new IrcChannel(std::move(state)));
}

Result<ChannelPtr> IrcChannel::fromContext(const ChannelContext& context) {
  auto settings = IrcSettings::parse(context.accountId, context.settings);
  if (!settings) return fail(settings.error());
  auto channel = create(context, std::move(*settings));
  if (!channel) return fail(channel.error());
  return ChannelPtr(std::move(*channel));
}

Status IrcChannel::start(ChannelSink& sink) {
  {
    std::lock_guard sinkLock(state_->sinkMu);
    state_->sink = &sink;
  }
  std::lock_guard lock(state_->mu);
  if (state_->started) return fail(ErrorCode::kFailedPrecondition, "the irc channel was already started");
  state_->started = true;
  state_->connectLocked();
  return {};
}

void IrcChannel::stop() {
  State::Callbacks callbacks;
  {
    std::lock_guard lock(state_->mu);
    if (!state_->stopped) {
      state_->stopped = true;
      for (auto* t : {&state_->reconnectTimer, &state_->keepaliveTimer, &state_->drainTimer}) {
        if (*t) (*t)->cancel();
        t->reset();
      }
      callbacks = state_->failQueueLocked(Error{ErrorCode::kCancelled, "the irc channel stopped"});
      for (auto& c : state_->failProbesLocked(Error{ErrorCode::kCancelled, "the irc channel stopped"})) {
        callbacks.push_back(std::move(c));
      }
      if (state_->client) {
        if (state_->registered) state_->sendRaw("QUIT :Talon stopping");
        state_->client->closeAfterFlush();
        state_->client.reset();
      }
      state_->registered = false;
      state_->health.authenticated = false;
      state_->setState(ChannelHealth::State::kStopped, "");
    }
  }
  for (auto& c : callbacks) c();
  std::lock_guard sinkLock(state_->sinkMu);
  state_->sink = nullptr;
}

void IrcChannel::send(OutboundMessage message, std::function<void(Status)> onSent) {
  auto refuse = [&](Error e) {
    {
      std::lock_guard lock(state_->mu);
      ++state_->health.sendFailures;
    }
    if (onSent) onSent(fail(std::move(e)));
  };
  const std::string& target = message.peer.id;
  if (target.empty() || !ircSafe(target, true) || target.front() == ':' || target.find(',') != std::string::npos) {
    return refuse(Error{ErrorCode::kInvalidArgument, "\"" + target + "\" is not an IRC nick or channel"});
  }
  const bool toChannel = irc::isChannelName(target);
  if ((message.peer.kind == routing::PeerKind::kDirect) == toChannel) {
    return refuse(Error{
        ErrorCode::kInvalidArgument,
        "peer kind " + std::string(routing::peerKindName(message.peer.kind)) + " does not match \"" + target + "\""});
  }
  std::lock_guard lock(state_->mu);
  auto& s = *state_;
  if (s.stopped || !s.registered || !s.client) {
    ++s.health.sendFailures;
    const std::string why = s.stopped ? "the irc channel is stopped" : "not connected to the IRC server";
    s.executors.io([onSent = std::move(onSent), why] {
      if (onSent) onSent(fail(ErrorCode::kUnavailable, why));
    });
    return;
  }
  auto pieces = irc::splitPrivmsgText(message.text, irc::privmsgOverhead(s.nick, s.selfUser, s.selfHost, target));
  if (pieces.empty()) {
    ++s.health.sendFailures;
    s.executors.io([onSent = std::move(onSent)] {
      if (onSent) onSent(fail(ErrorCode::kInvalidArgument, "the text has nothing IRC can carry"));
    });
    return;
  }
  auto job = std::make_shared<State::SendJob>();
  job->remaining = pieces.size();
  job->onSent = std::move(onSent);
  for (auto& piece : pieces) s.outQueue.push_back(State::OutLine{"PRIVMSG " + target + " :" + piece, job});
  s.drainLocked();
}

void IrcChannel::probe(std::function<void(Status)> done) {
  Status refused;
  {
    std::lock_guard lock(state_->mu);
    auto& s = *state_;
    if (s.registered && s.client) {
      const std::string token = "talon-probe-" + std::to_string(++s.probeSeq);
      std::weak_ptr<State> weak = s.weak_from_this();
      auto& probe = s.probes[token];
      probe.done = std::move(done);
      probe.timer = s.executors.after(s.timing.probeTimeout, [weak, token, ms = s.timing.probeTimeout.count()] {
        if (auto self = weak.lock()) {
          self->finishProbe(token, fail(ErrorCode::kDeadlineExceeded,
                                        "the IRC server did not answer PING within " + std::to_string(ms) + " ms"));
        }
      });
      s.sendRaw("PING :" + token);
      return;
    }
    refused =
        fail(ErrorCode::kUnavailable, s.health.detail.empty() ? "not registered with the IRC server" : s.health.detail);
  }
  if (done) done(std::move(refused));
}

ChannelHealth IrcChannel::health() const {
  std::lock_guard lock(state_->mu);
  return state_->health;
}

ChannelCapabilities IrcChannel::capabilities() const {
  ChannelCapabilities c;
  c.maxTextChars = state_->settings.textChunkLimit;
  c.typing = false;
  return c;
}

std::string IrcChannel::currentNick() const {
  std::lock_guard lock(state_->mu);
  return state_->registeredNick;
}

}  // namespace talon::gateway::channels
