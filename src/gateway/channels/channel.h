#pragma once
// The channel seam (ARCHITECTURE.md "Seams", "The path of a message"): a Channel connects one chat
// network account (or the web chat, a webhook, the in-process loopback) to the gateway. It turns what
// arrives into routing::InboundMessage and hands it to the ChannelSink, and sends replies when asked.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "gateway/routing/inbound_message.h"

namespace talon::gateway::channels {

/// A reply (or any message) to send on a channel.
struct OutboundMessage {
  std::string accountId;  // the account to send from; empty = the default account
  routing::Peer peer;     // where to send it
  std::optional<std::string> threadId;
  std::string text;
  std::string runId;  // the run that produced it, for logs and receipts; may be empty
};

/// A channel's condition, as it reports it (read by health and status).
struct ChannelHealth {
  enum class State { kStarting, kConnected, kDegraded, kDisconnected, kStopped };
  State state = State::kStopped;
  int64_t sinceMs = 0;       // when the state began, ms since epoch
  std::string detail;        // a short reason for anything but kConnected
  int64_t received = 0;      // inbound messages handed to the sink
  int64_t sent = 0;          // outbound messages the network confirmed
  int64_t sendFailures = 0;  // outbound messages that failed
};

/// "starting" | "connected" | "degraded" | "disconnected" | "stopped".
std::string_view channelStateName(ChannelHealth::State state);

/// Where a channel delivers inbound messages: the gateway's inbound path (access gate → router → lane).
/// Thread-safe; onInbound never blocks.
class ChannelSink {
 public:
  virtual ~ChannelSink() = default;
  /// Takes one inbound message from the channel named `channelId`.
  virtual void onInbound(std::string_view channelId, routing::InboundMessage message) = 0;
};

/// One channel. Thread rules: start/stop are called by the gateway once each, in that order; send and
/// probe may be called from any thread after start; callbacks run on the channel's own threads or the
/// gateway's I/O threads and must not block.
class Channel {
 public:
  virtual ~Channel() = default;
  /// The provider name: "loopback", "webchat", "telegram", … (OpenClaw's channel ids).
  virtual std::string_view provider() const = 0;
  /// Starts receiving; inbound messages go to `sink`, which outlives the channel. Errors: kUnavailable
  /// when the network cannot be reached at all (the gateway retries), kConfigInvalid for bad settings.
  virtual Status start(ChannelSink& sink) = 0;
  /// Stops receiving and sending. Idempotent.
  virtual void stop() = 0;
  /// Sends `message`; `onSent` runs once with the network's confirmation or the failure (kUnavailable,
  /// kUpstream, kInvalidArgument for an unknown peer).
  virtual void send(OutboundMessage message, std::function<void(Status)> onSent) = 0;
  /// Checks the connection end to end now; `done` runs once with the result.
  virtual void probe(std::function<void(Status)> done) = 0;
  /// A snapshot of the channel's health.
  virtual ChannelHealth health() const = 0;
};
using ChannelPtr = std::unique_ptr<Channel>;

}  // namespace talon::gateway::channels
