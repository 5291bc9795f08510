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
#include "gateway/channels/inbound_interceptors.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "gateway/chat_commands/chat_command_registry.h"
#include "gateway/executors.h"
#include "gateway/health/metrics_registry.h"
#include "gateway/routing/access_gate.h"
#include "gateway/routing/agent_roster.h"
#include "security/audit_sink.h"

namespace talon::gateway::channels {

/// The inbound path's counters (metric handles; see kInboundMetrics in inbound_router.cpp).
struct InboundCounters {
  health::Counter received;        // messages offered by channels
  health::Counter intercepted;     // consumed by an inbound interceptor (a probe's echo)
  health::Counter refused;         // refused by the access gate
  health::Counter unrouted;        // no agent could be resolved
  health::Counter submitFailed;    // the runner refused the turn (draining, unknown agent)
  health::Counter command;         // a chat command the gateway answered itself (no turn)
  health::Counter delivered;       // replies the channel confirmed
  health::Counter deliveryFailed;  // replies the channel could not send
};

/// A ChannelSink. Thread-safe; never blocks. The referenced objects outlive it.
class InboundRouter final : public ChannelSink {
 public:
  /// `findChannel` maps a channel id to the channel a message came from (nullptr when gone): its typing
  /// indicator is turned on when the message's run starts and always off when the run ends (final,
  /// error, abort, timeout, drain — OpenClaw #97042), before the reply is handed to `outbound`, which
  /// stores it and delivers it durably (outbound_dispatcher.h). A run that fails sends no reply text; a
  /// reply counts as delivered or failed when its delivery settles. Registers the
  /// inbound metrics in `metrics` (kInboundMetrics: talon_channel_messages_total,
  /// talon_channel_replies_total, talon_access_refused_total{channel,reason}). A message the gate refuses
  /// is counted, audited through `audit` (kind "access.dm" / "access.group": channel, account, sender id,
  /// peer, policy and reason — never the text) and, under dmPolicy "pairing", answered once per pairing
  /// request with its code (sent from `executors.io`, not the store's writer thread). With `routes` (and
  /// `clock`), each message handed to the runner records its conversation as the last route of the
  /// session it was routed to (store::SessionRouteRepository; OpenClaw's session lastChannel/lastTo), for
  /// the heartbeat's targets and sessions.list; a failed write is logged. With `interceptors`, every
  /// message is first offered to them (inbound_interceptors.h): one they consume is only counted
  /// (outcome "intercepted") and goes no further. With `commands`, an admitted and routed message that
  /// invokes a chat command (chat_commands/chat_command_registry.h) starts no turn: the command runs
  /// for the message's session and its answer is delivered like a reply (outcome "command"). Errors: as
  /// MetricsRegistry::add.
  static Result<std::unique_ptr<InboundRouter>> create(
      const config::TalonConfig& config, const routing::AgentRoster& roster, const routing::AccessGate& gate,
      AgentRunner& runner, health::MetricsRegistry& metrics, security::AuditSink& audit, Executors executors,
      std::function<Channel*(std::string_view)> findChannel, OutboundDispatcher& outbound,
      store::Store* routes = nullptr, ClockPtr clock = nullptr, const InboundInterceptors* interceptors = nullptr,
      const chat_commands::ChatCommandRegistry* commands = nullptr);

  void onInbound(std::string_view channelId, routing::InboundMessage message) override;
  const InboundCounters& counters() const { return counters_; }

 private:
  InboundRouter(const config::TalonConfig& config, const routing::AgentRoster& roster, const routing::AccessGate& gate,
                AgentRunner& runner, InboundCounters counters, health::MetricFamily& accessRefused,
                security::AuditSink& audit, Executors executors, std::function<Channel*(std::string_view)> findChannel,
                OutboundDispatcher& outbound, store::Store* routes, ClockPtr clock,
                const InboundInterceptors* interceptors, const chat_commands::ChatCommandRegistry* commands);
  /// Records `message`'s conversation as the last route of `route`'s session (no-op without a store).
  void recordRoute(const routing::InboundMessage& message, const std::string& agentId, const std::string& sessionKey,
                   const std::string& channel);
  /// Counts, audits and (under pairing) answers a message the gate refused.
  void refuse(std::string_view channelId, const routing::InboundMessage& message,
              const routing::AccessDecision& decision);
  /// Audits a new pairing request and sends its code (on executors_.io).
  void answerPairing(const std::string& id, const routing::InboundMessage& message,
                     const Result<store::ChannelPairingOutcome>& outcome);

  const config::TalonConfig& config_;
  const routing::AgentRoster& roster_;
  const routing::AccessGate& gate_;
  AgentRunner& runner_;
  const InboundCounters counters_;
  health::MetricFamily& accessRefused_;
  security::AuditSink& audit_;
  Executors executors_;
  std::function<Channel*(std::string_view)> findChannel_;
  OutboundDispatcher& outbound_;
  store::Store* routes_;
  ClockPtr clock_;
  const InboundInterceptors* interceptors_;
  const chat_commands::ChatCommandRegistry* commands_;
};

}  // namespace talon::gateway::channels
