#include "gateway/methods/method_registry.h"

#include <algorithm>

#include "protocol/methods.h"

namespace talon::gateway::methods {

Status MethodRegistry::add(MethodDefinition definition) {
  const std::string name(definition.name);
  if (name.empty() || !definition.handler) {
    return fail(ErrorCode::kInvalidArgument, "method registration needs a name and a handler");
  }
  const auto* spec = protocol::findMethod(definition.name);
  if (!spec) {
    return fail(ErrorCode::kInvalidArgument, "method " + name + " is in neither OpenClaw's nor Talon's method table");
  }
  if (spec->nodeOnly || protocol::requiredScopeFor(definition.name) != definition.scope) {
    return fail(ErrorCode::kInvalidArgument,
                "method " + name + " declares scope " + std::string(protocol::scopeName(definition.scope)) +
                    " but OpenClaw's table requires " +
                    std::string(protocol::scopeName(protocol::requiredScopeFor(definition.name))));
  }
  if (methods_.count(definition.name)) {
    return fail(ErrorCode::kAlreadyExists, "method " + name + " is registered twice");
  }
  auto key = spec->name;  // static storage: the table outlives the registry
  definition.name = key;
  methods_.emplace(key, RegisteredMethod{std::move(definition), spec});
  // Keep names_ in table order (OpenClaw's table, then Talon's) by inserting at the method's rank,
  // rather than rebuilding the list from both tables on every add (quadratic over ~100 methods).
  const auto rank = [](std::string_view method) {
    const auto* m = protocol::findMethod(method);
    const auto openclaw = protocol::methodTable();
    const auto talon = protocol::talonMethodTable();
    if (m >= openclaw.data() && m < openclaw.data() + openclaw.size()) return m - openclaw.data();
    return static_cast<std::ptrdiff_t>(openclaw.size()) + (m - talon.data());
  };
  const auto position = std::upper_bound(names_.begin(), names_.end(), rank(key),
                                         [&](std::ptrdiff_t r, std::string_view n) { return r < rank(n); });
  names_.insert(position, key);
  return {};
}

const RegisteredMethod* MethodRegistry::find(std::string_view method) const {
  auto it = methods_.find(method);
  return it == methods_.end() ? nullptr : &it->second;
}

void MethodRegistry::dispatch(const MethodDefinition& definition, protocol::RequestFrame frame, RpcResponderPtr reply,
                              std::shared_ptr<const MethodCaller> caller) {
  static const auto kUnknownCaller = std::make_shared<const MethodCaller>();
  if (!caller) caller = kUnknownCaller;
  auto params = validateParams(definition.name, frame.params, definition.params);
  if (!params) return reply->respondError(frame.id, params.error());
  std::optional<protocol::TraceContext> trace;
  if (frame.traceparent) trace = protocol::parseTraceparent(*frame.traceparent);
  definition.handler(
      MethodCall{std::move(frame.id), std::move(*params), std::move(reply), std::move(caller), std::move(trace)});
}

}  // namespace talon::gateway::methods
