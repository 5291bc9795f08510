#pragma once
// Operator scopes: the closed set, their implications, and the scopes a connection is granted.
// Source: reference/openclaw-protocol.md §1 "Auth and scopes as observed", and OpenClaw 2026.9.6
// dist/operator-scopes-*.mjs (KNOWN_OPERATOR_SCOPES), dist/operator-scope-compat-*.mjs
// (operatorScopeSatisfied), dist/node-connect-reconcile-*.mjs (shouldPreserveLocalCliSharedAuthScopes,
// shouldSkipLocalBackendSelfPairing).
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/client_info.h"

namespace talon::protocol {

/// One operator scope. kSessionsRead/kSessionsWrite are OpenClaw's session-bound scopes
/// ("operator.sessions.read|write"); one core method (sessions.github.publish) requires the latter.
enum class Scope : uint8_t {
  kRead,
  kWrite,
  kAdmin,
  kApprovals,
  kQuestions,
  kPairing,
  kTalk,
  kTalkSecrets,
  kSessionsRead,
  kSessionsWrite,
};

/// Wire name of a scope ("operator.read", ...).
std::string_view scopeName(Scope scope);
/// Parses a wire scope name; nullopt for anything outside the closed set (exact match).
std::optional<Scope> parseScope(std::string_view name);

/// A set of granted scopes, as a bitmask (cheap to copy and test on every request).
class ScopeSet {
 public:
  ScopeSet() = default;
  /// The known scopes among `names`; unknown strings are ignored (OpenClaw normalizeOperatorScopeList).
  static ScopeSet fromNames(std::span<const std::string> names);
  static ScopeSet of(std::initializer_list<Scope> scopes);

  void add(Scope s) { bits_ |= bit(s); }
  /// Literal membership (no implication).
  bool has(Scope s) const { return (bits_ & bit(s)) != 0; }
  bool empty() const { return bits_ == 0; }
  /// True when these granted scopes satisfy `required`, with OpenClaw's implications: admin implies
  /// every scope; write implies read, talk, sessions.read and sessions.write; read and sessions.write
  /// imply sessions.read. (OpenClaw operatorScopeSatisfied.)
  bool satisfies(Scope required) const;
  bool operator==(const ScopeSet&) const = default;

 private:
  static constexpr uint16_t bit(Scope s) { return static_cast<uint16_t>(1u << static_cast<unsigned>(s)); }
  uint16_t bits_ = 0;
};

/// Inputs of grantScopes, explicit so the rule is testable without a socket.
struct ScopeGrantInput {
  /// The peer connected over loopback (127.0.0.1 / ::1) without proxy or browser-origin headers.
  bool isLoopback = false;
  /// The connect was authenticated by the gateway's shared secret (auth.token or auth.password matched).
  bool sharedSecretAuth = false;
  std::string_view clientId;
  ClientMode clientMode = ClientMode::kCli;
  /// The connection's role: only `operator` holds operator scopes.
  Role role = Role::kOperator;
  /// `connect.params.scopes` as sent.
  std::span<const std::string> requested;
};

/// The scopes an operator connection without a verified device identity is granted. On loopback with
/// the shared secret, `cli`/`cli` and `gateway-client`/`backend` keep the scopes they requested that
/// exist (grantableScopes: operator.admin included); everything else, including any `mode:"probe"`
/// client, gets []. Source: reference/openclaw-protocol.md §1 "Auth and scopes as observed".
/// Talon differs from OpenClaw on purpose: OpenClaw echoes unknown requested names ("bogus.scope") in
/// hello-ok and grants operator scopes to role node; Talon grants neither (issue 6).
std::vector<std::string> grantScopes(const ScopeGrantInput& in);

/// The requested scopes a connection with `role` may hold: for role operator the names of the closed
/// operator set (parseScope), in the order sent, duplicates dropped; for node and worker none (they
/// are authorized by role, not by operator scopes).
std::vector<std::string> grantableScopes(Role role, std::span<const std::string> requested);

}  // namespace talon::protocol
