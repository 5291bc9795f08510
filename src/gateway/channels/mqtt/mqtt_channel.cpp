#include "gateway/channels/mqtt/mqtt_channel.h"

#include <mqtt_protocol.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "gateway/channels/account_settings.h"
#include "gateway/channels/mqtt/mosquitto_library.h"

namespace talon::gateway::channels {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxPayloadBytes = 1 << 20;
constexpr std::size_t kMqttMaxTextChars = 65536;

/// One topic level usable as an id and inside a topic: not empty, no '/', '+', '#' or NUL.
bool isTopicLevel(std::string_view s) {
  return !s.empty() && s.find_first_of(std::string_view("/+#\0", 4)) == std::string_view::npos;
}

std::string levelOf(std::string_view topic, int index) {
  std::size_t start = 0;
  for (int i = 0; i < index; ++i) {
    const auto slash = topic.find('/', start);
    if (slash == std::string_view::npos) return {};
    start = slash + 1;
  }
  const auto end = topic.find('/', start);
  return std::string(topic.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
}

/// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF; RFC 3629 §4).
bool isUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

/// The loaded libmosquitto (mosquitto_library.h). Only called once MqttChannel::create() has loaded it, which
/// every channel object passed through; the table is never unloaded.
const MosquittoApi& mq() { return **mosquittoApi(); }

/// A libmosquitto return code (MOSQ_ERR_*) as text; MOSQ_ERR_ERRNO names the system error.
std::string mosquittoError(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(errno);
  return mq().strerror(rc);
}

}  // namespace

Result<MqttSettings> MqttSettings::parse(std::string_view accountId, const json::object& settings) {
  static const std::set<std::string, std::less<>> kKnown = {
      "url",         "clientId",   "username", "password", "caFile",           "subscriptions", "replyTopic",
      "replyFormat", "probeTopic", "qos",      "enabled",  "keepaliveSeconds", "name"};
  for (const auto& kv : settings) {
    if (!kKnown.contains(kv.key()))
      return fail(invalidAccountSetting("mqtt", accountId, kv.key(), "is not an MQTT channel setting"));
  }
  MqttSettings s;
  auto str = [&](std::string_view key, std::string& out) -> Status {
    const auto* v = settings.if_contains(key);
    if (!v || v->is_null()) return {};
    if (!v->is_string()) return fail(invalidAccountSetting("mqtt", accountId, key, "must be a string"));
    out = std::string(v->as_string());
    return {};
  };
  auto integer = [&](std::string_view key, int& out, int min, int max) -> Status {
    const auto* v = settings.if_contains(key);
    if (!v || v->is_null()) return {};
    if (!v->is_int64() || v->as_int64() < min || v->as_int64() > max) {
      return fail(invalidAccountSetting(
          "mqtt", accountId, key, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max)));
    }
    out = static_cast<int>(v->as_int64());
    return {};
  };
  std::string url;
  if (auto st = str("url", url); !st) return fail(st.error());
  if (url.empty())
    return fail(
        invalidAccountSetting("mqtt", accountId, "url", "is required (mqtt://host[:port] or mqtts://host[:port])"));
  auto broker = config::parseMqttUrl(url);
  if (!broker) return fail(invalidAccountSetting("mqtt", accountId, "url", broker.error().message));
  s.broker = std::move(*broker);
  for (auto [key, out] : {std::pair{"clientId", &s.clientId}, std::pair{"username", &s.username},
                          std::pair{"password", &s.password}, std::pair{"caFile", &s.caFile},
                          std::pair{"replyTopic", &s.replyTopic}, std::pair{"probeTopic", &s.probeTopic}}) {
    if (auto st = str(key, *out); !st) return fail(st.error());
  }
  if (s.clientId.empty()) s.clientId = "talon-" + std::string(accountId);
  if (s.clientId.size() > 65535 || s.clientId.find('\0') != std::string::npos) {
    return fail(invalidAccountSetting("mqtt", accountId, "clientId", "is not a usable MQTT client id"));
  }
  if (!s.password.empty() && s.username.empty()) {
    return fail(
        invalidAccountSetting("mqtt", accountId, "password", "needs a username (MQTT sends no password without one)"));
  }
  if (!s.caFile.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(s.caFile, ec)) {
      return fail(invalidAccountSetting("mqtt", accountId, "caFile", "\"" + s.caFile + "\" is not a regular file"));
    }
  }
  if (auto st = config::checkMqttReplyTopic(s.replyTopic); !st) {
    return fail(invalidAccountSetting("mqtt", accountId, "replyTopic", st.error().message));
  }
  if (s.probeTopic.empty()) {
    s.probeTopic = "talon/probe/" + s.clientId;
    if (!config::isMqttTopicName(s.probeTopic)) {
      return fail(
          invalidAccountSetting("mqtt", accountId, "probeTopic", "is required: the client id makes no topic name"));
    }
  } else if (!config::isMqttTopicName(s.probeTopic)) {
    return fail(
        invalidAccountSetting("mqtt", accountId, "probeTopic", "is not an MQTT topic name (no '+' or '#', not empty)"));
  }
  std::string format;
  if (auto st = str("replyFormat", format); !st) return fail(st.error());
  if (format == "json") {
    s.replyFormat = ReplyFormat::kJson;
  } else if (!format.empty() && format != "text") {
    return fail(invalidAccountSetting("mqtt", accountId, "replyFormat", "must be \"text\" or \"json\""));
  }
  if (auto st = integer("qos", s.qos, 0, 2); !st) return fail(st.error());
  if (auto st = integer("keepaliveSeconds", s.keepaliveSeconds, 5, 65535); !st) return fail(st.error());
  if (const auto* v = settings.if_contains("subscriptions"); v && !v->is_null()) {
    auto subs = config::parseMqttSubscriptions(*v);
    if (!subs) {
      const auto& e = subs.error();
      std::string key = "subscriptions";
      if (v->is_array()) key += "[" + std::to_string(e.index) + "]";
      if (!e.member.empty()) key += "." + e.member;
      return fail(invalidAccountSetting("mqtt", accountId, key, e.message));
    }
    s.subscriptions = std::move(*subs);
  }
  return s;
}

