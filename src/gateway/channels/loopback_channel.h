#pragma once
// The in-process loopback channel: tests inject inbound messages and read the replies the gateway sent,
// through the same path a chat network's messages take (access gate → router → lane → turn → deliver).
#include <mutex>
#include <vector>

#include "gateway/channels/channel.h"
#include "gateway/channels/channel_registry.h"

namespace talon::gateway::channels {

class LoopbackChannel final : public Channel {
 public:
  /// `accountId` is the account injected messages arrive on (and replies leave from).
  explicit LoopbackChannel(std::string accountId, ClockPtr clock);

  std::string_view provider() const override { return "loopback"; }
  Status start(ChannelSink& sink) override;
  void stop() override;
  /// Records the message as delivered and confirms at once. Errors: kFailedPrecondition when stopped.
  void send(OutboundMessage message, std::function<void(Status)> onSent) override;
  /// Reconnects at once (counted in reconnects), unless the network is down (setNetworkDown): then
  /// kUnavailable.
  Status restart() override;
  /// Fails with kUnavailable while stopped or while the network is down.
  void probe(std::function<void(Status)> done) override;
  ChannelHealth health() const override;
  /// Typing indicators (recorded, see typing()) and parts of at most setMaxTextChars() (default 4000).
  ChannelCapabilities capabilities() const override;
  /// Records the change (see typing()).
  void setTyping(const std::string& accountId, const routing::Peer& peer, bool on) override;

  /// Hands `message` to the sink as if it had arrived (its channel and accountId are set to this
  /// channel's), unless inbound is blocked (then it is dropped and nothing is counted). Errors:
  /// kFailedPrecondition before start() or after stop().
  Status inject(routing::InboundMessage message);
  /// The messages sent so far, in order. Thread-safe (a copy).
  std::vector<OutboundMessage> sent() const;
  /// Test hook: while `blocked`, the channel stays connected but inject() drops every message before it
  /// reaches the sink (a network that connects but delivers nothing: a muted channel).
  void setInboundBlocked(bool blocked);

  /// Test hook (fault injection): while `down`, a started channel reports its transport disconnected
  /// (not authenticated), probe() and restart() fail with kUnavailable and sends fail; when it comes back
  /// the channel reconnects by itself, as a network adapter's own reconnect would.
  void setNetworkDown(bool down);
  /// Test hook (fault injection): the connection drops and stays down until restart() (an adapter whose
  /// own reconnect gave up); the network itself is fine.
  void disconnect();
  /// restart() calls so far (successful or not).
  int restarts() const;

  /// One setTyping() call.
  struct TypingChange {
    std::string peerId;
    bool on = false;
  };
  /// The setTyping() calls so far, in order. Thread-safe (a copy).
  std::vector<TypingChange> typing() const;
  /// The longest message capabilities() announces, in code points (tests of reply splitting).
  void setMaxTextChars(std::size_t maxTextChars);
  /// The next `count` sends fail with `error` (recorded as send failures, nothing delivered), as a
  /// network that is down would.
  void failSends(int count, Error error);

 private:
  const std::string accountId_;
  ClockPtr clock_;
  mutable std::mutex mu_;
  ChannelSink* sink_ = nullptr;
  ChannelHealth health_;
  bool inboundBlocked_ = false;
  std::vector<OutboundMessage> sent_;
  std::vector<TypingChange> typing_;
  std::size_t maxTextChars_ = ChannelCapabilities{}.maxTextChars;
  int failSends_ = 0;
  Error failWith_;
  bool networkDown_ = false;
  int restarts_ = 0;
};

}  // namespace talon::gateway::channels
