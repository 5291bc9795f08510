// The devices family: device.pair.list / approve / reject / remove and device.token.rotate / revoke, with
// OpenClaw's params, scopes (operator.pairing) and payload shapes.
// Source: OpenClaw 2026.9.6 dist/devices-*.mjs (deviceHandlers, redactPairedDevice),
// dist/device-pairing-token-utils-*.mjs (summarizeDeviceTokens); reference/openclaw-wire/core-method-specs.json.
// Talon differences: a device token is never returned by these methods (Talon keeps only its hash; an
// approved or rotated token is delivered to the device itself in hello-ok at its next signed connect),
// so rotate always answers tokenDelivery "withheld-cross-device". Callers are not told apart by their own
// device yet: every caller holding operator.pairing manages every device.
// Every decision is audited (kinds device.pair.approve|reject|remove, device.token.rotate|revoke). Removing
// a device, or revoking or rotating one of its tokens, closes the device's open connections (of that
// role) with 4001 after the answer, as OpenClaw does; audited as connection.close.
#include "gateway/methods/builtin_methods.h"
#include "protocol/scopes.h"
#include "security/audit_sink.h"
#include "store/device_repository.h"

namespace talon::gateway::methods {
namespace {

json::array stringArray(const std::vector<std::string>& values) {
  json::array out;
  for (const auto& v : values) out.emplace_back(v);
  return out;
}

/// The fields OpenClaw's pending request and paired device share.
void putClaim(json::object& o, const store::DeviceClaim& c) {
  o["deviceId"] = c.deviceId;
  o["publicKey"] = c.publicKey;
  if (!c.displayName.empty()) o["displayName"] = c.displayName;
  if (!c.platform.empty()) o["platform"] = c.platform;
  if (!c.deviceFamily.empty()) o["deviceFamily"] = c.deviceFamily;
  if (!c.clientId.empty()) o["clientId"] = c.clientId;
  if (!c.clientMode.empty()) o["clientMode"] = c.clientMode;
  o["role"] = c.role;
  o["roles"] = json::array{json::value(c.role)};
  o["scopes"] = stringArray(c.scopes);
  if (!c.remoteIp.empty()) o["remoteIp"] = c.remoteIp;
}

json::object pendingJson(const store::PairingRequestRecord& r) {
  json::object o{{"requestId", r.requestId}};
  putClaim(o, r.claim);
  o["silent"] = false;
  o["ts"] = r.ts;
  return o;
}

/// OpenClaw redactPairedDevice: the device without its token strings.
json::object pairedJson(const store::PairedDeviceRecord& d, const std::vector<store::DeviceTokenRecord>& tokens) {
  json::object o;
  putClaim(o, d.claim);
  o["createdAtMs"] = d.createdAtMs;
  o["approvedAtMs"] = d.approvedAtMs;
  json::array summaries;
  for (const auto& t : tokens) {
    json::object s{{"role", t.role}, {"scopes", stringArray(t.scopes)}, {"createdAtMs", t.createdAtMs}};
    if (t.rotatedAtMs) s["rotatedAtMs"] = t.rotatedAtMs;
    if (t.revokedAtMs) s["revokedAtMs"] = t.revokedAtMs;
    if (t.lastUsedAtMs) s["lastUsedAtMs"] = t.lastUsedAtMs;
    summaries.push_back(std::move(s));
  }
  if (!summaries.empty()) o["tokens"] = std::move(summaries);
  return o;
}

std::string trimmed(const json::object& params, std::string_view key) {
  std::string_view v = params.at(key).as_string();
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return std::string(v);
}

Error invalidRequest(std::string message) { return Error(ErrorCode::kInvalidArgument, message, message); }

/// Everything a handler of this family uses.
struct DeviceDeps {
  store::Store* store;
  security::AuditSink* audit;
  ClockPtr clock;
  std::function<void(Task)> blocking;
  /// Open connections: a revoked or rotated token, or a removed device, closes the device's ones.
  PresenceRegistry* presence;

  /// Closes the open connections of `deviceId` (of `role` when given) with 4001 and `reason`, as
  /// OpenClaw's disconnectClientsForDevice does after device.token.revoke/rotate and device.pair.remove,
  /// and audits it (kind connection.close, with how many) when there were any.
  void disconnect(const std::string& deviceId, std::optional<std::string> role, const std::string& reason) const {
    const std::size_t n = presence->disconnectDevice(
        deviceId, role ? std::optional<std::string_view>(*role) : std::nullopt, kCloseCredentialRevoked, reason);
    if (n == 0) return;
    json::object details{{"reason", reason},
                         {"connections", static_cast<int64_t>(n)},
                         {"code", static_cast<int64_t>(kCloseCredentialRevoked)}};
    if (role) details["role"] = *role;
    record("connection.close", deviceId, security::AuditOutcome::kAllowed, std::move(details));
  }

