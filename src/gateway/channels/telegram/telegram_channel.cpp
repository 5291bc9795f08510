#include "gateway/channels/telegram/telegram_channel.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <vector>

#include "gateway/channels/telegram/telegram_api.h"
#include "security/secret.h"

namespace talon::gateway::channels {

namespace {

using ApiCallback = std::function<void(Result<json::value>)>;

/// The longest Bot API response body kept (a getUpdates batch of 100 large updates stays far below).
constexpr std::size_t kMaxResponseBytes = 16u << 20;
/// Idle budget of every call but getUpdates (whose budget is its poll timeout plus this).
constexpr std::chrono::milliseconds kCallIdle{30'000};

std::string trimmed(std::string s) {
  const auto notSpace = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), notSpace));
  s.erase(std::find_if(s.rbegin(), s.rend(), notSpace).base(), s.end());
  return s;
}

std::string settingPath(const std::string& accountId, std::string_view key) {
  return fmt::format("channels.telegram.accounts.{}.{}", accountId, key);
}

/// The token from `tokenFile`: a regular file, not a symlink (OpenClaw docs/channels/telegram.md).
Result<std::string> readTokenFile(const std::string& accountId, const std::string& path) {
  const std::string where = settingPath(accountId, "tokenFile");
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return fail(ErrorCode::kConfigInvalid, fmt::format("{}: cannot read {}", where, path));
  }
  if (S_ISLNK(st.st_mode)) {
    return fail(ErrorCode::kConfigInvalid,
                fmt::format("{}: {} is a symlink (a regular file is required)", where, path));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::kConfigInvalid, fmt::format("{}: {} is not a regular file", where, path));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (!in && !in.eof()) return fail(ErrorCode::kConfigInvalid, fmt::format("{}: cannot read {}", where, path));
  std::string token = trimmed(buffer.str());
  if (token.empty()) return fail(ErrorCode::kConfigInvalid, fmt::format("{}: {} is empty", where, path));
  return token;
}

enum class Stage { kGetMe, kDeleteWebhook, kPoll, kSetWebhook };

std::string_view stageMethod(Stage s) {
  switch (s) {
    case Stage::kGetMe:
      return "getMe";
    case Stage::kDeleteWebhook:
      return "deleteWebhook";
    case Stage::kPoll:
      return "getUpdates";
    case Stage::kSetWebhook:
      return "setWebhook";
  }
  return "?";
}

/// Webhook mode's settings.
struct WebhookSettings {
  std::string url;
  security::Secret secret;
};

/// The Bot API's secret_token rule: 1-256 characters, A-Z a-z 0-9 _ -.
bool validSecretToken(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

}  // namespace

struct TelegramChannel::State : std::enable_shared_from_this<State> {
  /// A sendMessage in progress: its callback, the call or the 429 timer it waits on.
  struct PendingSend {
    std::function<void(Status)> onSent;
    net::ClientCallPtr call;
    TimerHandlePtr timer;
  };

  State(std::string account, std::string root, std::string tok, std::optional<WebhookSettings> hook, TelegramTuning t,
        net::HttpClientPtr client, Executors ex, ClockPtr c)
      : accountId(std::move(account)),
        channelId("telegram:" + accountId),
        apiRoot(std::move(root)),
        token(std::move(tok)),
        webhook(std::move(hook)),
        tuning(t),
        http(std::move(client)),
        executors(std::move(ex)),
        clock(std::move(c)),
        backoff(t.backoff) {
    health.sinceMs = clock->nowMs();
  }

  const std::string accountId;
  const std::string channelId;
  const std::string apiRoot;
  const std::string token;
  const std::optional<WebhookSettings> webhook;
  const TelegramTuning tuning;
  const net::HttpClientPtr http;
  const Executors executors;
  const ClockPtr clock;

  mutable std::mutex mu;
  ChannelSink* sink = nullptr;
  bool started = false;
  bool stopped = false;
  telegram::BotIdentity bot;
  int64_t offset = 0;
  uint64_t chainSeq = 0;         // bumps with every call of the getMe → getUpdates chain
  net::ClientCallPtr chainCall;  // that chain's call in flight
  TimerHandlePtr retryTimer;
  std::map<uint64_t, PendingSend> sends;
  uint64_t nextSendId = 1;
  std::map<std::string, TimerHandlePtr> typing;
  ChannelHealth health;
  ReconnectBackoff backoff;

