#pragma once
// The channel seam (ARCHITECTURE.md "Seams", "The path of a message"): a Channel connects one chat
// network account (or the web chat, a webhook, the in-process loopback) to the gateway. It turns what
// arrives into routing::InboundMessage and hands it to the ChannelSink, and sends replies when asked.
#include <cstddef>
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

/// A channel's condition, as it reports it (read by health, status and the muted-channel check). The
/// three dimensions follow the health model: transport (`state`: the connection), application
/// (`authenticated`: the network accepted us — IRC welcome, IMAP login, XMPP bind, Telegram getMe) and
/// functional (traffic: `lastInboundAtMs` / `lastOutboundAtMs`).
struct ChannelHealth {
  enum class State { kStarting, kConnected, kDegraded, kDisconnected, kStopped };
  State state = State::kStopped;
  int64_t sinceMs = 0;           // when the state began, ms since epoch
  std::string detail;            // a short reason for anything but kConnected
  int64_t received = 0;          // inbound messages handed to the sink
  int64_t sent = 0;              // outbound messages the network confirmed
  int64_t sendFailures = 0;      // outbound messages that failed
  bool authenticated = false;    // the application-level handshake succeeded on the current connection
  int64_t lastInboundAtMs = 0;   // when the last inbound message (or inbound traffic) arrived; 0 = never
  int64_t lastOutboundAtMs = 0;  // when the network last confirmed an outbound message; 0 = never
  int64_t reconnects = 0;        // reconnect attempts since start (every one counted)
  bool circuitOpen = false;      // the reconnect circuit breaker is open (no attempts until it closes)
};

/// What a channel can do, for the outbound path (splitting, streaming edits, typing indicators).
struct ChannelCapabilities {
  /// The longest text one message may carry, in characters (Unicode code points); longer replies are
  /// split (code blocks kept whole where they fit). OpenClaw's per-channel `textChunkLimit` default.
  std::size_t maxTextChars = 4000;
  /// The channel shows a typing indicator (setTyping does something).
  bool typing = false;
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
  /// Drops the connection and connects again, delivering to the sink start() was given: the runtime's
  /// self-recovery of an unhealthy account (channel_manager.h, docs/channels.md "Recovery"). Called only
  /// between a successful start() and stop(). Errors: kUnsupported (the default) when the adapter cannot
  /// restart in place — the runtime then only re-verifies it with probe(); kUnavailable when the network
  /// cannot be reached now.
  virtual Status restart() {
    return fail(ErrorCode::kUnsupported, "the " + std::string(provider()) + " channel cannot restart in place");
  }
  /// Checks the connection end to end now; `done` runs once with the result.
  virtual void probe(std::function<void(Status)> done) = 0;
  /// A snapshot of the channel's health.
  virtual ChannelHealth health() const = 0;
  /// What the channel can do. The default is plain text up to 4,000 characters, no typing indicator.
  virtual ChannelCapabilities capabilities() const { return {}; }
  /// Shows (`on`) or clears the typing indicator towards `peer`. Best effort and asynchronous; the
  /// gateway always clears it when a run ends, however it ends. Default: nothing.
  virtual void setTyping(const std::string& accountId, const routing::Peer& peer, bool on) {
    (void)accountId;
    (void)peer;
    (void)on;
  }
};
using ChannelPtr = std::unique_ptr<Channel>;

}  // namespace talon::gateway::channels
