#include "config/reload_plan.h"

#include <algorithm>
#include <iterator>

namespace talon::config {

namespace {

// Talon's table (docs/config.md "Reload"). OpenClaw's `none` rules for the reload and remote settings
// and the file's metadata; `logging.level` is applied live; every other `gateway.*` key needs a restart,
// as in OpenClaw, and so does every path no rule matches (agents, bindings, session, models: read at
// start-up by Talon).
//
// `channels` is hot, as in OpenClaw (its channel plugins restart the channel of a changed account): the
// channel runtime starts added accounts, stops removed ones and restarts changed ones, and the access gate
// takes the new DM/group policies (gateway.cpp's hot applier, channel_manager.h applyConfig).
constexpr ReloadRule kRules[] = {
    {"$schema", ReloadKind::kNone},        {"meta", ReloadKind::kNone},         {"gateway.reload", ReloadKind::kNone},
    {"gateway.remote", ReloadKind::kNone}, {"logging.level", ReloadKind::kHot}, {"gateway", ReloadKind::kRestart},
    {"channels", ReloadKind::kHot},
};

std::size_t segmentCount(std::string_view p) { return 1 + std::count(p.begin(), p.end(), '.'); }

std::size_t wildcardCount(std::string_view p) {
  std::size_t n = 0;
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find('.', start);
    if (end == std::string_view::npos) end = p.size();
    if (p.substr(start, end - start) == "*") ++n;
    start = end + 1;
  }
  return n;
}

}  // namespace

std::string_view reloadKindName(ReloadKind kind) {
  switch (kind) {
    case ReloadKind::kNone:
      return "none";
    case ReloadKind::kHot:
      return "hot";
    case ReloadKind::kRestart:
      return "restart";
  }
  return "restart";
}

std::span<const ReloadRule> reloadRules() { return kRules; }

bool matchesReloadPrefix(std::string_view path, std::string_view prefix) {
  if (prefix.find('*') != std::string_view::npos) {
    std::size_t ps = 0;
    std::size_t xs = 0;
    while (xs <= prefix.size()) {
      std::size_t xe = prefix.find('.', xs);
      if (xe == std::string_view::npos) xe = prefix.size();
      if (ps > path.size()) return false;
      std::size_t pe = path.find('.', ps);
      if (pe == std::string_view::npos) pe = path.size();
      std::string_view want = prefix.substr(xs, xe - xs);
      std::string_view have = path.substr(ps, pe - ps);
      if (want == "*" ? have.empty() : want != have) return false;
      xs = xe + 1;
      ps = pe + 1;
    }
    return true;
  }
  return path == prefix || (path.size() > prefix.size() && path.starts_with(prefix) && path[prefix.size()] == '.');
}

ReloadKind classifyReloadPath(std::string_view path, std::span<const ReloadRule> rules) {
  const ReloadRule* best = nullptr;
  for (const auto& rule : rules) {
    if (!matchesReloadPrefix(path, rule.prefix)) continue;
    if (best == nullptr) {
      best = &rule;
      continue;
    }
    auto a = segmentCount(rule.prefix);
    auto b = segmentCount(best->prefix);
    if (a > b || (a == b && wildcardCount(rule.prefix) < wildcardCount(best->prefix))) best = &rule;
  }
  return best != nullptr ? best->kind : ReloadKind::kRestart;
}

ReloadPlan planReload(std::vector<std::string> changedPaths, std::span<const ReloadRule> rules) {
  ReloadPlan plan;
  for (const auto& path : changedPaths) {
    switch (classifyReloadPath(path, rules)) {
      case ReloadKind::kNone:
        plan.noopPaths.push_back(path);
        break;
      case ReloadKind::kHot:
        plan.hotReasons.push_back(path);
        break;
      case ReloadKind::kRestart:
        plan.restartReasons.push_back(path);
        break;
    }
  }
  plan.changedPaths = std::move(changedPaths);
  return plan;
}

}  // namespace talon::config
