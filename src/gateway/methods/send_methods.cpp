// The send family (OpenClaw 2026.9.6 dist `server-methods/send`, SendParamsSchema): an operator sends a
// text message on a channel through the outbox (channels/outbound_dispatcher.h) — stored before it is
// sent, retried until the channel confirms.
//   send {to, message, channel?, accountId?, threadId?, idempotencyKey, …} → {runId, messageId, channel}
// As OpenClaw: `runId` is the idempotencyKey; a request repeating a key answers with that key's delivery
// and sends nothing. OpenClaw answers once the channel has confirmed; Talon answers when the first attempt
// has ended: confirmed → the result; failed → UNAVAILABLE (retryable) with details {deliveryId, state,
// attempts, nextAttemptAt} — the outbox keeps retrying, and repeating the request with the same key
// answers with the delivery as it stands then. `messageId` is the outbox's delivery id (channels confirm
// a send without a network message id). Media (mediaUrl, mediaUrls, buffer, …), replyToId, parseMode,
// sessionKey (transcript mirroring) and `silent: true` are not supported yet and are refused as such;
// agentId, gifPlayback and forceDocument only matter for media and are accepted without effect.
//
// `to`: "<kind>:<id>" with kind user|dm|direct (a direct message), group or channel, else a direct
// message to `to` as given (OpenClaw's per-channel target formats use the same prefixes).
// `channel`: the provider ("telegram"); with accountId the running channel "<provider>:<accountId>" is
// preferred. Without `channel`, the only running channel is used (OpenClaw: with exactly one channel
// configured, that channel is the default).
#include <fmt/format.h>

#include "gateway/channels/channel_set.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "gateway/methods/builtin_methods.h"
#include "gateway/routing/id_normalization.h"
#include "gateway/routing/inbound_message.h"
#include "security/audit_sink.h"

namespace talon::gateway::methods {
namespace {

/// The running channel id for (channel, accountId). Errors: kInvalidArgument as OpenClaw words them.
Result<std::string> resolveChannel(const channels::ChannelSet& set, const std::optional<std::string>& channel,
                                   const std::optional<std::string>& accountId) {
  auto running = set.snapshot();
  if (!channel) {
    if (running.size() == 1) return running[0].id;
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("send without channel: {} channels are running", running.size()),
                running.empty() ? "no channel is running" : "channel is required (more than one channel is running)");
  }
  if (accountId) {
    const std::string id = *channel + ":" + *accountId;
    if (set.find(id)) return id;
  }
  if (set.find(*channel)) return *channel;
  for (const auto& e : running) {  // a multi-account channel whose only running account was not named
    if (e.provider == *channel && !accountId) return e.id;
  }
  return fail(ErrorCode::kInvalidArgument, "unsupported channel: " + *channel, "unsupported channel: " + *channel);
}

std::string providerOf(std::string_view channelId) { return std::string(channelId.substr(0, channelId.find(':'))); }

}  // namespace

