// The channel-pairing family (OpenClaw 2026.9.6 dist `server-methods/channel-pairing`): DM pairing
// requests of channel senders, for operators holding operator.pairing.
//   channels.pairing.list {channel?, accountId?} → {accounts, requests, commandOwnerConfigured, limits}
//   channels.pairing.approve {channel, accountId, requestId, notify?} → {requestId, senderId, notification,
//   commandOwnerBootstrap}
// A request is named by OpenClaw's opaque requestId (base64url of SHA-256 over channel, account, sender and
// creation time, cut to 32 characters), never by its code. `bootstrapCommandOwner` (commands.ownerAllowFrom)
// is not supported yet; `notify` is answered "unsupported" as OpenClaw answers for a channel without
// approval notices. `channels.pairing.dismiss` is not implemented yet.
#include <ctime>

#include "base/clock.h"
#include "base/hash.h"
#include "gateway/live_config.h"
#include "gateway/methods/builtin_methods.h"
#include "gateway/routing/access_gate.h"
#include "gateway/routing/id_normalization.h"
#include "security/audit_sink.h"

namespace talon::gateway::methods {

namespace {

/// base64url without padding of the bytes written as hex in `hex`.
std::string base64UrlOfHex(std::string_view hex) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

/// OpenClaw resolveChannelPairingRequestId: sha256(`channel\0accountId\0senderId\0createdAt`), base64url,
/// first 32 characters.
std::string requestId(const store::ChannelPairingRequest& r) {
  std::string material = r.channel;
  material.push_back('\0');
  material += r.accountId;
  material.push_back('\0');
  material += r.senderId;
  material.push_back('\0');
  material += formatRfc3339Ms(r.createdAtMs);
  return base64UrlOfHex(sha256Hex(material)).substr(0, 32);
}

json::object requestJson(const store::ChannelPairingRequest& r) {
  return json::object{{"requestId", requestId(r)},
                      {"channel", r.channel},
                      {"channelLabel", r.channel},
                      {"accountId", r.accountId},
                      {"senderId", r.senderId},
                      {"senderLabel", "id"},
                      {"createdAt", formatRfc3339Ms(r.createdAtMs)},
                      {"lastSeenAt", formatRfc3339Ms(r.lastSeenAtMs)},
                      {"expiresAt", formatRfc3339Ms(r.expiresAtMs())},
                      {"notifySupported", false}};
}

std::optional<std::string> lowerParam(const json::object& params, std::string_view key) {
  auto v = getString(params, key);
  if (!v || routing::trimWhitespace(*v).empty()) return std::nullopt;
  return routing::trimLower(*v);
}

}  // namespace

Status registerChannelPairingMethods(MethodRegistry& registry, const GatewayServices& services) {
  // channels.* is reloaded live (live_config.h): read the running config on every call.
  LiveConfig* live = &services.liveConfig;
  auto& store = services.store;
  auto executors = services.executors;
  auto clock = services.clock;
  auto* audit = &services.audit;
  auto s = registry.add(
      {"channels.pairing.list",
       protocol::Scope::kPairing,
       {{"channel", ParamType::kString}, {"accountId", ParamType::kString}},
       [live, &store, executors, clock](const MethodCall& call) {
         auto channel = lowerParam(call.params, "channel");
         std::optional<std::string> account;
         if (auto a = getString(call.params, "accountId"); a && !routing::trimWhitespace(*a).empty()) {
           account = routing::normalizeAccountId(*a);
         }
         executors.blocking([live, &store, clock, call, channel, account] {
           const auto config = live->running();
           // Accounts: every configured channel account whose effective dmPolicy is "pairing".
           routing::AccessGate policies(config->config.channels, nullptr, clock);
           json::array accounts;
           for (const auto& c : config->config.channels.entries) {
             const std::string ch = routing::trimLower(c.id);
             if (channel && *channel != ch) continue;
             std::vector<std::string> ids{std::string(routing::kDefaultAccountId)};
             for (const auto& [id, acc] : c.accounts) {
               std::string n = routing::normalizeAccountId(id);
               if (n != routing::kDefaultAccountId) ids.push_back(n);
             }
             for (const auto& id : ids) {
               if (account && *account != id) continue;
               if (policies.resolve(ch, id).dmPolicy != "pairing") continue;
               accounts.push_back(json::object{
                   {"channel", ch}, {"channelLabel", c.id}, {"accountId", id}, {"notifySupported", false}});
             }
           }
           auto pending = store.channelPairing().listPending(channel, account, clock->nowMs());
           if (!pending) return call.error(pending.error());
           json::array requests;
           for (const auto& r : *pending) requests.push_back(requestJson(r));
           call.ok(json::serialize(
               json::object{{"accounts", std::move(accounts)},
                            {"requests", std::move(requests)},
                            {"commandOwnerConfigured", false},
                            {"limits", json::object{{"pendingPerAccount", store::kChannelPairingMaxPendingPerAccount},
                                                    {"ttlMs", store::kChannelPairingTtlMs}}}}));
         });
       }});
  if (!s) return s;
  return registry.add(
      {"channels.pairing.approve",
       protocol::Scope::kPairing,
       {{"channel", ParamType::kNonEmptyString, true},
        {"accountId", ParamType::kNonEmptyString, true},
        {"requestId", ParamType::kNonEmptyString, true},
        {"notify", ParamType::kBoolean},
        {"bootstrapCommandOwner", ParamType::kBoolean, false, true}},
       [&store, executors, clock, audit](const MethodCall& call) {
         const std::string channel = routing::trimLower(*getString(call.params, "channel"));
         const std::string account = routing::normalizeAccountId(*getString(call.params, "accountId"));
         const std::string wanted(*getString(call.params, "requestId"));
         const bool notify = getBool(call.params, "notify").value_or(false);
         executors.blocking([&store, clock, audit, call, channel, account, wanted, notify] {
           const int64_t now = clock->nowMs();
           auto pending = store.channelPairing().listPending(channel, account, now);
           if (!pending) return call.error(pending.error());
           const store::ChannelPairingRequest* match = nullptr;
           for (const auto& r : *pending) {
             if (requestId(r) == wanted) match = &r;
           }
           auto approved = std::make_shared<std::optional<store::ChannelPairingRequest>>();
           if (match) {
             store::WriteBatch batch;
             store::ChannelPairingRepository::approveCode(batch, match->code, channel, account, now, approved);
             if (auto w = store.write(std::move(batch)); !w) return call.error(w.error());
           }
           security::AuditEvent event;
           event.kind = "access.pairing.approve";
           event.actor = "operator";
           event.target = channel + ":" + account;
           event.outcome = *approved ? security::AuditOutcome::kAllowed : security::AuditOutcome::kDenied;
           event.details["requestId"] = wanted;
           if (*approved) event.details["senderId"] = (*approved)->senderId;
           audit->record(std::move(event));
           if (!*approved) {
             return call.error(Error(ErrorCode::kInvalidArgument, "no pending request " + wanted,
                                     "pending DM access request no longer exists"));
           }
           call.ok(json::serialize(json::object{{"requestId", wanted},
                                                {"senderId", (*approved)->senderId},
                                                {"notification", notify ? "unsupported" : "not-requested"},
                                                {"commandOwnerBootstrap", "not-requested"}}));
         });
       }});
}

}  // namespace talon::gateway::methods
