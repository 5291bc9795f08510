#include "gateway/channels/inbound_router.h"

#include <spdlog/spdlog.h>

#include "base/ids.h"
#include "gateway/routing/binding_resolver.h"
#include "store/session_route_repository.h"
#include "store/store.h"

namespace talon::gateway::channels {

namespace {

/// The inbound path's metrics.
constexpr health::MetricSpec kInboundMetrics[] = {
    {"talon_channel_messages_total",
     health::MetricType::kCounter,
     "Inbound channel messages, by what became of them.",
     {"outcome"}},
    {"talon_channel_replies_total", health::MetricType::kCounter, "Replies sent on channels, by result.", {"result"}},
    {"talon_access_refused_total",
     health::MetricType::kCounter,
     "Inbound channel messages refused by the access gate (DM/group policy, mention gating), by channel and reason.",
     {"channel", "reason"}},
};

/// Hands `reply` (of `what`: "run <id>", "command /<name>") to the outbox for channel `id` and counts how
/// its delivery settles.
void deliverInboundReply(OutboundDispatcher& outbound, const std::string& id, OutboundMessage reply, std::string what,
                         const InboundCounters& counters) {
  auto notStored = [id, what, counters](Result<store::OutboundDelivery> first) {
    if (first) return;  // settled below
    counters.deliveryFailed.inc();
    spdlog::error("channel {}: reply of {} not delivered: {}", id, what, first.error().toString());
  };
  outbound.deliver(id, std::move(reply), "", std::move(notStored),
                   [id, what, counters](Result<store::OutboundDelivery> settled) {
                     if (settled && settled->state == store::DeliveryState::kSent) {
                       counters.delivered.inc();
                     } else {
                       counters.deliveryFailed.inc();
                       spdlog::error("channel {}: reply of {} not delivered: {}", id, what,
                                     settled ? settled->lastError : settled.error().toString());
                     }
                   });
}

}  // namespace

Result<std::unique_ptr<InboundRouter>> InboundRouter::create(
    const config::TalonConfig& config, const routing::AgentRoster& roster, const routing::AccessGate& gate,
    AgentRunner& runner, health::MetricsRegistry& metrics, security::AuditSink& audit, Executors executors,
    std::function<Channel*(std::string_view)> findChannel, OutboundDispatcher& outbound, store::Store* routes,
    ClockPtr clock, const InboundInterceptors* interceptors, const chat_commands::ChatCommandRegistry* commands) {
  auto families = metrics.add(kInboundMetrics);
  if (!families) return fail(families.error());
  auto& messages = *(*families)[0];
  auto& replies = *(*families)[1];
  InboundCounters c{*messages.counter({"received"}),      *messages.counter({"intercepted"}),
                    *messages.counter({"refused"}),       *messages.counter({"unrouted"}),
                    *messages.counter({"submit_failed"}), *messages.counter({"command"}),
                    *replies.counter({"delivered"}),      *replies.counter({"failed"})};
  return std::unique_ptr<InboundRouter>(new InboundRouter(config, roster, gate, runner, c, *(*families)[2], audit,
                                                          std::move(executors), std::move(findChannel), outbound,
                                                          routes, std::move(clock), interceptors, commands));
}

InboundRouter::InboundRouter(const config::TalonConfig& config, const routing::AgentRoster& roster,
                             const routing::AccessGate& gate, AgentRunner& runner, InboundCounters counters,
                             health::MetricFamily& accessRefused, security::AuditSink& audit, Executors executors,
                             std::function<Channel*(std::string_view)> findChannel, OutboundDispatcher& outbound,
                             store::Store* routes, ClockPtr clock, const InboundInterceptors* interceptors,
                             const chat_commands::ChatCommandRegistry* commands)
    : config_(config),
      roster_(roster),
      gate_(gate),
      runner_(runner),
      counters_(counters),
      accessRefused_(accessRefused),
      audit_(audit),
      executors_(std::move(executors)),
      findChannel_(std::move(findChannel)),
      outbound_(outbound),
      routes_(clock ? routes : nullptr),
      clock_(std::move(clock)),
      interceptors_(interceptors),
      commands_(commands) {}

void InboundRouter::recordRoute(const routing::InboundMessage& message, const std::string& agentId,
                                const std::string& sessionKey, const std::string& channel) {
  if (routes_ == nullptr || message.peer.id.empty() || channel.empty()) return;
  store::SessionRouteRecord r;
  r.sessionKey = sessionKey;
  r.agentId = agentId;
  r.channel = channel;
  r.accountId = message.accountId;
  const routing::PeerKind kind = message.peer.kind;
  r.chatType = std::string(routing::peerKindName(kind));
  r.to = (kind == routing::PeerKind::kDirect ? "user:" : r.chatType + ":") + message.peer.id;
  r.threadId = message.threadId.value_or("");
  r.updatedAtMs = clock_->nowMs();
  store::WriteBatch batch;
  store::SessionRouteRepository::record(batch, std::move(r));
  routes_->submit(std::move(batch), [sessionKey](Status s) {
    if (!s) spdlog::error("session {}: the last route was not recorded: {}", sessionKey, s.error().toString());
  });
}

void InboundRouter::refuse(std::string_view channelId, const routing::InboundMessage& message,
                           const routing::AccessDecision& decision) {
  counters_.refused.inc();
  if (auto c = accessRefused_.counter({message.channel, decision.reason})) c->inc();
  const bool direct = message.peer.kind == routing::PeerKind::kDirect;
  security::AuditEvent event;
  event.kind = direct ? "access.dm" : "access.group";
  event.actor = "channel:" + message.channel + ":" + message.sender;
  event.target = message.channel + ":" + (message.accountId.empty() ? "default" : message.accountId);
  event.outcome = security::AuditOutcome::kDenied;
  event.details["channel"] = message.channel;
  event.details["accountId"] = message.accountId;
  event.details["senderId"] = message.sender;
  event.details["peerKind"] = std::string(routing::peerKindName(message.peer.kind));
  event.details["peerId"] = message.peer.id;
  event.details["policy"] = decision.policy;
  event.details["reason"] = decision.reason;
  audit_.record(std::move(event));
  spdlog::info("channel {}: message from {} refused: {} ({})", channelId, message.sender, decision.reason,
               decision.policy);
  if (!decision.pairing) return;
  routing::InboundMessage sender = message;
  sender.text.clear();  // the pairing path never keeps what a refused sender wrote
  gate_.requestPairing(sender, [this, id = std::string(channelId),
                                message = sender](Result<store::ChannelPairingOutcome> outcome) mutable {
    executors_.io([this, id = std::move(id), message = std::move(message), outcome = std::move(outcome)] {
      answerPairing(id, message, outcome);
    });
  });
}

void InboundRouter::answerPairing(const std::string& id, const routing::InboundMessage& message,
                                  const Result<store::ChannelPairingOutcome>& outcome) {
  {
    if (!outcome) {
      spdlog::error("channel {}: pairing request of {} not recorded: {}", id, message.sender,
                    outcome.error().toString());
      return;
    }
    if (!outcome->created) {
      if (outcome->code.empty()) {
        spdlog::warn("channel {}: pairing request of {} ignored: the account has {} pending requests", id,
                     message.sender, store::kChannelPairingMaxPendingPerAccount);
      }
      return;  // the code was sent when the request was created
    }
    security::AuditEvent created;
    created.kind = "access.pairing.request";
    created.actor = "channel:" + message.channel + ":" + message.sender;
    created.target = message.channel + ":" + (message.accountId.empty() ? "default" : message.accountId);
    created.outcome = security::AuditOutcome::kAllowed;
    created.details["senderId"] = message.sender;
    audit_.record(std::move(created));
    Channel* channel = findChannel_(id);
    if (!channel) {
      counters_.deliveryFailed.inc();
      spdlog::error("channel {}: the pairing code for {} cannot be sent: the channel is gone", id, message.sender);
      return;
    }
    OutboundMessage reply;
    reply.accountId = message.accountId;
    reply.peer = message.peer;
    reply.threadId = message.threadId;
    reply.text = routing::AccessGate::pairingReply(message.channel, message.sender, outcome->code);
    channel->send(std::move(reply), [id, counters = counters_](Status sent) {
      if (sent) {
        counters.delivered.inc();
      } else {
        counters.deliveryFailed.inc();
        spdlog::error("channel {}: pairing code not delivered: {}", id, sent.error().toString());
      }
    });
  }
}

void InboundRouter::onInbound(std::string_view channelId, routing::InboundMessage message) {
  counters_.received.inc();
  if (interceptors_ && interceptors_->intercept(channelId, message)) {
    counters_.intercepted.inc();
    return;
  }
  auto decision = gate_.decide(message);
  if (!decision.admitted) {
    refuse(channelId, message, decision);
    return;
  }
  auto route = routing::resolveBinding(config_.bindings, roster_, config_.session, message);
  if (!route) {
    counters_.unrouted.inc();
    spdlog::warn("channel {}: no agent for a message from {}: {}", channelId, message.sender, route.error().toString());
    return;
  }
  if (commands_ != nullptr) {
    if (auto command = commands_->match(message.text)) {
      // A chat command: the gateway answers it itself, no turn starts (chat_command_registry.h).
      counters_.command.inc();
      spdlog::info("channel {}: /{} from {} for session {}", channelId, command->spec->name, message.sender,
                   route->sessionKey);
      OutboundMessage reply;
      reply.accountId = message.accountId;
      reply.peer = message.peer;
      reply.threadId = message.threadId;
      chat_commands::ChatCommandCall call{route->agentId, route->sessionKey, route->channel, message.sender,
                                          std::move(command->args)};
      command->spec->run(std::move(call),
                         [outbound = &outbound_, id = std::string(channelId), reply = std::move(reply),
                          what = "command /" + command->spec->name, counters = counters_](std::string text) mutable {
                           reply.text = std::move(text);
                           deliverInboundReply(*outbound, id, std::move(reply), std::move(what), counters);
                         });
      recordRoute(message, route->agentId, route->sessionKey, route->channel);
      return;
    }
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
  turn.onStart = [find = findChannel_, id = std::string(channelId), account = message.accountId, peer = message.peer] {
    Channel* channel = find(id);
    if (channel && channel->capabilities().typing) channel->setTyping(account, peer, true);
  };
  turn.onDone = [find = findChannel_, outbound = &outbound_, id = std::string(channelId), reply = std::move(reply),
                 counters = counters_](const TurnOutcome& outcome) mutable {
    // However the run ended (final, error, abort, timeout, drain), the typing indicator goes off first.
    if (Channel* channel = find(id)) channel->setTyping(reply.accountId, reply.peer, false);
    if (outcome.error) {
      // The run's failure is already an error event and a run record; the channel gets no reply text.
      return;
    }
    if (outcome.text.empty()) {
      spdlog::warn("channel {}: run {} finished without text; no reply sent", id, outcome.runId);
      return;
    }
    reply.text = outcome.text;
    deliverInboundReply(*outbound, id, std::move(reply), "run " + outcome.runId, counters);
  };
  const std::string agentId = turn.agentId;
  const std::string sessionKey = turn.sessionKey;
  if (auto s = runner_.submit(std::move(turn)); !s) {
    counters_.submitFailed.inc();
    spdlog::warn("channel {}: turn not started: {}", channelId, s.error().toString());
    return;
  }
  recordRoute(message, agentId, sessionKey, route->channel);
}

}  // namespace talon::gateway::channels