Result<MqttInbound> mapMqttPublish(const config::MqttSubscription& subscription, std::string_view topic,
                                   std::string_view payload) {
  auto refuse = [](std::string why) { return fail(ErrorCode::kInvalidArgument, std::move(why)); };
  if (payload.size() > kMaxPayloadBytes) return refuse("the payload is over 1 MiB");
  if (!isUtf8(payload)) return refuse("the payload is not UTF-8 text");
  MqttInbound out;
  std::string from;
  out.text = std::string(payload);
  if (!payload.empty() && payload.front() == '{') {
    if (auto parsed = parseJson(payload); parsed && parsed->is_object()) {
      const auto& o = parsed->as_object();
      const auto* text = o.if_contains("text");
      if (text == nullptr || !text->is_string()) return refuse("a JSON payload needs a string \"text\"");
      out.text = std::string(text->as_string());
      if (const auto* f = o.if_contains("from"); f != nullptr) {
        if (!f->is_string()) return refuse("\"from\" must be a string");
        from = std::string(f->as_string());
      }
    }
  }
  if (out.text.find_first_not_of(" \t\r\n") == std::string::npos) return refuse("the message has no text");
  // The topic level is the sender when configured (a broker ACL can vouch for it); else the payload's.
  out.sender = subscription.senderLevel ? levelOf(topic, *subscription.senderLevel) : from;
  if (!out.sender.empty() && !isTopicLevel(out.sender)) {
    return refuse("the sender \"" + out.sender + "\" is not one topic level (no '/', '+' or '#')");
  }
  if (subscription.session == config::MqttSessionBy::kTopic) {
    out.peer = routing::Peer{routing::PeerKind::kGroup, std::string(topic)};
  } else {
    if (out.sender.empty()) {
      return refuse("no sender: the subscription has no senderLevel and the payload no \"from\"");
    }
    out.peer = routing::Peer{routing::PeerKind::kDirect, out.sender};
  }
  return out;
}

std::string renderMqttReply(MqttSettings::ReplyFormat format, const OutboundMessage& message) {
  if (format == MqttSettings::ReplyFormat::kText) return message.text;
  json::object o{{"text", message.text}, {"peer", message.peer.id}};
  if (!message.runId.empty()) o["runId"] = message.runId;
  return json::serialize(o);
}

