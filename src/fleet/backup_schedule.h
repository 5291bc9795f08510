#pragma once
// Scheduled backups, retention and automatic integrity checks (docs/fleet.md "Backup schedule and
// recovery targets"): the inventory's `backups` section, the decisions `talon fleet serve` takes on each
// tick (which gateways are due for a backup, which scheduled backups have expired, whether the backups are
// due for re-verification) and one backup run shared by `talon fleet backup` and the schedule.
//
// The decisions are pure functions of the backups on disk and a time, so they are tested without waiting.
// Threads: as BackupStore (one caller at a time per fleet state dir).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fleet/backup.h"
#include "fleet/backup_settings.h"
#include "fleet/revision.h"

namespace talon::fleet {

/// The gateways of `gateways` (ids) due for a scheduled backup at `nowMs`: those with no backup in
/// `existing`, or whose newest backup was taken `intervalHours` or more before `nowMs`. In `gateways`' order.
std::vector<std::string> gatewaysDueForBackup(const std::vector<GatewayBackup>& existing,
                                              const std::vector<std::string>& gateways, int64_t nowMs,
                                              const BackupSettings& settings);

/// The scheduled backups (reason "scheduled") of `existing` beyond the newest `keep` of each gateway, as
/// (backup id, gateway), oldest first.
std::vector<std::pair<int64_t, std::string>> expiredScheduledBackups(const std::vector<GatewayBackup>& existing,
                                                                     int keep);

/// One backup run: the next backup id of `store` for every target, each backed up as deployed (the
/// config path, version and binary of its last applied revision in `applied`, when it has one; see
/// targetAtRevision()). `progress` (may be empty) gets one line per gateway. A gateway with an entry in
/// `deployers` (and a `context`) has its files read through it (BackupStore::backupGateway: over ssh for
/// the ssh provider). Errors: the first failing
/// gateway's (as BackupStore::backupGateway); the gateways before it stay backed up.
Result<std::vector<GatewayBackup>> backupGateways(BackupStore& store, const std::vector<DeployTarget>& targets,
                                                  const std::map<std::string, AppliedGateway>& applied,
                                                  const std::string& reason, int64_t nowMs,
                                                  const std::function<void(const std::string&)>& progress,
                                                  const std::map<std::string, Deployer*>& deployers = {},
                                                  const DeployContext* context = nullptr);

/// One backup's integrity problems, as found by BackupStore::verify.
struct BackupIntegrity {
  int64_t id = 0;
  std::string gateway;
  std::vector<BackupProblem> problems;
};

/// Verifies every complete backup of `store`; returns those with problems (empty: all intact) and how
/// many were checked in `checked`. Errors: as BackupStore::list.
Result<std::vector<BackupIntegrity>> verifyAllBackups(const BackupStore& store, std::size_t& checked);

}  // namespace talon::fleet
