#include "security/audited_authenticator.h"

#include <boost/json/array.hpp>
#include <string>

namespace talon::security {

namespace json = boost::json;

Expected<Principal, ConnectAuthFailure> AuditedAuthenticator::authenticateConnect(const protocol::ConnectParams& params,
                                                                                  protocol::Role role,
                                                                                  const PeerOrigin& origin) const {
  auto result = inner_.authenticateConnect(params, role, origin);
  AuditEvent e;
  e.kind = "auth.connect";
  e.actor = std::string(protocol::roleName(role)) + ":" + params.client.id;
  e.target = "gateway";
  e.details["clientId"] = params.client.id;
  e.details["clientMode"] = protocol::clientModeName(params.client.mode);
  e.details["role"] = protocol::roleName(role);
  e.details["remoteAddress"] = origin.remoteAddress;
  if (params.device) e.details["deviceId"] = params.device->id;
  if (result) {
    e.outcome = AuditOutcome::kAllowed;
    e.details["method"] = result->method;
    if (result->proxyIdentity) e.details["user"] = result->proxyIdentity->user;
    if (result->operatorToken) {
      e.actor = "operator-token:" + result->operatorToken->name;
      e.details["tokenName"] = result->operatorToken->name;
      e.details["tokenRole"] = result->operatorToken->role;
    }
    json::array scopes;
    for (const auto& s : result->grantedScopes) scopes.emplace_back(s);
    e.details["scopes"] = std::move(scopes);
  } else {
    e.outcome = AuditOutcome::kDenied;
    const json::value* code = result.error().error.details.if_contains("code");
    e.details["reason"] = code && code->is_string() ? std::string(code->get_string()) : "unauthenticated";
    if (const json::value* why = result.error().error.details.if_contains("authReason"); why && why->is_string()) {
      e.details["authReason"] = why->get_string();
    }
    if (!result.error().operatorTokenName.empty()) {
      e.actor = "operator-token:" + result.error().operatorTokenName;
      e.details["tokenName"] = result.error().operatorTokenName;
    }
    if (!result.error().auditReason.empty()) e.details["tokenRefusal"] = result.error().auditReason;
  }
  sink_.record(std::move(e));
  return result;
}

Result<Principal> AuditedAuthenticator::authenticateHttp(std::string_view authorization,
                                                         const PeerOrigin& origin) const {
  auto result = inner_.authenticateHttp(authorization, origin);
  if (result && result->operatorToken) {
    // Every use of a named operator token is recorded, HTTP included (never the token itself).
    AuditEvent e;
    e.kind = "auth.http";
    e.actor = "operator-token:" + result->operatorToken->name;
    e.target = "gateway";
    e.outcome = AuditOutcome::kAllowed;
    e.details["remoteAddress"] = origin.remoteAddress;
    e.details["method"] = result->method;
    e.details["tokenName"] = result->operatorToken->name;
    e.details["tokenRole"] = result->operatorToken->role;
    sink_.record(std::move(e));
  }
  if (!result) {
    AuditEvent e;
    e.kind = "auth.http";
    e.actor = "http:" + std::string(origin.remoteAddress);
    e.target = "gateway";
    e.outcome = AuditOutcome::kDenied;
    e.details["remoteAddress"] = origin.remoteAddress;
    e.details["reason"] = result.error().message;  // which check failed; never the token (authenticator.h)
    sink_.record(std::move(e));
  }
  return result;
}

}  // namespace talon::security
