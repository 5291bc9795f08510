#include "gateway/channels/inbound_router.h"

#include <spdlog/spdlog.h>

#include "base/ids.h"
#include "gateway/routing/binding_resolver.h"

namespace talon::gateway::channels {

InboundRouter::InboundRouter(const config::TalonConfig& config, const routing::AgentRoster& roster,
                             const routing::AccessGate& gate, AgentRunner& runner,
                             std::function<Channel*(std::string_view)> findChannel)
    : config_(config), roster_(roster), gate_(gate), runner_(runner), findChannel_(std::move(findChannel)) {}

void InboundRouter::onInbound(std::string_view channelId, routing::InboundMessage message) {
  ++stats_.received;
  auto decision = gate_.decide(message);
  if (!decision.admitted) {
    ++stats_.refused;
    spdlog::info("channel {}: message from {} refused: {}", channelId, message.sender, decision.reason);
    return;
  }
  auto route = routing::resolveBinding(config_.bindings, roster_, config_.session, message);
  if (!route) {
    ++stats_.unrouted;
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
                 stats = statsHolder_](const TurnOutcome& outcome) mutable {
    if (outcome.error) {
      // The run's failure is already an error event and a run record; the channel gets no reply text.
      return;
    }
    Channel* channel = find(id);
    if (!channel) {
      ++stats->deliveryFailed;
      spdlog::error("channel {}: run {} finished but the channel is gone; reply not delivered", id, outcome.runId);
      return;
    }
    reply.text = outcome.text;
    channel->send(std::move(reply), [id, runId = outcome.runId, stats](Status sent) {
      if (sent) {
        ++stats->delivered;
      } else {
        ++stats->deliveryFailed;
        spdlog::error("channel {}: reply of run {} not delivered: {}", id, runId, sent.error().toString());
      }
    });
  };
  if (auto s = runner_.submit(std::move(turn)); !s) {
    ++stats_.submitFailed;
    spdlog::warn("channel {}: turn not started: {}", channelId, s.error().toString());
  }
}

}  // namespace talon::gateway::channels