/// Everything the channel's threads share; owned by MqttChannel (and the network thread while it runs).
struct MqttChannel::State : std::enable_shared_from_this<MqttChannel::State> {
  using Callback = std::function<void(Status)>;
  /// What libmosquitto's callbacks get as their user data: the connection they belong to.
  struct Connection {
    std::weak_ptr<State> state;
    uint64_t generation = 0;
  };
  struct PendingProbe {
    State::Callback done;
    TimerHandlePtr timer;
  };

  State(const ChannelContext& context, MqttSettings s, MqttTiming t)
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
  const MqttSettings settings;
  const MqttTiming timing;

  mutable std::mutex mu;
  std::condition_variable wake;  // the network thread waits on it between connections
  bool started = false;
  bool stopped = false;
  bool connectWanted = false;  // the network thread should connect now
  bool dropWanted = false;     // restart(): end the current connection (or attempt) and connect again
  bool attempting = false;     // a connection (attempt) is under way on the network thread
  uint64_t generation = 0;
  mosquitto* client = nullptr;  // the current connection's client (network thread owns it)
  bool connected = false;       // CONNACK accepted on the current connection
  std::string closeReason;      // why the broker ended the current connection (CONNACK / DISCONNECT)
  Clock::time_point connectedAt{};
  std::map<int, std::size_t> pendingSubacks;  // message id → subscription index
  std::string subscriptionProblem;            // the first refused subscription of this connection
  std::map<int, Callback> pendingSends;       // message id → onSent (current connection)
  std::map<int, PendingProbe> probes;         // message id → probe (current connection)
  std::deque<routing::InboundMessage> inbox;  // received, not yet handed to the sink (in order)
  bool draining = false;                      // a drainInbox task is posted or running
  ChannelHealth health;
  ReconnectBackoff backoff;
  TimerHandlePtr reconnectTimer;
  std::thread network;

  std::mutex sinkMu;  // held while calling the sink, so stop() can detach it
  ChannelSink* sink = nullptr;

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

  /// Fails every pending send and probe with `error`.
  void failPendingLocked(const Error& error) {
    for (auto& [mid, cb] : pendingSends) {
      ++health.sendFailures;
      post(std::move(cb), fail(error));
    }
    pendingSends.clear();
    for (auto& [mid, p] : probes) {
      if (p.timer) p.timer->cancel();
      post(std::move(p.done), fail(error));
    }
    probes.clear();
  }

