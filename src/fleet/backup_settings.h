#pragma once
// The inventory's `backups` section (docs/fleet.md "Backup schedule and recovery targets"): how often
// `talon fleet serve` backs each gateway up, how many scheduled backups it keeps and how often it
// re-verifies them. Read once with the inventory (inventory.cpp); plain data afterwards.
#include "config/located_value.h"

namespace talon::fleet {

/// The inventory's `backups` section: read by `talon fleet serve`.
struct BackupSettings {
  /// Hours between two backups of a gateway (1..8760, default 24): a gateway whose newest backup (of any
  /// reason) is this old, or that has none, is backed up on the next tick. This is the recovery point
  /// objective the schedule meets.
  int intervalHours = 24;
  /// Scheduled backups kept per gateway (1..10000, default 14); older scheduled ones are deleted after a
  /// successful scheduled backup. Manual and rollout backups are never deleted automatically.
  int keep = 14;
  /// Hours between two automatic verifications of every kept backup (1..8760, default 24).
  int verifyIntervalHours = 24;
  config::SourceLocation location;
};

/// Reads the `backups` section (types and ranges were checked by the schema). Never fails.
BackupSettings readBackupSettings(const config::LocatedValue& section);

}  // namespace talon::fleet