Status registerSendMethods(MethodRegistry& registry, const GatewayServices& services) {
  auto* outbound = services.outbound;
  const auto* channelSet = &services.channels;
  auto* audit = &services.audit;
  return registry.add(
      {"send",
       protocol::Scope::kWrite,
       {{"to", ParamType::kNonEmptyString, true},
        {"message", ParamType::kString},
        {"mediaUrl", ParamType::kString, false, true},
        {"mediaUrls", ParamType::kArray, false, true},
        {"buffer", ParamType::kString, false, true},
        {"filename", ParamType::kString, false, true},
        {"contentType", ParamType::kString, false, true},
        {"asVoice", ParamType::kBoolean, false, true},
        {"gifPlayback", ParamType::kBoolean},
        {"channel", ParamType::kString},
        {"accountId", ParamType::kString},
        {"agentId", ParamType::kString},
        {"replyToId", ParamType::kString, false, true},
        {"threadId", ParamType::kString},
        {"forceDocument", ParamType::kBoolean},
        {"silent", ParamType::kBoolean},
        {"parseMode", ParamType::kString, false, true},
        {"sessionKey", ParamType::kString, false, true},
        {"idempotencyKey", ParamType::kNonEmptyString, true}},
       [outbound, channelSet, audit](const MethodCall& call) {
         if (getBool(call.params, "silent").value_or(false)) return call.error(notSupportedYet("send.silent"));
         const std::string to(routing::trimWhitespace(*getString(call.params, "to")));
         const std::string text(getString(call.params, "message").value_or(""));
         if (to.empty()) {
           return call.error(Error(ErrorCode::kInvalidArgument, "send without a target",
                                   "invalid send params: at /to: must NOT have fewer than 1 characters"));
         }
         if (routing::trimWhitespace(text).empty()) {
           return call.error(Error(ErrorCode::kInvalidArgument, "send without text",
                                   "invalid send params: text or media is required"));
         }
         if (!outbound) {
           return call.error(Error(ErrorCode::kUnavailable, "no outbox is wired", "outbound delivery is unavailable"));
         }
         std::optional<std::string> channel, accountId;
         if (auto c = getString(call.params, "channel"); c && !routing::trimWhitespace(*c).empty()) {
           channel = routing::trimLower(*c);
         }
         if (auto a = getString(call.params, "accountId"); a && !routing::trimWhitespace(*a).empty()) {
           accountId = routing::normalizeAccountId(*a);
         }
         auto channelId = resolveChannel(*channelSet, channel, accountId);
         if (!channelId) return call.error(channelId.error());
         const std::string key(*getString(call.params, "idempotencyKey"));

         channels::OutboundMessage m;
         m.accountId = accountId.value_or("");
         m.peer = routing::parsePeerTarget(to);
         if (auto t = getString(call.params, "threadId"); t && !t->empty()) m.threadId = std::string(*t);
         m.text = text;

         // Who sent what to whom (never the text): an operator speaking as the gateway on a channel.
         security::AuditEvent event;
         event.kind = "channel.send";
         event.actor = call.caller->auditActor();
         event.target = *channelId + ":" + std::string(routing::peerKindName(m.peer.kind)) + ":" + m.peer.id;
         event.outcome = security::AuditOutcome::kAllowed;
         event.details["channel"] = *channelId;
         event.details["peerKind"] = std::string(routing::peerKindName(m.peer.kind));
         event.details["peerId"] = m.peer.id;
         event.details["idempotencyKey"] = key;
         if (!call.caller->remoteAddress.empty()) event.details["clientAddress"] = call.caller->remoteAddress;
         audit->record(std::move(event));

         outbound->deliver(
             *channelId, std::move(m), key,
             [call, key, provider = providerOf(*channelId)](Result<store::OutboundDelivery> first) {
               if (!first) return call.error(first.error());
               const auto& d = *first;
               if (d.state == store::DeliveryState::kSent) {
                 return call.ok(json::serialize(
                     json::object{{"runId", key}, {"messageId", d.id}, {"channel", providerOf(d.channelId)}}));
               }
               Error e(d.state == store::DeliveryState::kFailed ? ErrorCode::kUpstream : ErrorCode::kUnavailable,
                       fmt::format("delivery {} {}: {}", d.id, store::deliveryStateName(d.state), d.lastError),
                       d.state == store::DeliveryState::kFailed
                           ? "delivery failed: " + d.lastError
                           : "delivery not confirmed yet (retrying): " + d.lastError);
               e.details = json::object{{"deliveryId", d.id},
                                        {"channel", provider},
                                        {"state", std::string(store::deliveryStateName(d.state))},
                                        {"attempts", d.attempts},
                                        {"nextAttemptAt", d.nextAttemptAtMs}};
               call.error(e);
             },
             nullptr);
       }});
}

}  // namespace talon::gateway::methods
