#pragma once
// The MQTT channel adapter (Talon's own channel `channels.mqtt`; OpenClaw has none; docs/channels.md
// "MQTT"): MQTT as a trigger source and sink. One account is one MQTT 5 client connection (libmosquitto)
// to one broker. It subscribes to the configured topic filters and turns each publish into a
// routing::InboundMessage (mapMqttPublish):
//   - the sender is the topic level `senderLevel` names, else the JSON payload's "from";
//   - `session: "sender"` (default): peer {direct, <sender>}; `session: "topic"`: peer {group, <topic>};
//   - the payload is plain UTF-8 text, or a JSON object {"text": "...", "from": "..."}.
// Replies (send) are published to `replyTopic` with `{peer}` replaced by the peer id, as plain text or as
// JSON {"text", "peer", "runId"} (`replyFormat`), at the account's `qos`, not retained. Subscriptions use
// MQTT 5's no-local option, so the channel never hears its own replies even when a filter matches them.
//
// Health: transport = the broker's CONNACK accepted the connection (ChannelHealth::state kConnected);
// application = every subscription granted by its SUBACK (ChannelHealth::authenticated; a refused one
// turns the state to kDegraded with the broker's reason); functional = lastInboundAtMs (any publish
// received) / lastOutboundAtMs (a reply the broker acknowledged). A connection that fails or drops is
// retried with ReconnectBackoff; every attempt counts in ChannelHealth::reconnects.
//
// Threads: libmosquitto's network loop (the blocking connect, reads, writes, keepalive PINGREQs) runs on
// one thread of the channel's own, which owns a fresh client per connection attempt (so nothing from a
// dropped connection is resent behind the durable outbox's back). Its callbacks only update the state
// under one mutex and post the sink call and every `onSent` / probe callback onto Executors::io; they
// never block on the gateway. Reconnect timers run on Executors::after.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/mqtt_settings.h"
#include "gateway/channels/channel.h"
#include "gateway/channels/channel_registry.h"
#include "gateway/channels/reconnect_backoff.h"

namespace talon::gateway::channels {

/// The MQTT settings of one account (`channels.mqtt.accounts.<accountId>`, docs/channels.md "MQTT").
struct MqttSettings {
  config::MqttUrl broker;  // `url` (required): mqtt://host[:port] or mqtts://host[:port]
  std::string clientId;    // `clientId`: default "talon-<accountId>"
  std::string username;    // `username`: empty = none
  std::string password;    // `password` (a secret ref in config): empty = none; needs a username
  std::string caFile;      // `caFile`: PEM CA certificates for mqtts; default the system's (/etc/ssl/certs)
  std::vector<config::MqttSubscription> subscriptions;  // `subscriptions`
  std::string replyTopic = "talon/reply/{peer}";        // `replyTopic`: template, `{peer}` = the peer id
  enum class ReplyFormat { kText, kJson };
  ReplyFormat replyFormat = ReplyFormat::kText;  // `replyFormat`: "text" | "json"
  std::string probeTopic;                        // `probeTopic`: default "talon/probe/<clientId>"
  int qos = 1;                                   // `qos`: replies and subscriptions without their own
  int keepaliveSeconds = 60;                     // `keepaliveSeconds`: MQTT keep alive, 5–65535 s

