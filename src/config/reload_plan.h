#pragma once
// The reload planner: which changed config paths the running gateway can take without a restart.
// OpenClaw's rule (docs/gateway/configuration/hot-reload.md, dist `config-reload-plan-*.mjs`): every
// changed path is classified by the rule with the longest matching prefix (a `*` segment matches any one
// segment); a path no rule matches needs a restart. Talon's table lists what Talon applies live today
// (docs/config.md "Reload"); it is smaller than OpenClaw's, because Talon builds its agent directory,
// router, providers and channels at start-up. Pure data and functions; thread-safe.
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace talon::config {

/// What a changed path needs (OpenClaw's kinds).
enum class ReloadKind {
  kNone,     // nothing to do beyond updating the config snapshot
  kHot,      // applied to the running gateway
  kRestart,  // takes effect only after a restart
};

/// "none", "hot", "restart".
std::string_view reloadKindName(ReloadKind kind);

/// One rule of the table.
struct ReloadRule {
  std::string_view prefix;  // dot path; a `*` segment matches any one segment
  ReloadKind kind;
};

/// Talon's rules.
std::span<const ReloadRule> reloadRules();

/// True when `path` is `prefix` or lies under it (OpenClaw matchesReloadPrefix).
bool matchesReloadPrefix(std::string_view path, std::string_view prefix);

/// The kind of one changed path under `rules` (longest prefix; fewer `*` segments first on a tie);
/// kRestart when no rule matches.
ReloadKind classifyReloadPath(std::string_view path, std::span<const ReloadRule> rules = reloadRules());

/// The changed paths sorted by kind.
struct ReloadPlan {
  std::vector<std::string> changedPaths;
  std::vector<std::string> restartReasons;  // paths that need a restart
  std::vector<std::string> hotReasons;      // paths applied live
  std::vector<std::string> noopPaths;       // paths that only update the snapshot
  bool restartGateway() const { return !restartReasons.empty(); }
};

/// Classifies every path of `changedPaths` (OpenClaw buildGatewayReloadPlan).
ReloadPlan planReload(std::vector<std::string> changedPaths, std::span<const ReloadRule> rules = reloadRules());

/// `gateway.reload.mode` values (OpenClaw: only these two; the default is hybrid).
inline constexpr std::string_view kReloadModeHybrid = "hybrid";
inline constexpr std::string_view kReloadModeOff = "off";

}  // namespace talon::config
