// The channels family: `channels.status` (OpenClaw 2026.9.6 ChannelsStatusResultSchema; with no channels
// every map is empty, reference/openclaw-wire/res.channels.status.json). One entry per configured
// provider, its accounts as OpenClaw's ChannelAccountSnapshot (payloads.h channelAccountSnapshot);
// `probe: true` runs Channel::probe on every running account (of `channel` only, when given) within
// `timeoutMs` before answering.
#include <algorithm>
#include <cctype>

#include "gateway/channels/channel_manager.h"
#include "gateway/methods/builtin_methods.h"
#include "gateway/methods/payloads.h"

namespace talon::gateway::methods {
namespace {

/// The probe's time budget when the caller gives none, and its cap (ms).
constexpr int64_t kDefaultProbeTimeoutMs = 10000;
constexpr int64_t kMaxProbeTimeoutMs = 60000;
/// OpenClaw's schema caps statusIssues at 50 entries.
constexpr std::size_t kMaxStatusIssues = 50;

std::string channelLabel(const std::string& provider) {
  std::string label = provider;
  if (!label.empty()) label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
  return label;
}

std::string statusPayload(const channels::ChannelManager& runtime, const std::string& only, int64_t now) {
  json::array order;
  json::object labels, channelMap, accounts, defaults;
  json::array issues;
  for (const auto& a : runtime.status()) {
    if (!only.empty() && a.provider != only) continue;
    json::object snapshot = channelAccountSnapshot(a);
    if (!accounts.contains(a.provider)) {
      order.push_back(json::string(a.provider));
      labels[a.provider] = channelLabel(a.provider);
      accounts[a.provider] = json::array{};
    }
    if (a.isDefault) {
      defaults[a.provider] = a.accountId;
      channelMap[a.provider] = snapshot;
    }
    accounts[a.provider].as_array().push_back(snapshot);
    if (a.enabled && a.health.degradedSinceMs != 0 && issues.size() < kMaxStatusIssues) {
      const std::string kind = !a.configured                               ? "config"
                               : a.health.healthState == "unauthenticated" ? "auth"
                                                                           : "runtime";
      std::string message = a.lastError;
      if (a.health.muted) {
        message =
            "Channel reports connected, but no inbound traffic arrived within the stale-event threshold; "
            "inbound delivery may be broken.";
      } else if (message.empty()) {
        message = "Channel account is " + a.health.healthState + ".";
      }
      json::object issue{{"channel", a.provider}, {"accountId", a.accountId}, {"kind", kind}, {"message", message}};
      if (!a.health.suggestedAction.empty()) issue["fix"] = a.health.suggestedAction;
      issues.push_back(std::move(issue));
    }
  }
  return json::serialize(json::object{{"ts", now},
                                      {"channelOrder", std::move(order)},
                                      {"channelLabels", std::move(labels)},
                                      {"channelDetailLabels", json::object{}},
                                      {"channelSystemImages", json::object{}},
                                      {"channelMeta", json::array{}},
                                      {"channels", std::move(channelMap)},
                                      {"channelAccounts", std::move(accounts)},
                                      {"channelDefaultAccountId", std::move(defaults)},
                                      {"statusIssues", std::move(issues)}});
}

}  // namespace

Status registerChannelMethods(MethodRegistry& registry, const GatewayServices& services) {
  return registry.add(
      {"channels.status",
       protocol::Scope::kRead,
       {{"probe", ParamType::kBoolean}, {"timeoutMs", ParamType::kInteger}, {"channel", ParamType::kNonEmptyString}},
       [&runtime = services.channelRuntime, clock = services.clock](const MethodCall& call) {
         const std::string only(getString(call.params, "channel").value_or(""));
         if (!getBool(call.params, "probe").value_or(false)) {
           call.ok(statusPayload(runtime, only, clock->nowMs()));
           return;
         }
         const int64_t timeoutMs = std::clamp<int64_t>(
             getInt(call.params, "timeoutMs").value_or(kDefaultProbeTimeoutMs), 0, kMaxProbeTimeoutMs);
         runtime.probe(only, std::chrono::milliseconds(timeoutMs),
                       [&runtime, clock, call, only] { call.ok(statusPayload(runtime, only, clock->nowMs())); });
       }});
}

}  // namespace talon::gateway::methods
