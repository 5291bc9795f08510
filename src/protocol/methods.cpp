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

/// Talon-only methods; a name OpenClaw also has is refused by the static_assert below.
constexpr MethodSpec kTalonMethods[] = {
    row("runs.replay", "runs", "operator.admin", Scope::kAdmin, kAdvertised),  // docs/runs.md#replay
};

template <std::size_t N>
constexpr bool sortedAndUnique(const MethodSpec (&table)[N]) {
  for (std::size_t i = 1; i < N; ++i) {
    if (!(table[i - 1].name < table[i].name)) return false;
  }
  return true;
}
static_assert(sortedAndUnique(kMethods), "openclaw_methods.inc must be sorted by name without duplicates");
static_assert(sortedAndUnique(kTalonMethods), "kTalonMethods must be sorted by name without duplicates");

template <std::size_t N>
constexpr const MethodSpec* lookup(const MethodSpec (&table)[N], std::string_view method) {
  const auto* end = std::end(table);
  const auto* it = std::lower_bound(std::begin(table), end, method,
                                    [](const MethodSpec& m, std::string_view n) { return m.name < n; });
  return it != end && it->name == method ? it : nullptr;
}

constexpr bool talonNamesAreTalonOnly() {
  for (const auto& m : kTalonMethods) {
    if (lookup(kMethods, m.name) != nullptr) return false;
  }
  return true;
}
static_assert(talonNamesAreTalonOnly(), "a Talon-only method must not take a name OpenClaw's table has");

constexpr std::array<std::string_view, 4> kReservedAdminPrefixes = {"exec.approvals.", "config.", "wizard.", "update."};

}  // namespace

std::span<const MethodSpec> methodTable() { return kMethods; }

std::span<const MethodSpec> talonMethodTable() { return kTalonMethods; }

const MethodSpec* findMethod(std::string_view method) {
  if (const auto* spec = lookup(kMethods, method)) return spec;
  return lookup(kTalonMethods, method);
}

bool isReservedAdminMethod(std::string_view method) {
  return std::any_of(kReservedAdminPrefixes.begin(), kReservedAdminPrefixes.end(),
                     [&](std::string_view p) { return method.starts_with(p); });
}

namespace {
// The scope an operator needs for a method whose table entry is `spec` (null: not in the tables).
Scope requiredScopeOf(const MethodSpec* spec) {
  if (spec != nullptr && !spec->nodeOnly) return spec->requiredScope;
  // Reserved prefixes and unclassified methods both need admin (OpenClaw authorizeOperatorScopesForMethod:
  // `resolveScopedMethod(method) ?? "operator.admin"`).
  return Scope::kAdmin;
}
}  // namespace

Scope requiredScopeFor(std::string_view method) { return requiredScopeOf(findMethod(method)); }

Result<const MethodSpec*> authorize(std::string_view method, ScopeSet granted, Role role, bool implemented) {
  return authorizeFound(findMethod(method), method, granted, role, implemented);
}

Result<const MethodSpec*> authorizeFound(const MethodSpec* spec, std::string_view method, ScopeSet granted, Role role,
                                         bool implemented) {
  if (method == "health") return spec;
  const bool nodeOnly = spec != nullptr && spec->nodeOnly;
  if (nodeOnly ? role != Role::kNode : role != Role::kOperator) return fail(unauthorizedRoleError(role));
  if (role == Role::kOperator) {
    const Scope required = requiredScopeOf(spec);  // the entry found above, not a second lookup
    if (!granted.satisfies(required)) return fail(missingScopeError(required, {required}));
  }
  if (spec == nullptr) return fail(unknownMethodError(method));
  if (!implemented) return fail(unsupportedMethodError(method));
  return spec;
}

}  // namespace talon::protocol
