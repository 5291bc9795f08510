#include "protocol/methods.h"

#include <algorithm>
#include <array>

#include "protocol/errors.h"

namespace talon::protocol {

namespace {

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

constexpr std::array<std::string_view, 4> kReservedAdminPrefixes = {"exec.approvals.", "config.", "wizard.", "update."};

}  // namespace

std::span<const MethodSpec> methodTable() { return kMethods; }

const MethodSpec* findMethod(std::string_view method) {
  const auto* end = std::end(kMethods);
  const auto* it = std::lower_bound(std::begin(kMethods), end, method,
                                    [](const MethodSpec& m, std::string_view n) { return m.name < n; });
  return it != end && it->name == method ? it : nullptr;
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

Result<const MethodSpec*> authorize(std::string_view method, ScopeSet granted, Role role, bool implemented) {
  const MethodSpec* spec = findMethod(method);
  if (method == "health") return spec;
  const bool nodeOnly = spec != nullptr && spec->nodeOnly;
  if (nodeOnly ? role != Role::kNode : role != Role::kOperator) return fail(unauthorizedRoleError(role));
  if (role == Role::kOperator) {
    const Scope required = requiredScopeFor(method);
    if (!granted.satisfies(required)) return fail(missingScopeError(required, {required}));
  }
  if (spec == nullptr) return fail(unknownMethodError(method));
  if (!implemented) return fail(unsupportedMethodError(method));
  return spec;
}

}  // namespace talon::protocol
