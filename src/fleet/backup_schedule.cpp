#include "fleet/backup_schedule.h"

#include <algorithm>

#include "fleet/rollout.h"

namespace talon::fleet {

namespace {

constexpr int64_t kScheduleMsPerHour = 3'600'000;

}  // namespace

std::vector<std::string> gatewaysDueForBackup(const std::vector<GatewayBackup>& existing,
                                              const std::vector<std::string>& gateways, int64_t nowMs,
                                              const BackupSettings& settings) {
  std::map<std::string, int64_t, std::less<>> newest;
  for (const auto& b : existing) {
    auto [it, inserted] = newest.emplace(b.gateway, b.timeMs);
    if (!inserted) it->second = std::max(it->second, b.timeMs);
  }
  const int64_t interval = static_cast<int64_t>(settings.intervalHours) * kScheduleMsPerHour;
  std::vector<std::string> due;
  for (const auto& g : gateways) {
    auto it = newest.find(g);
    if (it == newest.end() || nowMs - it->second >= interval) due.push_back(g);
  }
  return due;
}

std::vector<std::pair<int64_t, std::string>> expiredScheduledBackups(const std::vector<GatewayBackup>& existing,
                                                                     int keep) {
  std::map<std::string, std::vector<const GatewayBackup*>> scheduled;
  for (const auto& b : existing) {
    if (b.reason == "scheduled") scheduled[b.gateway].push_back(&b);
  }
  std::vector<std::pair<int64_t, std::string>> out;
  for (auto& [gateway, list] : scheduled) {
    std::sort(list.begin(), list.end(), [](const GatewayBackup* a, const GatewayBackup* b) { return a->id > b->id; });
    for (std::size_t i = static_cast<std::size_t>(std::max(keep, 1)); i < list.size(); ++i)
      out.emplace_back(list[i]->id, gateway);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<GatewayBackup>> backupGateways(BackupStore& store, const std::vector<DeployTarget>& targets,
                                                  const std::map<std::string, AppliedGateway>& applied,
                                                  const std::string& reason, int64_t nowMs,
                                                  const std::function<void(const std::string&)>& progress,
                                                  const std::map<std::string, Deployer*>& deployers,
                                                  const DeployContext* context) {
  auto id = store.nextId();
  if (!id) return fail(id.error());
  std::vector<GatewayBackup> taken;
  for (const auto& base : targets) {
    auto it = applied.find(base.id);
    DeployTarget target = it != applied.end() ? targetAtRevision(base, it->second.gateway) : base;
    auto b = store.backupGateway(*id, target, it != applied.end() ? std::optional(it->second.revision) : std::nullopt,
                                 reason, nowMs, deployers.count(base.id) ? deployers.at(base.id) : nullptr, context);
    if (!b) return fail(b.error());
    if (progress)
      progress("backup " + std::to_string(*id) + ": " + base.id + ": " + std::to_string(b->files.size()) + " file(s)");
    taken.push_back(std::move(*b));
  }
  return taken;
}

Result<std::vector<BackupIntegrity>> verifyAllBackups(const BackupStore& store, std::size_t& checked) {
  checked = 0;
  auto all = store.list();
  if (!all) return fail(all.error());
  std::vector<BackupIntegrity> out;
  for (const auto& b : *all) {
    ++checked;
    auto problems = store.verify(b);
    if (!problems.empty()) out.push_back(BackupIntegrity{b.id, b.gateway, std::move(problems)});
  }
  return out;
}

}  // namespace talon::fleet
