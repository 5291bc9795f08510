#pragma once
// The RPC method seam (ARCHITECTURE.md "Seams"): each handler registers its name, scope and params schema
// beside its code; what Talon implements, hello-ok's `features.methods` and the scope checks are derived
// from this registry and OpenClaw's method table (src/protocol/methods.h), never listed twice.
//
// Adding a method: a handler in the family file that owns it (health_methods.cpp, session_methods.cpp,
// …) and one `registry.add({...})` line there; a new family is one file plus one line in
// builtin_methods.cpp.
//
// Thread rules: fill the registry once at start-up, then share it; find(), names() and dispatch() are
// const and safe from any number of threads. Handlers run on the I/O thread that read the request and
// must not block: they post SQLite and file work to Executors::blocking and answer through the responder.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "gateway/methods/params.h"
#include "protocol/frames.h"
#include "protocol/methods.h"
#include "protocol/scopes.h"
#include "protocol/trace_context.h"

namespace talon::gateway::methods {

/// How a handler answers; implemented by the WebSocket connection (ClientSession). Thread-safe.
class RpcResponder {
 public:
  virtual ~RpcResponder() = default;
  /// Sends `res ok:true` with an already-serialized payload.
  virtual void respondOk(std::string_view id, std::string_view payloadJson) = 0;
  /// Sends `res ok:false` with the error (and a payload, e.g. a cached run outcome).
  virtual void respondError(std::string_view id, const Error& error,
                            std::optional<std::string_view> payloadJson = {}) = 0;
  /// Routes the `chat`/`agent` events of a session to this connection from now on.
  virtual void subscribeSession(const std::string& sessionKey) = 0;
};
using RpcResponderPtr = std::shared_ptr<RpcResponder>;

/// Who sent a request, as the connection knows it (for audit records and per-client budgets). A
/// connection builds its caller once at connect and shares it with every request it dispatches.
struct MethodCaller {
  std::string clientId;       // connect.params.client.id ("cli", "openclaw-control-ui", …)
  std::string remoteAddress;  // the peer's address
  /// The named operator token the connection authenticated with (its name, never the token) and its
  /// role; empty otherwise.
  std::string operatorToken;
  std::string operatorRole;
  /// The agents the caller's operator role may run (chat.send, agent); nullopt: every agent.
  std::optional<std::vector<std::string>> agents;

  /// Who the audit log and the cron and heartbeat records name for this caller: "operator:<clientId>",
  /// "operator:unknown" without a client id.
  std::string auditActor() const { return "operator:" + (clientId.empty() ? std::string("unknown") : clientId); }
};

/// One authorized request whose params passed the method's schema.
struct MethodCall {
  std::string id;         // the request id, to answer with
  json::object params;    // validated against the method's ParamsSchema
  RpcResponderPtr reply;  // never null
  /// Never null; every field empty when unknown (in-process callers). Shared with the connection and
  /// its other requests, never changed after connect.
  std::shared_ptr<const MethodCaller> caller;
  /// The request frame's W3C `traceparent` (protocol/trace_context.h), when it carried a valid one; a
  /// malformed one is ignored (the connection counts it).
  std::optional<protocol::TraceContext> trace;

  void ok(std::string_view payloadJson) const { reply->respondOk(id, payloadJson); }
  void error(const Error& e, std::optional<std::string_view> payloadJson = {}) const {
    reply->respondError(id, e, payloadJson);
  }
};

/// A method as its handler declares it.
struct MethodDefinition {
  /// OpenClaw's method name ("health", "chat.send", …); must be in OpenClaw's method table.
  std::string_view name;
  /// The scope an operator needs. Must equal the table's (protocol::requiredScopeFor): the registry
  /// refuses a definition that disagrees, so a handler cannot quietly weaken OpenClaw's rule.
  protocol::Scope scope;
  /// The closed params object.
  ParamsSchema params;
  /// Runs the request. Never blocks (see the thread rules above).
  std::function<void(const MethodCall&)> handler;
};

/// A definition as the registry holds it: with its row in the protocol's method table, so that a
/// request is authorized without searching the table again (protocol::authorizeFound).
struct RegisteredMethod : MethodDefinition {
  const protocol::MethodSpec* spec = nullptr;  // never null once registered
};

class MethodRegistry {
 public:
  /// Registers `definition`. Errors: kInvalidArgument for an empty name or handler, a name outside
  /// OpenClaw's method table, or a scope that differs from the table's; kAlreadyExists for a second
  /// definition of the same name.
  Status add(MethodDefinition definition);
  /// The definition of `method`, or nullptr when Talon does not implement it.
  const RegisteredMethod* find(std::string_view method) const;
  /// Implemented method names in OpenClaw's table order: hello-ok's `features.methods`.
  const std::vector<std::string_view>& names() const { return names_; }
  /// Validates the params of an authorized request and runs its handler; answers a validation error
  /// itself. The frame's traceparent, when valid, becomes MethodCall::trace. `definition` comes from
  /// find(); a null `caller` is an unknown one (every field empty).
  static void dispatch(const MethodDefinition& definition, protocol::RequestFrame frame, RpcResponderPtr reply,
                       std::shared_ptr<const MethodCaller> caller = nullptr);

 private:
  std::unordered_map<std::string_view, RegisteredMethod> methods_;
  std::vector<std::string_view> names_;
};

}  // namespace talon::gateway::methods
