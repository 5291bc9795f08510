#include "gateway/channels/loopback_channel.h"

namespace talon::gateway::channels {

LoopbackChannel::LoopbackChannel(std::string accountId, ClockPtr clock)
    : accountId_(std::move(accountId)), clock_(std::move(clock)) {
  health_.sinceMs = clock_->nowMs();
}

Status LoopbackChannel::start(ChannelSink& sink) {
  std::lock_guard lock(mu_);
  sink_ = &sink;
  health_.state = ChannelHealth::State::kConnected;
  health_.sinceMs = clock_->nowMs();
  health_.detail.clear();
  health_.authenticated = true;  // nothing to log in to
  return {};
}

void LoopbackChannel::stop() {
  std::lock_guard lock(mu_);
  sink_ = nullptr;
  health_.authenticated = false;
  if (health_.state != ChannelHealth::State::kStopped) {
    health_.state = ChannelHealth::State::kStopped;
    health_.sinceMs = clock_->nowMs();
  }
}

void LoopbackChannel::send(OutboundMessage message, std::function<void(Status)> onSent) {
  Status result;
  {
    std::lock_guard lock(mu_);
    if (!sink_) {
      ++health_.sendFailures;
      result = fail(ErrorCode::kFailedPrecondition, "the loopback channel is stopped");
    } else if (networkDown_) {
      ++health_.sendFailures;
      result = fail(ErrorCode::kUnavailable, "the loopback network is down");
    } else if (failSends_ > 0) {
      --failSends_;
      ++health_.sendFailures;
      result = fail(failWith_);
    } else {
      ++health_.sent;
      health_.lastOutboundAtMs = clock_->nowMs();
      sent_.push_back(std::move(message));
    }
  }
  if (onSent) onSent(std::move(result));
}

void LoopbackChannel::probe(std::function<void(Status)> done) {
  Status result;
  {
    std::lock_guard lock(mu_);
    if (!sink_) {
      result = fail(ErrorCode::kUnavailable, "the loopback channel is stopped");
    } else if (networkDown_) {
      result = fail(ErrorCode::kUnavailable, "the loopback network is down");
    }
  }
  done(std::move(result));
}

Status LoopbackChannel::restart() {
  std::lock_guard lock(mu_);
  ++restarts_;
  ++health_.reconnects;
  if (!sink_) return fail(ErrorCode::kFailedPrecondition, "the loopback channel is not started");
  if (networkDown_) return fail(ErrorCode::kUnavailable, "the loopback network is down");
  health_.state = ChannelHealth::State::kConnected;
  health_.sinceMs = clock_->nowMs();
  health_.detail.clear();
  health_.authenticated = true;
  return {};
}

void LoopbackChannel::setNetworkDown(bool down) {
  std::lock_guard lock(mu_);
  networkDown_ = down;
  if (!sink_) return;
  health_.state = down ? ChannelHealth::State::kDisconnected : ChannelHealth::State::kConnected;
  health_.sinceMs = clock_->nowMs();
  health_.detail = down ? "the loopback network is down" : "";
  health_.authenticated = !down;
}

void LoopbackChannel::disconnect() {
  std::lock_guard lock(mu_);
  if (!sink_) return;
  health_.state = ChannelHealth::State::kDisconnected;
  health_.sinceMs = clock_->nowMs();
  health_.detail = "the loopback connection dropped";
  health_.authenticated = false;
}

int LoopbackChannel::restarts() const {
  std::lock_guard lock(mu_);
  return restarts_;
}

ChannelHealth LoopbackChannel::health() const {
  std::lock_guard lock(mu_);
  return health_;
}

Status LoopbackChannel::inject(routing::InboundMessage message) {
  ChannelSink* sink;
  {
    std::lock_guard lock(mu_);
    if (!sink_) return fail(ErrorCode::kFailedPrecondition, "the loopback channel is not started");
    if (inboundBlocked_) return {};
    sink = sink_;
    ++health_.received;
    health_.lastInboundAtMs = clock_->nowMs();
  }
  message.channel = "loopback";
  message.accountId = accountId_;
  sink->onInbound("loopback", std::move(message));
  return {};
}

std::vector<OutboundMessage> LoopbackChannel::sent() const {
  std::lock_guard lock(mu_);
  return sent_;
}

ChannelCapabilities LoopbackChannel::capabilities() const {
  std::lock_guard lock(mu_);
  return ChannelCapabilities{maxTextChars_, true};
}

void LoopbackChannel::setTyping(const std::string& accountId, const routing::Peer& peer, bool on) {
  (void)accountId;
  std::lock_guard lock(mu_);
  typing_.push_back(TypingChange{peer.id, on});
}

std::vector<LoopbackChannel::TypingChange> LoopbackChannel::typing() const {
  std::lock_guard lock(mu_);
  return typing_;
}

void LoopbackChannel::setMaxTextChars(std::size_t maxTextChars) {
  std::lock_guard lock(mu_);
  maxTextChars_ = maxTextChars;
}

void LoopbackChannel::failSends(int count, Error error) {
  std::lock_guard lock(mu_);
  failSends_ = count;
  failWith_ = std::move(error);
}

void LoopbackChannel::setInboundBlocked(bool blocked) {
  std::lock_guard lock(mu_);
  inboundBlocked_ = blocked;
}

}  // namespace talon::gateway::channels
