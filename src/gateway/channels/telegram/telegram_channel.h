#pragma once
// The Telegram channel: one bot account on the Bot API (https://core.telegram.org/bots/api), over the
// gateway's HTTP client. At start it calls getMe (ChannelHealth::authenticated); in webhook mode it then
// calls setWebhook and takes updates from the gateway's webhook route; otherwise it calls deleteWebhook and
// long-polls getUpdates (offset, timeout, allowed_updates ["message"]) in a loop that never stops
// silently: every failed call is retried after a ReconnectBackoff delay, counted in
// ChannelHealth::reconnects, logged and shown in the health state and detail (OpenClaw #109634). A
// rejected token (401) leaves the channel disconnected and unauthenticated with a clear reason and is
// retried only every `unauthorizedRetry`, never in a hot loop. Replies go out with sendMessage
// (message_thread_id for forum topics), typing with sendChatAction "typing"; a 429 is honoured by waiting
// its `retry_after`. OpenClaw docs/channels/telegram.md and docs/channels/telegram/*.md.
#include <chrono>
#include <memory>
#include <string>

#include "gateway/channels/channel.h"
#include "gateway/channels/channel_registry.h"
#include "gateway/channels/reconnect_backoff.h"

namespace talon::gateway::channels {

/// The gateway path Telegram posts webhook updates to when `webhookPath` is not set (OpenClaw's default).
inline constexpr std::string_view kTelegramWebhookPath = "/telegram-webhook";

/// Timing of the Telegram channel. The defaults are the production values; tests shorten them.
struct TelegramTuning {
  /// getUpdates' `timeout` (seconds the Bot API holds a poll open when no update is waiting).
  std::chrono::seconds pollTimeout{30};
  /// Pacing of retries after failed Bot API calls (getMe, deleteWebhook, getUpdates).
  ReconnectBackoff::Options backoff;
  /// Delay before getMe is tried again after Telegram rejected the token (401).
  std::chrono::milliseconds unauthorizedRetry{300'000};
  /// sendMessage attempts for one message while Telegram answers 429 (each after its `retry_after`).
  int maxSendAttempts = 5;
  /// How often sendChatAction "typing" is repeated while the indicator is on (Telegram shows it for 5 s).
  std::chrono::milliseconds typingInterval{4'000};
};

class TelegramChannel final : public Channel {
 public:
  /// The Bot API root when `apiRoot` is not set.
  static constexpr std::string_view kDefaultApiRoot = "https://api.telegram.org";
  /// The longest text of one message (Bot API sendMessage: 1-4096 characters after entity parsing).
  static constexpr std::size_t kMaxTextChars = 4096;

  /// Builds the channel of `context.accountId` from its settings: `botToken` (resolved secret) or
  /// `tokenFile` (a regular file, not a symlink, holding the token; OpenClaw's rule), `apiRoot` (the
  /// Bot API root without `/bot<token>`, http or https; default kDefaultApiRoot), and for webhook mode
  /// `webhookUrl` (the public http(s) URL Telegram posts to), `webhookSecret` (required with it: 1-256 of
  /// A-Z a-z 0-9 _ -, the Bot API's secret_token rule) and `webhookPath` (the gateway path served,
  /// default kTelegramWebhookPath). Errors: kConfigInvalid naming `channels.telegram.accounts.<id>.<key>`
  /// for a missing token, an unreadable or symlinked tokenFile, a bad apiRoot or webhook setting;
  /// kFailedPrecondition when the context has no HTTP client.
  static Result<std::unique_ptr<TelegramChannel>> create(const ChannelContext& context, TelegramTuning tuning = {});
  ~TelegramChannel() override;

  std::string_view provider() const override { return "telegram"; }
  /// Starts the getMe → deleteWebhook → getUpdates sequence in the background and returns at once;
  /// failures show in health(), never in the return value. Errors: kFailedPrecondition after stop().
  Status start(ChannelSink& sink) override;
  /// Cancels the poll, the retry and typing timers; sends in flight complete with kCancelled. Idempotent.
  void stop() override;
  /// sendMessage to `message.peer.id` (`message_thread_id` from threadId, except the General topic "1").
  /// A 429 is retried after its `retry_after` (up to TelegramTuning::maxSendAttempts attempts); other
  /// failures are reported as telegramError maps them (kUnavailable for a network failure). Errors:
  /// kFailedPrecondition when not started or stopped; kInvalidArgument for an empty peer id or text.
  void send(OutboundMessage message, std::function<void(Status)> onSent) override;
  /// Calls getMe now; `done` gets its outcome.
  void probe(std::function<void(Status)> done) override;
  ChannelHealth health() const override;
  /// maxTextChars 4096, typing.
  ChannelCapabilities capabilities() const override;
  /// On: sendChatAction "typing" now and every TelegramTuning::typingInterval until off (Telegram has no
  /// "stop typing": the indicator ends with the next message or after 5 s).
  void setTyping(const std::string& accountId, const routing::Peer& peer, bool on) override;

  /// Webhook mode (`webhookUrl` set): takes one Update that Telegram POSTed to the gateway's webhook
  /// route (telegram_webhook_route.h). `secretToken` is the request's `X-Telegram-Bot-Api-Secret-Token`,
  /// compared with `webhookSecret` in constant time. An update already seen (update_id below the highest
  /// one + 1: Telegram redelivers until it gets a 2xx) is accepted and dropped. Errors: kUnauthenticated
  /// for a missing or wrong secret; kInvalidArgument for a body that is not a JSON Update;
  /// kFailedPrecondition when the account is not in webhook mode; kUnavailable when it is not started or
  /// stopped (Telegram delivers the update again later).
  Status acceptWebhookUpdate(std::string_view secretToken, std::string_view body);
  /// True when the account runs in webhook mode.
  bool webhookMode() const;

  /// The id this channel hands to ChannelSink::onInbound: "telegram:<accountId>" (ChannelSet's and the
  /// channel runtime's naming).
  const std::string& channelId() const;
  /// Messages waiting out a 429's `retry_after` before their next sendMessage attempt.
  std::size_t rateLimitedSends() const;
  /// The bot's username from getMe (empty before it succeeded).
  std::string botUsername() const;

  struct State;

 private:
  explicit TelegramChannel(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

/// The registry's factory (builtin_channels.cpp): TelegramChannel::create with the production tuning.
Result<ChannelPtr> createTelegramChannel(const ChannelContext& context);

}  // namespace talon::gateway::channels