  void scheduleReconnectLocked(std::string reason) {
    const auto delay = backoff.failed();
    health.circuitOpen = backoff.circuitOpen();
    setState(ChannelHealth::State::kDisconnected, std::move(reason));
    spdlog::warn("mqtt[{}]: disconnected ({}); reconnecting in {} ms", accountId, health.detail, delay.count());
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

  // --- the network thread -----------------------------------------------------------------------------

  /// A configured client for one connection attempt, or the reason there is none.
  Result<mosquitto*> newClient(Connection* connection) {
    mosquitto* m = mq().create(settings.clientId.c_str(), true, connection);
    if (m == nullptr)
      return fail(ErrorCode::kInternal, "libmosquitto cannot create a client: " + mosquittoError(MOSQ_ERR_ERRNO));
    auto check = [&](int rc, const char* what) -> Status {
      if (rc == MOSQ_ERR_SUCCESS) return {};
      mq().destroy(m);
      return fail(ErrorCode::kInternal, std::string(what) + ": " + mosquittoError(rc));
    };
    if (auto s = check(mq().intOption(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5), "MQTT 5"); !s) {
      return fail(s.error());
    }
    if (auto s = check(mq().threadedSet(m, true), "threads"); !s) return fail(s.error());
    if (!settings.username.empty()) {
      const char* password = settings.password.empty() ? nullptr : settings.password.c_str();
      if (auto s = check(mq().usernamePwSet(m, settings.username.c_str(), password), "credentials"); !s) {
        return fail(s.error());
      }
    }
    if (settings.broker.tls) {
      const char* caFile = settings.caFile.empty() ? nullptr : settings.caFile.c_str();
      const char* caPath = settings.caFile.empty() ? "/etc/ssl/certs" : nullptr;
      if (auto s = check(mq().tlsSet(m, caFile, caPath, nullptr, nullptr, nullptr), "TLS"); !s) {
        return fail(s.error());
      }
    }
    mq().connectV5CallbackSet(m, onConnect);
    mq().subscribeV5CallbackSet(m, onSubscribe);
    mq().messageV5CallbackSet(m, onMessage);
    mq().publishV5CallbackSet(m, onPublish);
    mq().disconnectV5CallbackSet(m, onDisconnect);
    return m;
  }

  /// The network thread: one connection at a time, for as long as the channel runs.
  void run() {
    std::unique_lock lock(mu);
    while (true) {
      wake.wait(lock, [&] { return stopped || connectWanted; });
      if (stopped) return;
      connectWanted = false;
      dropWanted = false;
      attempting = true;
      closeReason.clear();
      const uint64_t gen = ++generation;
      setState(ChannelHealth::State::kStarting,
               "connecting to " + settings.broker.host + ":" + std::to_string(settings.broker.port));
      lock.unlock();

      Connection connection{weak_from_this(), gen};
      std::string failure;
      mosquitto* m = nullptr;
      if (auto created = newClient(&connection); !created) {
        failure = created.error().message;
      } else {
        m = *created;
        const int rc = mq().connectBindV5(m, settings.broker.host.c_str(), settings.broker.port,
                                          settings.keepaliveSeconds, nullptr, nullptr);
        if (rc != MOSQ_ERR_SUCCESS) failure = "cannot connect: " + mosquittoError(rc);
      }
      if (failure.empty()) {
        {
          std::lock_guard l(mu);
          client = m;
          if (stopped) mq().disconnectV5(m, MQTT_RC_NORMAL_DISCONNECTION, nullptr);
        }
        while (true) {
          {
            std::lock_guard l(mu);
            if (stopped || dropWanted) break;
          }
          const int rc = mq().loop(m, static_cast<int>(timing.loopInterval.count()), 1);
          if (rc != MOSQ_ERR_SUCCESS) {
            std::lock_guard l(mu);
            if (!stopped && !dropWanted) {
              failure = closeReason.empty() ? "connection lost: " + mosquittoError(rc) : closeReason;
            }
            break;
          }
        }
        if (failure.empty()) {
          // stop() or restart(): say goodbye (best effort) before the client goes.
          mq().disconnectV5(m, MQTT_RC_NORMAL_DISCONNECTION, nullptr);
          mq().loop(m, 100, 1);
        }
      }
      lock.lock();
      client = nullptr;
      lock.unlock();
      if (m != nullptr) mq().destroy(m);  // no callback of this connection runs after this
      lock.lock();
      attempting = false;
      endConnectionLocked(failure, dropWanted);
    }
  }

  /// The connection of the current generation is over: why (`failure`, empty after stop or restart).
  void endConnectionLocked(const std::string& failure, bool dropped) {
    dropWanted = false;
    const bool wasStable = connected && clock->steadyNow() - connectedAt >= timing.stableAfter;
    connected = false;
    health.authenticated = false;
    pendingSubacks.clear();
    subscriptionProblem.clear();
    if (stopped) {
      failPendingLocked(Error{ErrorCode::kCancelled, "the mqtt channel stopped"});
      setState(ChannelHealth::State::kStopped, "");
      return;
    }
    const std::string reason = dropped ? "restarting" : failure;
    failPendingLocked(Error{ErrorCode::kUnavailable, "the MQTT connection closed: " + reason});
    if (dropped) {
      ++health.reconnects;
      connectWanted = true;
      setState(ChannelHealth::State::kStarting, "restarting");
      spdlog::info("mqtt[{}]: reconnecting (restart)", accountId);
      return;
    }
    if (wasStable) backoff.succeeded();
    scheduleReconnectLocked(reason);
  }

  // --- libmosquitto callbacks (network thread) --------------------------------------------------------

  static std::shared_ptr<State> lockCurrent(void* userdata, std::unique_lock<std::mutex>& lock) {
    auto* c = static_cast<Connection*>(userdata);
    auto self = c->state.lock();
    if (!self) return nullptr;
    lock = std::unique_lock(self->mu);
    if (self->stopped || self->generation != c->generation) return nullptr;
    return self;
  }

  static void onConnect(mosquitto* m, void* userdata, int rc, int, const mosquitto_property*) {
    std::unique_lock<std::mutex> lock;
    auto self = lockCurrent(userdata, lock);
    if (!self) return;
    auto& s = *self;
    if (rc != 0) {
      s.closeReason = std::string("the broker refused the connection: ") + mq().reasonString(rc);
      spdlog::warn("mqtt[{}]: {}", s.accountId, s.closeReason);
      return;  // the broker closes it; the loop reports the loss
    }
    s.connected = true;
    s.connectedAt = s.clock->steadyNow();
    spdlog::info("mqtt[{}]: connected to {}:{} as {}", s.accountId, s.settings.broker.host, s.settings.broker.port,
                 s.settings.clientId);
    for (std::size_t i = 0; i < s.settings.subscriptions.size(); ++i) {
      const auto& sub = s.settings.subscriptions[i];
      int mid = 0;
      const int src = mq().subscribeV5(m, &mid, sub.topic.c_str(), sub.qos.value_or(s.settings.qos),
                                       MQTT_SUB_OPT_NO_LOCAL, nullptr);
      if (src != MOSQ_ERR_SUCCESS) {
        if (s.subscriptionProblem.empty()) {
          s.subscriptionProblem = "cannot subscribe to \"" + sub.topic + "\": " + mosquittoError(src);
        }
        continue;
      }
      s.pendingSubacks[mid] = i;
    }
    s.subscriptionsSettledLocked();
  }

  /// After CONNACK and each SUBACK: the application state once no SUBACK is outstanding.
  void subscriptionsSettledLocked() {
    if (!pendingSubacks.empty()) {
      setState(ChannelHealth::State::kConnected, "subscribing");
      return;
    }
    if (subscriptionProblem.empty()) {
      health.authenticated = true;
      health.circuitOpen = false;
      setState(ChannelHealth::State::kConnected, "");
    } else {
      health.authenticated = false;
      spdlog::warn("mqtt[{}]: {}", accountId, subscriptionProblem);
      setState(ChannelHealth::State::kDegraded, subscriptionProblem);
    }
  }

  static void onSubscribe(mosquitto*, void* userdata, int mid, int count, const int* granted,
                          const mosquitto_property*) {
    std::unique_lock<std::mutex> lock;
    auto self = lockCurrent(userdata, lock);
    if (!self) return;
    auto& s = *self;
    auto it = s.pendingSubacks.find(mid);
    if (it == s.pendingSubacks.end()) return;
    const auto& sub = s.settings.subscriptions[it->second];
    s.pendingSubacks.erase(it);
    if (count >= 1 && granted[0] >= 0x80 && s.subscriptionProblem.empty()) {
      s.subscriptionProblem =
          "the broker refused the subscription to \"" + sub.topic + "\": " + mq().reasonString(granted[0]);
    }
    s.subscriptionsSettledLocked();
  }

  static void onMessage(mosquitto*, void* userdata, const mosquitto_message* message, const mosquitto_property*) {
    std::shared_ptr<State> self;
    {
      std::unique_lock<std::mutex> lock;
      self = lockCurrent(userdata, lock);
      if (!self) return;
      auto& s = *self;
      s.health.lastInboundAtMs = s.clock->nowMs();
      const std::string_view topic = message->topic ? message->topic : "";
      const std::string_view payload(static_cast<const char*>(message->payload),
                                     message->payload ? static_cast<std::size_t>(message->payloadlen) : 0);
      const config::MqttSubscription* sub = nullptr;
      for (const auto& candidate : s.settings.subscriptions) {
        if (config::mqttTopicMatches(candidate.topic, topic)) {
          sub = &candidate;
          break;
        }
      }
      if (sub == nullptr) {
        spdlog::warn("mqtt[{}]: dropped a publish on \"{}\": no subscription matches it", s.accountId, topic);
        return;
      }
      auto mapped = mapMqttPublish(*sub, topic, payload);
      if (!mapped) {
        spdlog::warn("mqtt[{}]: dropped a publish on \"{}\": {}", s.accountId, topic, mapped.error().message);
        return;
      }
      routing::InboundMessage m;
      m.channel = "mqtt";
      m.accountId = s.accountId;
      m.peer = std::move(mapped->peer);
      m.sender = std::move(mapped->sender);
      m.text = std::move(mapped->text);
      ++s.health.received;
      s.inbox.push_back(std::move(m));
      if (!s.draining) {
        s.draining = true;
        std::weak_ptr<State> weak = self;
        s.executors.io([weak] {
          if (auto state = weak.lock()) state->drainInbox();
        });
      }
    }
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
      if (sink) sink->onInbound("mqtt", std::move(m));
    }
  }

