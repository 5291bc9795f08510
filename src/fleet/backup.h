#pragma once
// Backups of deployed gateways (docs/fleet.md "Backup and restore"): a gateway's deployed config and its
// state dir, copied into the fleet state dir as a directory snapshot
// (`<fleetStateDir>/backups/<id>/<gatewayId>/`) with a manifest of SHA-256 digests and the revision the
// gateway was on. A directory, not an archive: libarchive is on STYLE.md's list but its development files
// are not installed by scripts/install-deps.sh, so no tar is written.
//
// SQLite databases in the state dir (any file that starts with SQLite's header) are copied with SQLite's
// online backup API in one step, under one read transaction, so the copy is a consistent snapshot even
// while the gateway writes (its -wal/-shm/-journal files are not copied: the snapshot holds their
// committed content). Other files are copied as they are at that moment. Files whose names end in
// ".lock" (flock files such as Talon's gateway.lock) are not copied.
//
// Threads: a BackupStore reads and writes files and blocks; one caller at a time per fleet state dir (the
// commands that restore hold RevisionStore::lock()).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "fleet/deployer.h"

namespace talon::fleet {

/// One file of a backup.
struct BackupFile {
  /// Relative to the gateway's backup folder: "config/<name of configPath>" or "state/<path in stateDir>".
  std::string path;
  /// Lower-case hex SHA-256 of the copied bytes.
  std::string sha256;
  std::uint64_t size = 0;
  /// Permission bits (restored as they were).
  unsigned mode = 0600;
  /// Copied with SQLite's backup API.
  bool sqlite = false;
};

/// One gateway's backup (manifest.json in its folder).
struct GatewayBackup {
  /// The backup's id (one `talon fleet backup` run; 8 digits, zero-padded on disk).
  int64_t id = 0;
  std::string gateway;
  std::string runtime;
  /// The version and executable it ran at the time ("" when none was set / the default binary).
  std::string version;
  std::string binary;
  /// The revision that last applied the gateway when the backup was taken; nullopt when never applied.
  std::optional<int64_t> revision;
  /// When it was taken, ms since the Unix epoch.
  int64_t timeMs = 0;
  /// Why it was taken: "manual" (`talon fleet backup`) or "rollout" (before a rollout step).
  std::string reason = "manual";
  std::string configPath;
  std::string stateDir;
  std::vector<BackupFile> files;

  /// {"id", "gateway", "runtime", "version"?, "binary"?, "revision"?, "time", "timeMs", "reason",
  /// "configPath", "stateDir", "files": [{"path", "sha256", "size", "mode", "sqlite"}]}.
  json::object toJson() const;
  /// Parses toJson()'s shape. Errors: kInvalidArgument naming the missing or malformed key.
  static Result<GatewayBackup> fromJson(const json::object& j);
};

/// A file whose digest or size does not match its manifest, or that is missing.
struct BackupProblem {
  std::string path;
  std::string message;
};

/// The backups of one fleet state dir (`<stateDir>/backups`, mode 0700).
class BackupStore {
 public:
  /// Opens (creating, mode 0700) `<stateDir>/backups`. Errors: kIo naming the folder.
  static Result<std::unique_ptr<BackupStore>> open(const std::filesystem::path& fleetStateDir);

  /// One past the highest backup id (1 for none). Errors: kIo.
  Result<int64_t> nextId() const;
  /// Copies `target`'s deployed config (its configPath; absent when never deployed) and state dir into
  /// backup `id`, with a manifest written last (atomically): a backup without a manifest is incomplete
  /// and not listed. `revision`, `reason` and `timeMs` are recorded as given. Errors: kAlreadyExists when
  /// `id` already holds this gateway; kIo naming the file; kUpstream when SQLite cannot copy a database.
  /// With a `deployer` (and its `context`) whose gateway's files live on another machine
  /// (Deployer::fetchFiles(), the ssh provider), they are first copied from there into a staging folder
  /// beside the backup (removed afterwards); the manifest then records the paths on that machine, and the
  /// backup has the same layout and digests as a local one.
  Result<GatewayBackup> backupGateway(int64_t id, const DeployTarget& target, std::optional<int64_t> revision,
                                      const std::string& reason, int64_t timeMs, Deployer* deployer = nullptr,
                                      const DeployContext* context = nullptr);
  /// Every complete gateway backup, by (id, gateway). Errors: kIo, kInvalidArgument naming a malformed
  /// manifest.
  Result<std::vector<GatewayBackup>> list() const;
  /// The gateway backups of `id` (all of them, or only `gateway`'s when it is not empty). Errors: kNotFound,
  /// and as list().
  Result<std::vector<GatewayBackup>> get(int64_t id, const std::string& gateway = "") const;
  /// Re-reads every file of `backup` and compares size and SHA-256 with the manifest; also flags files in
  /// the folder the manifest does not list. Empty: intact.
  std::vector<BackupProblem> verify(const GatewayBackup& backup) const;
  /// Puts `backup` back in place of `target`'s files: the state dir is moved aside to
  /// `<stateDir>.before-restore-<id>` (replacing an older one of that name) and re-created from the
  /// backup, and the config is written to `target.paths.configPath`. The gateway must be stopped. Returns
  /// the folder the old state dir was moved to ("" when there was none). Errors: kFailedPrecondition when
  /// verify() finds a problem (nothing is touched); kIo.
  ///
  /// With a `deployer` (and its `context`) whose gateway's files live on another machine
  /// (Deployer::putFiles(), the ssh provider), the verified files are uploaded, checked again there with
  /// sha256sum and moved into place on that machine (same aside folder).
  Result<std::string> restoreFiles(const GatewayBackup& backup, const DeployTarget& target,
                                   Deployer* deployer = nullptr, const DeployContext* context = nullptr) const;

  /// Deletes gateway `gateway`'s part of backup `id`: its manifest first (an interrupted removal leaves an
  /// incomplete folder, which is not listed), then its files; the id's folder goes when it is empty.
  /// Errors: kNotFound when there is no such backup; kIo naming the path.
  Status remove(int64_t id, const std::string& gateway) const;

  /// `<backups>/<id>/<gateway>`.
  std::filesystem::path folder(int64_t id, const std::string& gateway) const;

 private:
  explicit BackupStore(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;
};

}  // namespace talon::fleet
