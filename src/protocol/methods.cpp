#include "protocol/methods.h"

#include <algorithm>
#include <array>

#include "protocol/errors.h"

namespace talon::protocol {

namespace {

// Methods Talon implements. Each one's scope comes from the spec row (checked by methods_test.cpp).
constexpr std::array<std::string_view, 11> kTalonImplemented = {
    "health",       "status", "system-presence", "agents.list", "sessions.list", "chat.send",
    "chat.history", "agent",  "config.get",      "models.list", "logs.tail",
};

constexpr bool isTalonImplemented(std::string_view name) {
  for (auto n : kTalonImplemented) {
    if (n == name) return true;
  }
  return false;
}

enum Flag : unsigned {
  kNodeOnly = 1u << 0,
  kAdvertised = 1u << 1,
  kStartupGated = 1u << 2,
  kControlPlaneWrite = 1u << 3,
};

constexpr MethodSpec row(std::string_view name, std::string_view family, std::string_view specScope, Scope required,
                         unsigned flags) {
  return MethodSpec{
      .name = name,
      .family = family,
      .specScope = specScope,
      .requiredScope = required,
      .nodeOnly = (flags & kNodeOnly) != 0,
      .advertised = (flags & kAdvertised) != 0,
      .startupGated = (flags & kStartupGated) != 0,
      .controlPlaneWrite = (flags & kControlPlaneWrite) != 0,
      .implemented = isTalonImplemented(name),
  };
}

constexpr MethodSpec kMethods[] = {
#include "protocol/openclaw_methods.inc"
};

constexpr bool sortedAndUnique() {
  for (std::size_t i = 1; i < std::size(kMethods); ++i) {
    if (!(kMethods[i - 1].name < kMethods[i].name)) return false;
  }
  return true;
}
static_assert(sortedAndUnique(), "openclaw_methods.inc must be sorted by name without duplicates");

constexpr bool everyImplementedMethodIsInTheTable() {
  for (auto n : kTalonImplemented) {
    bool found = false;
    for (const auto& m : kMethods) found = found || m.name == n;
    if (!found) return false;
  }
  return true;
}
static_assert(everyImplementedMethodIsInTheTable(), "a Talon method is missing from openclaw_methods.inc");

constexpr std::array<std::string_view, 4> kReservedAdminPrefixes = {"exec.approvals.", "config.", "wizard.", "update."};

}  // namespace

std::span<const MethodSpec> methodTable() { return kMethods; }

const MethodSpec* findMethod(std::string_view method) {
  const auto* end = std::end(kMethods);
  const auto* it = std::lower_bound(std::begin(kMethods), end, method,
                                    [](const MethodSpec& m, std::string_view n) { return m.name < n; });
  return it != end && it->name == method ? it : nullptr;
}

std::vector<std::string_view> implementedMethodNames() {
  std::vector<std::string_view> names;
  names.reserve(kTalonImplemented.size());
  for (const auto& m : kMethods) {
    if (m.implemented) names.push_back(m.name);
  }
  return names;
}

bool isReservedAdminMethod(std::string_view method) {
  return std::any_of(kReservedAdminPrefixes.begin(), kReservedAdminPrefixes.end(),
                     [&](std::string_view p) { return method.starts_with(p); });
}

Scope requiredScopeFor(std::string_view method) {
  if (const auto* spec = findMethod(method); spec && !spec->nodeOnly) return spec->requiredScope;
  // Reserved prefixes and unclassified methods both need admin (OpenClaw authorizeOperatorScopesForMethod:
  // `resolveScopedMethod(method) ?? "operator.admin"`).
  return Scope::kAdmin;
}

Result<const MethodSpec*> authorize(std::string_view method, ScopeSet granted, Role role) {
  const MethodSpec* spec = findMethod(method);
  if (method == "health") return spec;
  const bool nodeOnly = spec != nullptr && spec->nodeOnly;
  if (nodeOnly ? role != Role::kNode : role != Role::kOperator) return fail(unauthorizedRoleError(role));
  if (role == Role::kOperator) {
    const Scope required = requiredScopeFor(method);
    if (!granted.satisfies(required)) return fail(missingScopeError(required, {required}));
  }
  if (spec == nullptr) return fail(unknownMethodError(method));
  if (!spec->implemented) return fail(unsupportedMethodError(method));
  return spec;
}

}  // namespace talon::protocol
