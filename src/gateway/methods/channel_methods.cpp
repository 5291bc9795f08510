// The channels family: `channels.status` (OpenClaw 2026.9.6 ChannelsStatusResultSchema; with no channels
// every map is empty, reference/openclaw-wire/res.channels.status.json). One entry per configured
// provider, its accounts as OpenClaw's ChannelAccountSnapshot (payloads.h channelAccountSnapshot);
// `probe: true` runs Channel::probe on every running account (of `channel` only, when given) within
// `timeoutMs` before answering.
//
// `channels.start` / `channels.stop` / `channels.logout` (scope operator.admin; params {channel, accountId?},
// OpenClaw 2026.9.6 ChannelsStartParamsSchema & co.; results as OpenClaw's server-methods/channels.ts:
// {channel, accountId, started, outcome}, {channel, accountId, stopped}, {channel, accountId, cleared,
// loggedOut}) run the account lifecycle of the channel runtime (channel_manager.h) on the blocking pool.
// docs/channels.md "Lifecycle".
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>

#include "gateway/channels/channel_manager.h"
#include "gateway/methods/builtin_methods.h"
#include "gateway/methods/payloads.h"
#include "gateway/routing/id_normalization.h"

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

/// The {channel, accountId?} params of the lifecycle methods: the channel normalised as OpenClaw's
/// normalizeChannelId (trimmed, lower case); an empty accountId names the default account.
struct AccountParams {
  std::string channel;
  std::optional<std::string> accountId;
};

Result<AccountParams> accountParams(const MethodCall& call, std::string_view method) {
  AccountParams p;
  p.channel = routing::trimLower(getString(call.params, "channel").value_or(""));
  if (p.channel.empty()) {
    const std::string message = fmt::format("invalid {} channel", method);
    return fail(ErrorCode::kInvalidArgument, message, message);
  }
  if (auto a = getString(call.params, "accountId")) {
    std::string id(routing::trimWhitespace(*a));
    if (!id.empty()) p.accountId = std::move(id);
  }
  return p;
}

json::object startResult(const channels::AccountStartResult& r) {
  json::object outcome{{"status", r.status}};
  if (!r.reason.empty()) outcome["reason"] = r.reason;
  json::object out{{"channel", r.provider}, {"accountId", r.accountId}, {"started", r.started}, {"outcome", outcome}};
  if (r.alreadyRunning) out["alreadyRunning"] = true;
  if (!r.lastError.empty()) out["lastError"] = r.lastError;
  return out;
}

/// Registers one lifecycle method: parses the params, runs `action` on the blocking pool, answers with its
/// payload or its error.
Status addLifecycleMethod(MethodRegistry& registry, const GatewayServices& services, std::string_view name,
                          std::function<Result<json::object>(channels::ChannelManager&, const AccountParams&)> action) {
  return registry.add({name,
                       protocol::Scope::kAdmin,
                       {{"channel", ParamType::kNonEmptyString, true}, {"accountId", ParamType::kString}},
                       [&runtime = services.channelRuntime, executors = services.executors, name,
                        action = std::move(action)](const MethodCall& call) {
                         auto params = accountParams(call, name);
                         if (!params) return call.error(params.error());
                         executors.blocking([&runtime, call, action, p = std::move(*params)] {
                           auto result = action(runtime, p);
                           if (!result) return call.error(result.error());
                           call.ok(json::serialize(*result));
                         });
                       }});
}

}  // namespace

Status registerChannelMethods(MethodRegistry& registry, const GatewayServices& services) {
  auto s = registry.add(
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
  if (!s) return s;
  s = addLifecycleMethod(registry, services, "channels.start",
                         [](channels::ChannelManager& runtime, const AccountParams& p) -> Result<json::object> {
                           auto r = runtime.startAccount(p.channel, p.accountId);
                           if (!r) return fail(r.error());
                           return startResult(*r);
                         });
  if (!s) return s;
  s = addLifecycleMethod(
      registry, services, "channels.stop",
      [](channels::ChannelManager& runtime, const AccountParams& p) -> Result<json::object> {
        auto r = runtime.stopAccount(p.channel, p.accountId);
        if (!r) return fail(r.error());
        json::object out{{"channel", r->provider}, {"accountId", r->accountId}, {"stopped", r->stopped}};
        if (r->alreadyStopped) out["alreadyStopped"] = true;
        return out;
      });
  if (!s) return s;
  return addLifecycleMethod(registry, services, "channels.logout",
                            [](channels::ChannelManager& runtime, const AccountParams& p) -> Result<json::object> {
                              auto r = runtime.logoutAccount(p.channel, p.accountId);
                              if (!r) return fail(r.error());
                              return json::object{{"channel", r->provider},
                                                  {"accountId", r->accountId},
                                                  {"cleared", r->cleared},
                                                  {"loggedOut", r->loggedOut}};
                            });
}

}  // namespace talon::gateway::methods