  static void onPublish(mosquitto*, void* userdata, int mid, int reason, const mosquitto_property*) {
    std::unique_lock<std::mutex> lock;
    auto self = lockCurrent(userdata, lock);
    if (!self) return;
    auto& s = *self;
    Status result;
    if (reason >= 0x80) {
      result = fail(ErrorCode::kUpstream, std::string("the broker refused the publish: ") + mq().reasonString(reason));
    }
    if (auto it = s.pendingSends.find(mid); it != s.pendingSends.end()) {
      if (result) {
        ++s.health.sent;
        s.health.lastOutboundAtMs = s.clock->nowMs();
      } else {
        ++s.health.sendFailures;
      }
      s.post(std::move(it->second), std::move(result));
      s.pendingSends.erase(it);
    } else if (auto p = s.probes.find(mid); p != s.probes.end()) {
      if (p->second.timer) p->second.timer->cancel();
      s.post(std::move(p->second.done), std::move(result));
      s.probes.erase(p);
    }
  }

  static void onDisconnect(mosquitto*, void* userdata, int rc, const mosquitto_property*) {
    std::unique_lock<std::mutex> lock;
    auto self = lockCurrent(userdata, lock);
    if (!self) return;
    // A DISCONNECT from the broker carries its reason (MQTT 5); a lost socket shows as the loop's error.
    if (rc != 0 && rc < 0x80) return;
    if (rc >= 0x80 && self->closeReason.empty()) {
      self->closeReason = std::string("the broker disconnected: ") + mq().reasonString(rc);
    }
  }
};