  void record(std::string kind, std::string target, security::AuditOutcome outcome, json::object details = {}) const {
    security::AuditEvent e;
    e.kind = std::move(kind);
    e.actor = "operator";
    e.target = std::move(target);
    e.outcome = outcome;
    e.details = std::move(details);
    audit->record(std::move(e));
  }
};

/// A paired device with its token summaries, or a kNotFound error.
Result<json::object> pairedDevice(const DeviceDeps& d, const std::string& deviceId) {
  auto repo = d.store->devices();
  auto device = repo.getPaired(deviceId);
  if (!device) return fail(device.error());
  if (!*device) return fail(invalidRequest("unknown deviceId"));
  auto tokens = repo.tokens(deviceId);
  if (!tokens) return fail(tokens.error());
  return pairedJson(**device, *tokens);
}

}  // namespace

Status registerDeviceMethods(MethodRegistry& registry, const GatewayServices& services) {
  const DeviceDeps deps{&services.store, &services.audit, services.clock, services.executors.blocking,
                        &services.presence};
  const auto pairing = protocol::Scope::kPairing;

  if (auto s = registry.add({"device.pair.list",
                             pairing,
                             {},
                             [deps](const MethodCall& call) {
                               deps.blocking([deps, call] {
                                 auto repo = deps.store->devices();
                                 auto pending = repo.listPending(deps.clock->nowMs());
                                 if (!pending) return call.error(pending.error());
                                 auto paired = repo.listPaired();
                                 if (!paired) return call.error(paired.error());
                                 json::array pendingOut, pairedOut;
                                 for (const auto& r : *pending) pendingOut.push_back(pendingJson(r));
                                 for (const auto& p : *paired) {
                                   auto tokens = repo.tokens(p.claim.deviceId);
                                   if (!tokens) return call.error(tokens.error());
                                   auto o = pairedJson(p, *tokens);
                                   pairedOut.push_back(std::move(o));
                                 }
                                 call.ok(json::serialize(json::object{{"pending", std::move(pendingOut)},
                                                                      {"paired", std::move(pairedOut)}}));
                               });
                             }});
      !s) {
    return s;
  }

  if (auto s = registry.add(
          {"device.pair.approve",
           pairing,
           {{"requestId", ParamType::kNonEmptyString, true}},
           [deps](const MethodCall& call) {
             deps.blocking([deps, call] {
               const std::string requestId = trimmed(call.params, "requestId");
               const int64_t now = deps.clock->nowMs();
               auto pending = deps.store->devices().getPending(requestId, now);
               if (!pending) return call.error(pending.error());
               store::WriteBatch batch;
               store::DeviceRepository::approve(batch, requestId, now);
               if (auto st = deps.store->write(std::move(batch)); !st) {
                 deps.record("device.pair.approve", requestId, security::AuditOutcome::kDenied,
                             {{"reason", st.error().message}});
                 return call.error(st.error().code == ErrorCode::kNotFound ? invalidRequest("unknown requestId")
                                                                           : st.error());
               }
               const std::string deviceId = *pending ? (*pending)->claim.deviceId : std::string();
               deps.record("device.pair.approve", deviceId, security::AuditOutcome::kAllowed,
                           {{"requestId", requestId}, {"role", *pending ? (*pending)->claim.role : ""}});
               auto device = pairedDevice(deps, deviceId);
               if (!device) return call.error(device.error());
               call.ok(json::serialize(json::object{{"requestId", requestId}, {"device", std::move(*device)}}));
             });
           }});
      !s) {
    return s;
  }

  if (auto s = registry.add({"device.pair.reject",
                             pairing,
                             {{"requestId", ParamType::kNonEmptyString, true}},
                             [deps](const MethodCall& call) {
                               deps.blocking([deps, call] {
                                 const std::string requestId = trimmed(call.params, "requestId");
                                 auto pending = deps.store->devices().getPending(requestId, deps.clock->nowMs());
                                 if (!pending) return call.error(pending.error());
                                 store::WriteBatch batch;
                                 store::DeviceRepository::reject(batch, requestId);
                                 if (auto st = deps.store->write(std::move(batch)); !st || !*pending) {
                                   return call.error(!st && st.error().code != ErrorCode::kNotFound
                                                         ? st.error()
                                                         : invalidRequest("unknown requestId"));
                                 }
                                 deps.record("device.pair.reject", (*pending)->claim.deviceId,
                                             security::AuditOutcome::kAllowed, {{"requestId", requestId}});
                                 call.ok(json::serialize(
                                     json::object{{"requestId", requestId}, {"deviceId", (*pending)->claim.deviceId}}));
                               });
                             }});
      !s) {
    return s;
  }

  if (auto s = registry.add({"device.pair.remove",
                             pairing,
                             {{"deviceId", ParamType::kNonEmptyString, true}},
                             [deps](const MethodCall& call) {
                               deps.blocking([deps, call] {
                                 const std::string deviceId = trimmed(call.params, "deviceId");
                                 store::WriteBatch batch;
                                 store::DeviceRepository::remove(batch, deviceId);
                                 if (auto st = deps.store->write(std::move(batch)); !st) {
                                   return call.error(st.error().code == ErrorCode::kNotFound
                                                         ? invalidRequest("unknown deviceId")
                                                         : st.error());
                                 }
                                 deps.record("device.pair.remove", deviceId, security::AuditOutcome::kAllowed);
                                 call.ok(json::serialize(json::object{{"deviceId", deviceId}}));
                                 deps.disconnect(deviceId, std::nullopt, "device removed");
                               });
                             }});
      !s) {
    return s;
  }

  if (auto s = registry.add({"device.token.rotate",
                             pairing,
                             {{"deviceId", ParamType::kNonEmptyString, true},
                              {"role", ParamType::kNonEmptyString, true},
                              {"scopes", ParamType::kArray}},
                             [deps](const MethodCall& call) {
                               deps.blocking([deps, call] {
                                 const std::string deviceId = trimmed(call.params, "deviceId");
                                 const std::string role = trimmed(call.params, "role");
                                 const int64_t now = deps.clock->nowMs();
                                 auto tokens = deps.store->devices().tokens(deviceId);
                                 if (!tokens) return call.error(tokens.error());
                                 std::vector<std::string> scopes;
                                 for (const auto& t : *tokens) {
                                   if (t.role == role) scopes = t.scopes;
                                 }
                                 if (auto it = call.params.find("scopes"); it != call.params.end()) {
                                   std::vector<std::string> requested;
                                   for (const auto& v : it->value().as_array()) {
                                     if (!v.is_string())
                                       return call.error(invalidRequest(
                                           "invalid device.token.rotate params: at /scopes: must be string"));
                                     requested.emplace_back(v.as_string());
                                   }
                                   // A rotation may narrow the token, never widen it past what the device was approved
                                   // for.
                                   auto paired = deps.store->devices().getPaired(deviceId);
                                   if (!paired) return call.error(paired.error());
                                   const auto approved =
                                       protocol::ScopeSet::fromNames(*paired ? (*paired)->claim.scopes : scopes);
                                   for (const auto& name : requested) {
                                     auto scope = protocol::parseScope(name);
                                     if (!scope || !approved.satisfies(*scope)) {
                                       deps.record("device.token.rotate", deviceId, security::AuditOutcome::kDenied,
                                                   {{"reason", "scope-outside-approval"}, {"scope", name}});
                                       return call.error(invalidRequest("device token rotation denied"));
                                     }
                                   }
                                   scopes = std::move(requested);
                                 }
                                 store::WriteBatch batch;
                                 store::DeviceRepository::setToken(batch, deviceId, role, "", scopes, now, true);
                                 if (auto st = deps.store->write(std::move(batch)); !st) {
                                   deps.record("device.token.rotate", deviceId, security::AuditOutcome::kDenied,
                                               {{"reason", st.error().message}, {"role", role}});
                                   return call.error(st.error().code == ErrorCode::kNotFound
                                                         ? invalidRequest("device token rotation denied")
                                                         : st.error());
                                 }
                                 deps.record("device.token.rotate", deviceId, security::AuditOutcome::kAllowed,
                                             {{"role", role}, {"scopeCount", scopes.size()}});
                                 call.ok(json::serialize(json::object{{"deviceId", deviceId},
                                                                      {"role", role},
                                                                      {"scopes", stringArray(scopes)},
                                                                      {"rotatedAtMs", now},
                                                                      {"tokenDelivery", "withheld-cross-device"}}));
                                 deps.disconnect(deviceId, role, "device token rotated");
                               });
                             }});
      !s) {
    return s;
  }

  return registry.add(
      {"device.token.revoke",
       pairing,
       {{"deviceId", ParamType::kNonEmptyString, true}, {"role", ParamType::kNonEmptyString, true}},
       [deps](const MethodCall& call) {
         deps.blocking([deps, call] {
           const std::string deviceId = trimmed(call.params, "deviceId");
           const std::string role = trimmed(call.params, "role");
           const int64_t now = deps.clock->nowMs();
           store::WriteBatch batch;
           store::DeviceRepository::revokeToken(batch, deviceId, role, now);
           if (auto st = deps.store->write(std::move(batch)); !st) {
             deps.record("device.token.revoke", deviceId, security::AuditOutcome::kDenied,
                         {{"reason", st.error().message}, {"role", role}});
             return call.error(st.error().code == ErrorCode::kNotFound
                                   ? invalidRequest("device token revocation denied")
                                   : st.error());
           }
           deps.record("device.token.revoke", deviceId, security::AuditOutcome::kAllowed, {{"role", role}});
           call.ok(json::serialize(json::object{{"deviceId", deviceId}, {"role", role}, {"revokedAtMs", now}}));
           deps.disconnect(deviceId, role, "device token revoked");
         });
       }});
}

}  // namespace talon::gateway::methods
