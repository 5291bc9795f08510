#pragma once
// The method table: every OpenClaw core gateway method with the scope it needs, and the one authorization
// check used for every request. Which methods Talon implements is not data here: it is derived from the
// gateway's method registry (src/gateway/methods/), which passes it to authorize().
// Source: reference/openclaw-protocol.md §1 "Auth and scopes as observed", "Errors seen on the wire";
// reference/openclaw-wire/core-method-specs.json (482 specs, generated into openclaw_methods.inc by
// scripts/gen-openclaw-methods.py); OpenClaw 2026.9.6 dist/server-methods-*.mjs (authorizeGatewayMethod)
// and dist/method-scopes-*.mjs.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "protocol/client_info.h"
#include "protocol/scopes.h"

namespace talon::protocol {

/// One row of the method table. Thread-safe (immutable, static storage).
struct MethodSpec {
  std::string_view name;
  /// OpenClaw's handler family ("health", "config", ...); empty when it has none.
  std::string_view family;
  /// The scope as OpenClaw's spec states it: "operator.read", ..., "dynamic" or "node".
  std::string_view specScope;
  /// The scope an operator needs. For "dynamic" methods this is OpenClaw's least-privilege baseline
  /// (e.g. `agent` → operator.write); unused for node-only methods.
  Scope requiredScope;
  /// Only role "node" may call it (spec scope "node").
  bool nodeOnly;
  /// Listed by OpenClaw in hello-ok.features.methods.
  bool advertised;
  /// OpenClaw answers UNAVAILABLE for it until its sidecars have started.
  bool startupGated;
  /// Rate-limited control-plane write in OpenClaw (30 per minute).
  bool controlPlaneWrite;
};

/// The whole table (OpenClaw's 482 core methods), sorted by name.
std::span<const MethodSpec> methodTable();

/// Talon's own methods (OpenClaw has no such core method), sorted by name: each with the scope it needs,
/// advertised in hello-ok.features.methods like OpenClaw's. docs/gateway.md lists them.
std::span<const MethodSpec> talonMethodTable();

/// The row for `method` in OpenClaw's table, else in Talon's, or nullptr when neither has it.
const MethodSpec* findMethod(std::string_view method);

/// True for methods under OpenClaw's reserved admin prefixes `config.`, `exec.approvals.`, `wizard.`,
/// `update.` (dist/descriptor-*.mjs RESERVED_ADMIN_GATEWAY_METHOD_PREFIXES).
bool isReservedAdminMethod(std::string_view method);

/// The scope an operator needs to call `method`: the table's requiredScope when the method is in the
/// table (its explicit spec wins, so `config.get` needs operator.read as in OpenClaw); operator.admin for
/// a reserved-prefix method or any method the table does not classify.
Scope requiredScopeFor(std::string_view method);

/// Decides whether a connection with `role` and `granted` scopes may call `method`, in OpenClaw's order:
///  1. `health` is always allowed (even with no scopes, e.g. probe connections);
///  2. a node-only method needs role node, any other needs role operator, else INVALID_REQUEST
///     "unauthorized role: <role>";
///  3. role node skips scope checks; otherwise requiredScopeFor(method) must be satisfied, else FORBIDDEN
///     "missing scope: X" with details {code:"MISSING_SCOPE", missingScope, requiredScopes};
///  4. a method outside the table: INVALID_REQUEST "unknown method: X" (reached only with admin);
///  5. a table method Talon does not implement (`implemented` false: the caller's method registry has
///     no handler for it): INVALID_REQUEST "method X is not supported by Talon yet" with details
///     {code:"UNSUPPORTED_METHOD"}.
/// Dynamic-scope methods are checked against their baseline: `agent` needs operator.write here, but
/// OpenClaw asks operator.admin for an `agent` whose message is "/new" or "/reset" — its handler must
/// check that itself. Returns the table row on success; errors are talon::Error values ready for
/// encodeResponseError.
Result<const MethodSpec*> authorize(std::string_view method, ScopeSet granted, Role role, bool implemented);
/// authorize() for a method whose table row the caller already holds (`spec`, from findMethod(method),
/// nullptr when the tables have none): the same decision without looking the name up again. The
/// gateway's method registry keeps each implemented method's row, so a request costs no table search.
Result<const MethodSpec*> authorizeFound(const MethodSpec* spec, std::string_view method, ScopeSet granted, Role role,
                                         bool implemented);

}  // namespace talon::protocol