MqttChannel::MqttChannel(std::shared_ptr<State> state) : state_(std::move(state)) {}

MqttChannel::~MqttChannel() { stop(); }

Result<std::unique_ptr<MqttChannel>> MqttChannel::create(const ChannelContext& context, MqttSettings settings,
                                                         MqttTiming timing) {
  if (!context.executors.after || !context.executors.io || !context.clock) {
    return fail(ErrorCode::kFailedPrecondition, "the mqtt channel needs the gateway's executors and clock");
  }
  if (auto api = mosquittoApi(); !api) return fail(api.error());
  auto state = std::make_shared<State>(context, std::move(settings), timing);
  return std::unique_ptr<MqttChannel>(new MqttChannel(std::move(state)));
}

Result<ChannelPtr> MqttChannel::fromContext(const ChannelContext& context) {
  auto settings = MqttSettings::parse(context.accountId, context.settings);
  if (!settings) return fail(settings.error());
  auto channel = create(context, std::move(*settings));
  if (!channel) return fail(channel.error());
  return ChannelPtr(std::move(*channel));
}

Status MqttChannel::start(ChannelSink& sink) {
  {
    std::lock_guard sinkLock(state_->sinkMu);
    state_->sink = &sink;
  }
  std::lock_guard lock(state_->mu);
  if (state_->started) return fail(ErrorCode::kFailedPrecondition, "the mqtt channel was already started");
  state_->started = true;
  state_->connectWanted = true;
  state_->setState(ChannelHealth::State::kStarting, "starting");
  state_->network = std::thread([state = state_] { state->run(); });
  return {};
}

