#include "gateway/channels/inbound_router.h"

#include <spdlog/spdlog.h>

#include "base/ids.h"
#include "gateway/routing/binding_resolver.h"

namespace talon::gateway::channels {

namespace {

/// The inbound path's metrics.
constexpr health::MetricSpec kInboundMetrics[] = {
    {"talon_channel_messages_total",
     health::MetricType::kCounter,
     "Inbound channel messages, by what became of them.",
     {"outcome"}},
    {"talon_channel_replies_total", health::MetricType::kCounter, "Replies sent on channels, by result.", {"result"}},
};

}  // namespace

Result<std::unique_ptr<InboundRouter>> InboundRouter::create(const config::TalonConfig& config,
                                                             const routing::AgentRoster& roster,
                                                             const routing::AccessGate& gate, AgentRunner& runner,
                                                             health::MetricsRegistry& metrics,
                                                             std::function<Channel*(std::string_view)> findChannel) {
  auto families = metrics.add(kInboundMetrics);
  if (!families) return fail(families.error());
  auto& messages = *(*families)[0];
  auto& replies = *(*families)[1];
  InboundCounters c{*messages.counter({"received"}), *messages.counter({"refused"}),
                    *messages.counter({"unrouted"}), *messages.counter({"submit_failed"}),
                    *replies.counter({"delivered"}), *replies.counter({"failed"})};
  return std::unique_ptr<InboundRouter>(new InboundRouter(config, roster, gate, runner, c, std::move(findChannel)));
}

InboundRouter::InboundRouter(const config::TalonConfig& config, const routing::AgentRoster& roster,
                             const routing::AccessGate& gate, AgentRunner& runner, InboundCounters counters,
                             std::function<Channel*(std::string_view)> findChannel)
    : config_(config),
      roster_(roster),
      gate_(gate),
      runner_(runner),
      counters_(counters),
      findChannel_(std::move(findChannel)) {}

void InboundRouter::onInbound(std::string_view channelId, routing::InboundMessage message) {
  counters_.received.inc();
  auto decision = gate_.decide(message);
  if (!decision.admitted) {
    counters_.refused.inc();
    spdlog::info("channel {}: message from {} refused: {}", channelId, message.sender, decision.reason);
    return;
  }
  auto route = routing::resolveBinding(config_.bindings, roster_, config_.session, message);
  if (!route) {
    counters_.unrouted.inc();
    spdlog::warn("channel {}: no agent for a message from {}: {}", channelId, message.sender, route.error().toString());
    return;
  }
  TurnRequest turn;
  turn.runId = newUuid();
  turn.agentId = route->agentId;
  turn.sessionKey = route->sessionKey;
  turn.message = message.text;
  turn.channel = route->channel;
  OutboundMessage reply;
  reply.accountId = message.accountId;
  reply.peer = message.peer;
  reply.threadId = message.threadId;
  reply.runId = turn.runId;
  turn.onDone = [find = findChannel_, id = std::string(channelId), reply = std::move(reply),
                 counters = counters_](const TurnOutcome& outcome) mutable {
    if (outcome.error) {
      // The run's failure is already an error event and a run record; the channel gets no reply text.
      return;
    }
    Channel* channel = find(id);
    if (!channel) {
      counters.deliveryFailed.inc();
      spdlog::error("channel {}: run {} finished but the channel is gone; reply not delivered", id, outcome.runId);
      return;
    }
    reply.text = outcome.text;
    channel->send(std::move(reply), [id, runId = outcome.runId, counters](Status sent) {
      if (sent) {
        counters.delivered.inc();
      } else {
        counters.deliveryFailed.inc();
        spdlog::error("channel {}: reply of run {} not delivered: {}", id, runId, sent.error().toString());
      }
    });
  };
  if (auto s = runner_.submit(std::move(turn)); !s) {
    counters_.submitFailed.inc();
    spdlog::warn("channel {}: turn not started: {}", channelId, s.error().toString());
  }
}

}  // namespace talon::gateway::channels
