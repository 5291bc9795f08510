#pragma once
// The inbound path of channel messages (ARCHITECTURE.md "The path of a message"): access gate → binding
// resolver → session lane (AgentRunner) → turn → the reply delivered on the channel it came from.
#include <atomic>
#include <functional>
#include <memory>
#include <string_view>

#include "base/clock.h"
#include "config/config_model.h"
#include "gateway/agent/agent_runner.h"
#include "gateway/channels/channel.h"
#include "gateway/routing/access_gate.h"
#include "gateway/routing/agent_roster.h"

namespace talon::gateway::channels {

/// Counters of the inbound path (read by status; the metrics registry reads them too).
struct InboundStats {
  std::atomic<int64_t> received{0};        // messages offered by channels
  std::atomic<int64_t> refused{0};         // refused by the access gate
  std::atomic<int64_t> unrouted{0};        // no agent could be resolved
  std::atomic<int64_t> submitFailed{0};    // the runner refused the turn (draining, unknown agent)
  std::atomic<int64_t> delivered{0};       // replies the channel confirmed
  std::atomic<int64_t> deliveryFailed{0};  // replies the channel could not send
};

/// A ChannelSink. Thread-safe; never blocks. The referenced objects outlive it.
class InboundRouter final : public ChannelSink {
 public:
  /// `findChannel` maps a channel id to the channel that sends replies (nullptr when gone).
  InboundRouter(const config::TalonConfig& config, const routing::AgentRoster& roster, const routing::AccessGate& gate,
                AgentRunner& runner, std::function<Channel*(std::string_view)> findChannel);

  void onInbound(std::string_view channelId, routing::InboundMessage message) override;
  const InboundStats& stats() const { return stats_; }

 private:
  const config::TalonConfig& config_;
  const routing::AgentRoster& roster_;
  const routing::AccessGate& gate_;
  AgentRunner& runner_;
  std::function<Channel*(std::string_view)> findChannel_;
  std::shared_ptr<InboundStats> statsHolder_ = std::make_shared<InboundStats>();
  InboundStats& stats_ = *statsHolder_;
};

}  // namespace talon::gateway::channels