void MqttChannel::stop() {
  std::thread network;
  {
    std::lock_guard lock(state_->mu);
    if (!state_->stopped) {
      state_->stopped = true;
      if (state_->reconnectTimer) state_->reconnectTimer->cancel();
      state_->reconnectTimer.reset();
      if (state_->client) mq().disconnectV5(state_->client, MQTT_RC_NORMAL_DISCONNECTION, nullptr);
      state_->failPendingLocked(Error{ErrorCode::kCancelled, "the mqtt channel stopped"});
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

void MqttChannel::send(OutboundMessage message, std::function<void(Status)> onSent) {
  auto& s = *state_;
  const std::string topic = config::expandMqttReplyTopic(s.settings.replyTopic, message.peer.id);
  std::lock_guard lock(s.mu);
  if (message.peer.id.empty() || !config::isMqttTopicName(topic)) {
    ++s.health.sendFailures;
    return s.post(std::move(onSent),
                  fail(ErrorCode::kInvalidArgument,
                       "peer \"" + message.peer.id + "\" makes no MQTT topic name (\"" + topic + "\")"));
  }
  if (s.stopped || !s.connected || s.client == nullptr) {
    ++s.health.sendFailures;
    return s.post(std::move(onSent), fail(ErrorCode::kUnavailable,
                                          s.stopped ? "the mqtt channel is stopped"
                                                    : "not connected to the MQTT broker" +
                                                          (s.health.detail.empty() ? "" : ": " + s.health.detail)));
  }
  const std::string payload = renderMqttReply(s.settings.replyFormat, message);
  int mid = 0;
  const int rc = mq().publishV5(s.client, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(),
                                s.settings.qos, false, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    ++s.health.sendFailures;
    const auto code =
        rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST ? ErrorCode::kUnavailable : ErrorCode::kUpstream;
    return s.post(std::move(onSent), fail(code, "cannot publish to \"" + topic + "\": " + mosquittoError(rc)));
  }
  s.pendingSends[mid] = std::move(onSent);
}

Status MqttChannel::restart() {
  std::lock_guard lock(state_->mu);
  auto& s = *state_;
  if (!s.started || s.stopped) return fail(ErrorCode::kFailedPrecondition, "the mqtt channel is not running");
  if (s.attempting) {
    // Connected or connecting: end this connection (the loop notices) and connect again.
    s.dropWanted = true;
    if (s.client != nullptr) mq().disconnectV5(s.client, MQTT_RC_NORMAL_DISCONNECTION, nullptr);
  } else if (!s.connectWanted) {
    // Waiting for the backoff timer: connect now instead.
    if (s.reconnectTimer) s.reconnectTimer->cancel();
    s.reconnectTimer.reset();
    ++s.health.reconnects;
    s.connectWanted = true;
  }
  s.wake.notify_all();
  return {};
}

void MqttChannel::probe(std::function<void(Status)> done) {
  auto& s = *state_;
  std::lock_guard lock(s.mu);
  if (s.stopped || !s.connected || s.client == nullptr) {
    return s.post(
        std::move(done),
        fail(ErrorCode::kUnavailable, s.health.detail.empty() ? "not connected to the MQTT broker" : s.health.detail));
  }
  int mid = 0;
  const int rc = mq().publishV5(s.client, &mid, s.settings.probeTopic.c_str(), 0, nullptr, 1, false, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    return s.post(std::move(done), fail(ErrorCode::kUnavailable, "cannot publish the probe: " + mosquittoError(rc)));
  }
  std::weak_ptr<State> weak = s.weak_from_this();
  auto& p = s.probes[mid];
  p.done = std::move(done);
  p.timer = s.executors.after(s.timing.probeTimeout, [weak, mid, ms = s.timing.probeTimeout.count()] {
    auto self = weak.lock();
    if (!self) return;
    State::Callback done;
    {
      std::lock_guard l(self->mu);
      auto it = self->probes.find(mid);
      if (it == self->probes.end()) return;
      done = std::move(it->second.done);
      self->probes.erase(it);
    }
    if (done) {
      done(fail(ErrorCode::kDeadlineExceeded,
                "the MQTT broker did not acknowledge the probe within " + std::to_string(ms) + " ms"));
    }
  });
}

ChannelHealth MqttChannel::health() const {
  std::lock_guard lock(state_->mu);
  return state_->health;
}

ChannelCapabilities MqttChannel::capabilities() const {
  ChannelCapabilities c;
  c.maxTextChars = kMqttMaxTextChars;
  c.typing = false;
  return c;
}

}  // namespace talon::gateway::channels