  /// Reads and checks the account's settings (ChannelContext::settings). Errors: kConfigInvalid naming
  /// `channels.mqtt.accounts.<accountId>.<key>` for a missing or invalid `url`, a value of the wrong type,
  /// an invalid subscription (config::parseMqttSubscriptions), `replyTopic` or `probeTopic`, a `qos`
  /// outside 0–2, a `keepaliveSeconds` outside 5–65535, a `password` without `username`, a `caFile`
  /// that is not a readable file, or an unknown key.
  static Result<MqttSettings> parse(std::string_view accountId, const json::object& settings);
};

/// What one inbound publish says, mapped for the gateway.
struct MqttInbound {
  routing::Peer peer;
  std::string sender;
  std::string text;
};

/// Maps a publish on `topic` with `payload`, received through `subscription` (docs/channels.md "MQTT",
/// "Messages"). Errors (the publish is dropped and logged): kInvalidArgument for a payload that is not
/// UTF-8, is empty, is over 1 MiB, is a JSON object without a string "text", or a message with no
/// sender under `session: "sender"`, or a sender that is not one topic level (no '/', '+', '#').
Result<MqttInbound> mapMqttPublish(const config::MqttSubscription& subscription, std::string_view topic,
                                   std::string_view payload);

/// The payload of a reply: the text, or {"text", "peer", "runId"} (runId only when set) as JSON.
std::string renderMqttReply(MqttSettings::ReplyFormat format, const OutboundMessage& message);

/// Timeouts and pacing; the defaults are the adapter's behaviour, tests may shorten them.
struct MqttTiming {
  ReconnectBackoff::Options backoff;
  /// How long probe() waits for the broker's PUBACK.
  std::chrono::milliseconds probeTimeout{10000};
  /// A connection that stayed up this long resets the backoff when it drops; a shorter one counts as one
  /// more failure.
  std::chrono::milliseconds stableAfter{60000};
  /// How often the network loop wakes without traffic (it also wakes at once on a publish or stop).
  std::chrono::milliseconds loopInterval{1000};
};

class MqttChannel final : public Channel {
 public:
  /// A channel for `context.accountId` with `settings`; connects on start(). Errors: kFailedPrecondition
  /// without the gateway's executors; kUnavailable when libmosquitto (libmosquitto.so.1, loaded with dlopen
  /// on first use: mosquitto_library.h) cannot be loaded, naming the library and its Debian package.
  static Result<std::unique_ptr<MqttChannel>> create(const ChannelContext& context, MqttSettings settings,
                                                     MqttTiming timing = {});
  /// The registry's factory: parses ChannelContext::settings (MqttSettings::parse) and creates.
  static Result<ChannelPtr> fromContext(const ChannelContext& context);
  ~MqttChannel() override;

  std::string_view provider() const override { return "mqtt"; }
  /// Starts the network thread, which connects (asynchronously: a broker that cannot be reached is
  /// retried with backoff and shows in health()). Errors: kFailedPrecondition when already started.
  Status start(ChannelSink& sink) override;
  /// Disconnects (MQTT DISCONNECT), joins the network thread and cancels the reconnect timer; pending
  /// sends and probes fail with kCancelled. Idempotent. Must not be called from a channel callback.
  void stop() override;
  /// Publishes the reply to `replyTopic` for `message.peer`. `onSent` (on Executors::io) gets ok when the
  /// broker acknowledged it (PUBACK / PUBCOMP; at QoS 0, when it was written). Errors through `onSent`:
  /// kInvalidArgument when the peer id makes no valid topic; kUnavailable while not connected or when the
  /// connection drops first; kUpstream when the broker refuses it (its reason code).
  void send(OutboundMessage message, std::function<void(Status)> onSent) override;
  /// Drops the connection and connects again at once (the backoff timer, if any, is skipped).
  /// Errors: kFailedPrecondition before start() or after stop().
  Status restart() override;
  /// Publishes an empty QoS 1 message to `probeTopic` and runs `done` (on Executors::io) with ok when the
  /// broker acknowledges it. Errors: kUnavailable at once while not connected (with the reason) or when
  /// the connection drops first; kUpstream when the broker refuses it; kDeadlineExceeded after
  /// MqttTiming::probeTimeout; kCancelled on stop().
  void probe(std::function<void(Status)> done) override;
  ChannelHealth health() const override;
  /// Replies up to 65,536 characters travel as one message; no typing indicator.
  ChannelCapabilities capabilities() const override;

  struct State;

 private:
  explicit MqttChannel(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace talon::gateway::channels