  /// Replaces the token wherever it could appear in a message (a URL in a transport error).
  Error scrub(Error e) const {
    for (std::string* s : {&e.message, &e.externalMessage}) {
      for (auto at = s->find(token); !token.empty() && at != std::string::npos; at = s->find(token, at)) {
        s->replace(at, token.size(), "<botToken>");
      }
    }
    return e;
  }

  void setState(ChannelHealth::State s, std::string detail) {
    if (health.state != s) health.sinceMs = clock->nowMs();
    health.state = s;
    health.detail = std::move(detail);
  }

  /// POSTs `params` as JSON to `<apiRoot>/bot<token>/<method>`; `done` runs on executors.io with the
  /// result (the Bot API envelope's `result`, or the error). Never call with `mu` held.
  net::ClientCallPtr callApi(std::string_view method, const json::object& params, std::chrono::milliseconds idle,
                             ApiCallback done) {
    net::ClientRequest request;
    request.method = "POST";
    request.url = fmt::format("{}/bot{}/{}", apiRoot, token, method);
    request.headers = {{"Content-Type", "application/json"}};
    request.body = json::serialize(params);
    request.idleTimeout = idle;
    // A pooled connection the Bot API closed while idle never carried the request: send it again.
    request.resendOnStaleConnection = true;
    struct Received {
      int status = 0;
      std::string body;
      bool tooLarge = false;
    };
    auto received = std::make_shared<Received>();
    net::ClientHandlers handlers;
    handlers.onHeaders = [received](int status, const net::Headers&) { received->status = status; };
    handlers.onBody = [received](std::string_view data) {
      if (received->body.size() + data.size() > kMaxResponseBytes) {
        received->tooLarge = true;
        return;
      }
      received->body.append(data);
    };
    std::weak_ptr<State> weak = weak_from_this();
    handlers.onComplete = [weak, received, done = std::move(done), m = std::string(method)](Status status) mutable {
      auto self = weak.lock();
      if (!self) return;
      Result<json::value> result = [&]() -> Result<json::value> {
        if (!status) return fail(self->scrub(status.error()));
        if (received->tooLarge) {
          return fail(ErrorCode::kUpstream,
                      fmt::format("Telegram {} answered more than {} bytes", m, kMaxResponseBytes));
        }
        return telegram::parseApiResponse(received->status, received->body);
      }();
      self->executors.io([done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
    };
    return http->start(std::move(request), std::move(handlers));
  }

  /// Runs one step of the getMe → deleteWebhook → getUpdates chain.
  void step(Stage stage) {
    json::object params;
    std::chrono::milliseconds idle = kCallIdle;
    uint64_t seq;
    {
      std::lock_guard lock(mu);
      if (stopped) return;
      seq = ++chainSeq;
      if (stage == Stage::kDeleteWebhook) params["drop_pending_updates"] = false;
      if (stage == Stage::kSetWebhook) {
        params["url"] = webhook->url;
        params["secret_token"] = webhook->secret.reveal();
        params["allowed_updates"] = json::array{"message"};
      }
      if (stage == Stage::kPoll) {
        if (offset != 0) params["offset"] = offset;
        params["timeout"] = tuning.pollTimeout.count();
        params["allowed_updates"] = json::array{"message"};
        idle = std::chrono::duration_cast<std::chrono::milliseconds>(tuning.pollTimeout) + kCallIdle;
      }
    }
    std::weak_ptr<State> weak = weak_from_this();
    auto call = callApi(stageMethod(stage), params, idle, [weak, stage](Result<json::value> result) {
      if (auto self = weak.lock()) self->onStep(stage, std::move(result));
    });
    std::lock_guard lock(mu);
    if (seq == chainSeq) chainCall = std::move(call);
  }

  void onStep(Stage stage, Result<json::value> result) {
    if (!result) return retry(stage, result.error());
    std::vector<routing::InboundMessage> inbound;
    ChannelSink* target = nullptr;
    bool garbled = false;
    {
      std::lock_guard lock(mu);
      if (stopped) return;
      chainCall.reset();
      if (stage == Stage::kGetMe) {
        auto identity = telegram::parseBotIdentity(*result);
        if (identity) {
          bot = *identity;
          health.authenticated = true;
          spdlog::info("telegram {}: authenticated as @{} ({})", accountId, bot.username, bot.id);
        } else {
          garbled = true;
        }
      } else if (stage == Stage::kDeleteWebhook || stage == Stage::kSetWebhook) {
        backoff.succeeded();
        health.circuitOpen = false;
        setState(ChannelHealth::State::kConnected, "");
      } else if (const json::array* updates = result->if_array(); !updates) {
        garbled = true;
      } else {
        backoff.succeeded();
        health.circuitOpen = false;
        setState(ChannelHealth::State::kConnected, "");
        for (const auto& u : *updates) {
          const json::object* update = u.if_object();
          if (!update) continue;
          if (auto id = getInt(*update, "update_id")) offset = std::max(offset, *id + 1);
          auto message = telegram::inboundFromUpdate(*update, bot);
          if (!message) continue;
          message->accountId = accountId;
          inbound.push_back(std::move(*message));
        }
        if (!updates->empty()) health.lastInboundAtMs = clock->nowMs();
        health.received += static_cast<int64_t>(inbound.size());
        target = sink;
      }
    }
    if (garbled) {
      // A garbled answer is the peer's fault: retried like any failure.
      return retry(stage, Error(ErrorCode::kUpstream, fmt::format("Telegram {} answered an unexpected result: {}",
                                                                  stageMethod(stage), toJson(*result).substr(0, 200))));
    }
    if (target) {
      for (auto& m : inbound) target->onInbound(channelId, std::move(m));
    }
    if (stage == Stage::kGetMe) {
      step(webhook ? Stage::kSetWebhook : Stage::kDeleteWebhook);
    } else if (stage != Stage::kSetWebhook) {
      step(Stage::kPoll);
    }
  }

  /// Webhook mode: one delivered Update (TelegramChannel::acceptWebhookUpdate).
  Status acceptUpdate(std::string_view secretToken, std::string_view body) {
    if (!webhook) return fail(ErrorCode::kFailedPrecondition, "the Telegram account is not in webhook mode");
    if (!webhook->secret.equals(secretToken)) {
      return fail(ErrorCode::kUnauthenticated, "the webhook secret token is missing or wrong");
    }
    auto parsed = parseJson(body);
    if (!parsed || !parsed->is_object() || !getInt(parsed->as_object(), "update_id")) {
      return fail(ErrorCode::kInvalidArgument, "the webhook body is not a Telegram Update");
    }
    const json::object& update = parsed->as_object();
    std::optional<routing::InboundMessage> message;
    {
      std::lock_guard lock(mu);
      if (!started || stopped) return fail(ErrorCode::kUnavailable, "the Telegram channel is not running");
      const int64_t id = *getInt(update, "update_id");
      if (id < offset) return {};  // a redelivery
      offset = id + 1;
      health.lastInboundAtMs = clock->nowMs();
      message = telegram::inboundFromUpdate(update, bot);
      if (!message) return {};
      message->accountId = accountId;
      ++health.received;
    }
    std::weak_ptr<State> weak = weak_from_this();
    executors.io([weak, m = std::move(*message)]() mutable {
      auto self = weak.lock();
      if (!self) return;
      ChannelSink* target;
      {
        std::lock_guard lock(self->mu);
        target = self->stopped ? nullptr : self->sink;
      }
      if (target) target->onInbound(self->channelId, std::move(m));
    });
    return {};
  }

  /// Schedules the chain again after a failure of `stage`, counted and visible in health.
  void retry(Stage stage, const Error& error) {
    std::lock_guard lock(mu);
    if (stopped) return;
    chainCall.reset();
    std::chrono::milliseconds delay;
    Stage next = stage;
    ++health.reconnects;
    if (error.code == ErrorCode::kUnauthenticated || error.code == ErrorCode::kNotFound) {
      // The token was rejected (401; 404 for a malformed one): no hot retry loop.
      health.authenticated = false;
      delay = tuning.unauthorizedRetry;
      next = Stage::kGetMe;
      setState(ChannelHealth::State::kDisconnected,
               fmt::format("Telegram rejected the bot token ({}): check channels.telegram botToken or tokenFile; "
                           "next getMe in {} s",
                           error.message, delay.count() / 1000));
      spdlog::error("telegram {}: {}", accountId, health.detail);
    } else {
      delay = backoff.failed();
      if (error.code == ErrorCode::kResourceExhausted && error.retryAfterMs > 0) {
        delay = std::max(delay, std::chrono::milliseconds(error.retryAfterMs));
      }
      if (error.code == ErrorCode::kFailedPrecondition && stage == Stage::kPoll) {
        next = Stage::kDeleteWebhook;  // 409: a webhook was set meanwhile (or another poller runs)
      }
      health.circuitOpen = backoff.circuitOpen();
      setState(ChannelHealth::State::kDisconnected,
               fmt::format("{} failed ({} in a row): {}; retrying in {} ms{}", stageMethod(stage),
                           backoff.consecutiveFailures(), error.message, delay.count(),
                           health.circuitOpen ? " (circuit open)" : ""));
      spdlog::warn("telegram {}: {}", accountId, health.detail);
    }
    std::weak_ptr<State> weak = weak_from_this();
    retryTimer = executors.after(delay, [weak, next] {
      if (auto self = weak.lock()) self->step(next);
    });
  }

  /// One sendMessage attempt of the pending send `id`.
  void attemptSend(uint64_t id, json::object params, int attempt) {
    {
      std::lock_guard lock(mu);
      auto it = sends.find(id);
      if (it == sends.end()) return;  // stop() answered it
      it->second.timer.reset();
    }
    std::weak_ptr<State> weak = weak_from_this();
    auto call = callApi("sendMessage", params, kCallIdle, [weak, id, params, attempt](Result<json::value> result) {
      if (auto self = weak.lock()) self->onSent(id, params, attempt, std::move(result));
    });
    std::lock_guard lock(mu);
    if (auto it = sends.find(id); it != sends.end()) it->second.call = std::move(call);
  }

  void onSent(uint64_t id, json::object params, int attempt, Result<json::value> result) {
    std::function<void(Status)> done;
    Status outcome;
    {
      std::lock_guard lock(mu);
      auto it = sends.find(id);
      if (it == sends.end()) return;  // stop() answered it
      if (!result && result.error().code == ErrorCode::kResourceExhausted && attempt < tuning.maxSendAttempts &&
          !stopped) {
        const auto delay = std::chrono::milliseconds(std::max<int64_t>(result.error().retryAfterMs, 1000));
        spdlog::warn("telegram {}: sendMessage rate-limited ({}); attempt {} in {} ms", accountId,
                     result.error().message, attempt + 1, delay.count());
        std::weak_ptr<State> weak = weak_from_this();
        it->second.call.reset();
        it->second.timer = executors.after(delay, [weak, id, params = std::move(params), attempt]() mutable {
          if (auto self = weak.lock()) self->attemptSend(id, std::move(params), attempt + 1);
        });
        return;
      }
      done = std::move(it->second.onSent);
      sends.erase(it);
      if (result) {
        ++health.sent;
        health.lastOutboundAtMs = clock->nowMs();
      } else {
        ++health.sendFailures;
        outcome = fail(result.error());
        spdlog::warn("telegram {}: sendMessage failed: {}", accountId, result.error().toString());
      }
    }
    if (done) done(std::move(outcome));
  }

  void sendTyping(const std::string& peerId) {
    json::object params;
    params["chat_id"] = telegram::chatIdValue(peerId);
    params["action"] = "typing";
    callApi("sendChatAction", params, kCallIdle, [account = accountId](Result<json::value> result) {
      if (!result) spdlog::debug("telegram {}: sendChatAction failed: {}", account, result.error().toString());
    });
  }

  void scheduleTyping(const std::string& peerId) {
    std::weak_ptr<State> weak = weak_from_this();
    auto timer = executors.after(tuning.typingInterval, [weak, peerId] {
      auto self = weak.lock();
      if (!self) return;
      {
        std::lock_guard lock(self->mu);
        if (self->stopped || !self->typing.contains(peerId)) return;
      }
      self->sendTyping(peerId);
      self->scheduleTyping(peerId);
    });
    std::lock_guard lock(mu);
    if (auto it = typing.find(peerId); it != typing.end() && !stopped) {
      it->second = std::move(timer);
    } else {
      timer->cancel();
    }
  }
};

Result<std::unique_ptr<TelegramChannel>> TelegramChannel::create(const ChannelContext& context, TelegramTuning tuning) {
  const std::string& account = context.accountId;
  net::HttpClientPtr http = context.http;
  if (!http && context.io != nullptr) http = net::HttpClient::create(*context.io);
  if (!http) {
    return fail(ErrorCode::kFailedPrecondition, "the Telegram channel needs the gateway's HTTP client");
  }
  std::string token;
  if (auto t = getString(context.settings, "botToken"); t && !trimmed(std::string(*t)).empty()) {
    token = trimmed(std::string(*t));
  } else if (auto file = getString(context.settings, "tokenFile"); file && !file->empty()) {
    auto read = readTokenFile(account, std::string(*file));
    if (!read) return fail(read.error());
    token = std::move(*read);
  } else {
    return fail(ErrorCode::kConfigInvalid, fmt::format("{}: the Telegram channel needs a bot token (botToken or "
                                                       "tokenFile)",
                                                       settingPath(account, "botToken")));
  }
  if (token.find_first_of("/?#% \t\r\n") != std::string::npos) {
    return fail(ErrorCode::kConfigInvalid, fmt::format("{}: the bot token has characters a Bot API token never has",
                                                       settingPath(account, "botToken")));
  }
  std::string root(getString(context.settings, "apiRoot").value_or(kDefaultApiRoot));
  while (!root.empty() && root.back() == '/') root.pop_back();
  if (!root.starts_with("http://") && !root.starts_with("https://")) {
    return fail(ErrorCode::kConfigInvalid,
                fmt::format("{}: \"{}\" is not an http(s) URL", settingPath(account, "apiRoot"), root));
  }
  if (root.find("/bot") != std::string::npos && root.rfind("/bot") + 4 < root.size() &&
      root.find(':', root.rfind("/bot")) != std::string::npos) {
    return fail(ErrorCode::kConfigInvalid,
                fmt::format("{}: give the Bot API root only, without /bot<token>", settingPath(account, "apiRoot")));
  }
  std::optional<WebhookSettings> webhook;
  if (auto url = getString(context.settings, "webhookUrl"); url && !url->empty()) {
    if (!url->starts_with("https://") && !url->starts_with("http://")) {
      return fail(ErrorCode::kConfigInvalid,
                  fmt::format("{}: \"{}\" is not an http(s) URL", settingPath(account, "webhookUrl"), *url));
    }
    auto secret = getString(context.settings, "webhookSecret");
    if (!secret || !validSecretToken(*secret)) {
      return fail(ErrorCode::kConfigInvalid,
                  fmt::format("{}: webhook mode needs a secret of 1-256 characters A-Z, a-z, 0-9, _ and -",
                              settingPath(account, "webhookSecret")));
    }
    webhook = WebhookSettings{std::string(*url), security::Secret(*secret)};
  }
  if (auto path = getString(context.settings, "webhookPath"); path && !path->starts_with("/")) {
    return fail(ErrorCode::kConfigInvalid,
                fmt::format("{}: \"{}\" does not start with /", settingPath(account, "webhookPath"), *path));
  }
  auto state = std::make_shared<State>(account, std::move(root), std::move(token), std::move(webhook), tuning,
                                       std::move(http), context.executors, context.clock);
  return std::unique_ptr<TelegramChannel>(new TelegramChannel(std::move(state)));
}

Result<ChannelPtr> createTelegramChannel(const ChannelContext& context) {
  auto channel = TelegramChannel::create(context);
  if (!channel) return fail(channel.error());
  return ChannelPtr(std::move(*channel));
}

TelegramChannel::TelegramChannel(std::shared_ptr<State> state) : state_(std::move(state)) {}

TelegramChannel::~TelegramChannel() { stop(); }

Status TelegramChannel::start(ChannelSink& sink) {
  {
    std::lock_guard lock(state_->mu);
    if (state_->stopped) return fail(ErrorCode::kFailedPrecondition, "the Telegram channel was stopped");
    if (state_->started) return {};
    state_->started = true;
    state_->sink = &sink;
    state_->setState(ChannelHealth::State::kStarting, "getMe");
  }
  state_->step(Stage::kGetMe);
  return {};
}

void TelegramChannel::stop() {
  std::vector<std::function<void(Status)>> cancelled;
  std::vector<net::ClientCallPtr> calls;
  std::vector<TimerHandlePtr> timers;
  {
    std::lock_guard lock(state_->mu);
    if (state_->stopped) return;
    state_->stopped = true;
    state_->sink = nullptr;
    state_->setState(ChannelHealth::State::kStopped, "");
    if (state_->chainCall) calls.push_back(std::move(state_->chainCall));
    if (state_->retryTimer) timers.push_back(std::move(state_->retryTimer));
    for (auto& [id, s] : state_->sends) {
      if (s.call) calls.push_back(std::move(s.call));
      if (s.timer) timers.push_back(std::move(s.timer));
      cancelled.push_back(std::move(s.onSent));
    }
    state_->sends.clear();
    for (auto& [peer, t] : state_->typing) {
      if (t) timers.push_back(std::move(t));
    }
    state_->typing.clear();
  }
  for (auto& c : calls) c->cancel();
  for (auto& t : timers) t->cancel();
  for (auto& done : cancelled) {
    if (done) done(fail(ErrorCode::kCancelled, "the Telegram channel stopped before the message was confirmed"));
  }
}

void TelegramChannel::send(OutboundMessage message, std::function<void(Status)> onSent) {
  std::optional<Error> refused;
  uint64_t id = 0;
  {
    std::lock_guard lock(state_->mu);
    if (!state_->started || state_->stopped) {
      refused = Error(ErrorCode::kFailedPrecondition, "the Telegram channel is not running");
    } else if (message.peer.id.empty() || message.text.empty()) {
      refused = Error(ErrorCode::kInvalidArgument, "a Telegram message needs a chat id and text");
    }
    if (refused) {
      ++state_->health.sendFailures;
    } else {
      id = state_->nextSendId++;
      state_->sends[id] = State::PendingSend{std::move(onSent), nullptr, nullptr};
    }
  }
  if (refused) {
    if (onSent) onSent(fail(std::move(*refused)));
    return;
  }
  json::object params;
  params["chat_id"] = telegram::chatIdValue(message.peer.id);
  if (auto thread = telegram::sendThreadId(message.threadId)) params["message_thread_id"] = *thread;
  params["text"] = message.text;
  state_->attemptSend(id, std::move(params), 1);
}

void TelegramChannel::probe(std::function<void(Status)> done) {
  state_->callApi("getMe", {}, kCallIdle, [done = std::move(done)](Result<json::value> result) {
    if (!result) return done(fail(result.error()));
    auto identity = telegram::parseBotIdentity(*result);
    done(identity ? Status{} : Status(fail(identity.error())));
  });
}

ChannelHealth TelegramChannel::health() const {
  std::lock_guard lock(state_->mu);
  return state_->health;
}

ChannelCapabilities TelegramChannel::capabilities() const {
  ChannelCapabilities c;
  c.maxTextChars = kMaxTextChars;
  c.typing = true;
  return c;
}

void TelegramChannel::setTyping(const std::string& accountId, const routing::Peer& peer, bool on) {
  (void)accountId;
  TimerHandlePtr cancel;
  {
    std::lock_guard lock(state_->mu);
    if (state_->stopped || !state_->started) return;
    auto it = state_->typing.find(peer.id);
    if (!on) {
      if (it != state_->typing.end()) {
        cancel = std::move(it->second);
        state_->typing.erase(it);
      }
    } else if (it != state_->typing.end()) {
      return;  // already on: the repeat timer keeps it up
    } else {
      state_->typing.emplace(peer.id, nullptr);
    }
  }
  if (cancel) cancel->cancel();
  if (!on) return;
  state_->sendTyping(peer.id);
  state_->scheduleTyping(peer.id);
}

Status TelegramChannel::acceptWebhookUpdate(std::string_view secretToken, std::string_view body) {
  return state_->acceptUpdate(secretToken, body);
}

bool TelegramChannel::webhookMode() const { return state_->webhook.has_value(); }

const std::string& TelegramChannel::channelId() const { return state_->channelId; }

std::size_t TelegramChannel::rateLimitedSends() const {
  std::lock_guard lock(state_->mu);
  std::size_t n = 0;
  for (const auto& [id, s] : state_->sends) n += s.timer != nullptr;
  return n;
}

std::string TelegramChannel::botUsername() const {
  std::lock_guard lock(state_->mu);
  return state_->bot.username;
}

}  // namespace talon::gateway::channels
