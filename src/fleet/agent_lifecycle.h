#pragma once
// The agent lifecycle of `talon fleet agents add|rm|list` (docs/fleet.md "Agent lifecycle"). The fleet never
// edits a gateway: it edits the inventory text, and plan/apply deploys the change. An edit is computed in
// memory on the text of the inventory file (comments and formatting elsewhere kept: only the agent's entry,
// and the channel accounts it creates or alone maps, are inserted or cut out), read back with the same
// reader (Inventory::parse) and run through the full preflight before anything is written; only a clean
// result is written, with writeFileAtomic (temp file, fsync, rename, fsync of the folder). Removal also
// moves the agent's state on its gateway (workspace, `<stateDir>/agents/<id>/`, agentDir) into an archive
// with a manifest; nothing is deleted. Reads and writes files; no shared state, safe from any thread.
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "fleet/inventory.h"
#include "fleet/layering.h"
#include "fleet/preflight.h"
#include "fleet/revision.h"

namespace talon::fleet {

/// What `talon fleet agents add` onboards.
struct AgentSpec {
  std::string id;
  std::string gateway;
  /// "human-coupled" | "use-case" (the reader checks it).
  std::string kind = "use-case";
  std::string owner;
  std::string displayName;
  /// "provider/model"; empty: inherited from the agent's layers.
  std::string model;
  /// (channel, accountId) pairs, one per channel. An account the inventory does not have yet is created
  /// as `accounts.<channel>.<accountId>: {}` in the same edit.
  std::vector<std::pair<std::string, std::string>> accounts;
  /// Extra bindings, each an object in the inventory's `agents.<id>.bindings[]` shape.
  json::array bindings;
};

/// One file of an inventory edit: its content when the edit was computed, and after the edit.
struct FileEdit {
  std::filesystem::path file;
  std::string before;
  std::string after;
};

/// A computed, not yet written, edit of the inventory: of its root file and/or the `$include`d files that
/// hold the entries it adds or removes.
struct InventoryEdit {
  /// The files edited, in the order first touched (at least one).
  std::vector<FileEdit> files;
  /// The inventory keys added / removed (leaf key paths of the inventory with `$include`s resolved, e.g.
  /// "agents.sales.gateway").
  std::vector<ConfigChange> changes;
  /// The inventory as it read when the edit was computed, and as it reads after the edit.
  InventoryPtr original;
  InventoryPtr edited;
};

/// Computes the edit that adds `spec` to the inventory `current` was loaded from, re-reading its files (the
/// edit and every check apply to the files as they are now). The agent's entry is written beside the last
/// agent of its gateway (else the inventory's last agent) in the file that holds that agent — the root file
/// or an `$include`d one — and under `agents` of the root file when there is no agent yet; a channel account
/// to create, beside the last account of its channel (else the last account), else under `accounts` of the
/// root file. Errors: kFailedPrecondition when the agent exists, or when the place to write is inside an
/// array; kNotFound for an unknown gateway; kInvalidArgument for an invalid id, a channel mapped twice or a
/// binding that is not an object; kConfigInvalid (every problem with file:line) when the edited inventory
/// does not read; kIo when a file cannot be read.
Result<InventoryEdit> planAgentAdd(const Inventory& current, const AgentSpec& spec);

/// Computes the edit that removes agent `agentId` — its entry, and with it its account mapping and its
/// bindings — and the channel accounts that only it maps, each from the file it is written in (the root
/// file or an `$include`d one). Errors: kNotFound when there is no such agent; kFailedPrecondition when one
/// of those entries is written inside an array (the message names file:line); kConfigInvalid, kIo as above.
Result<InventoryEdit> planAgentRemove(const Inventory& current, std::string_view agentId);

/// The preflight of an edit.
struct EditCheck {
  /// The full preflight of the edited inventory.
  PreflightReport report;
  /// What blocks the edit: every error finding, and every warning the edit introduces (a warning the
  /// inventory already had does not block). Empty: the edit may be written.
  std::vector<Finding> blocking;
  bool ok() const { return blocking.empty(); }
};

/// Runs the full preflight over `edit.edited` (and over `edit.original`, to tell new warnings from old ones).
EditCheck checkInventoryEdit(const InventoryEdit& edit, const PreflightOptions& options);

/// Writes every file of `edit`, keeping each file's permission bits: all new contents are first written to
/// temp files and fsynced, then renamed into place (each folder fsynced), so that a failure while writing
/// changes no file. Errors: kFailedPrecondition when a file no longer holds its `before` (someone else edited
/// it meanwhile: nothing is written); kIo (a rename that fails after others succeeded puts those back).
Status writeInventoryEdit(const InventoryEdit& edit);

/// One path moved into an agent's archive.
struct ArchivedPath {
  /// "workspace" | "agentState" (`<stateDir>/agents/<id>`) | "agentDir".
  std::string what;
  std::string from;
  /// Inside the archive; empty when `from` did not exist (nothing to move).
  std::string to;
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
};

/// Where an agent's state went.
struct AgentArchive {
  std::filesystem::path dir;
  std::vector<ArchivedPath> paths;
  /// {"agent", "gateway", "time", "inventory", "dir", "paths": [{what, from, to?, files, bytes}]}, also
  /// written as `<dir>/manifest.json`.
  json::object manifest;
};

/// The paths of an agent's state on its gateway (the `process` provider's layout): its workspace,
/// `<stateDir>/agents/<id>` (OpenClaw's per-agent folder, sessions included) and its agentDir when that is
/// outside it. Computed from `fleet`, which must still hold the agent.
std::vector<std::pair<std::string, std::filesystem::path>> agentStatePaths(const EffectiveFleet& fleet,
                                                                           std::size_t agentIndex);

/// Moves each existing path of `paths` into `archiveDir` (created, mode 0700; it must not exist yet) as
/// `<archiveDir>/<what>/`, by rename, or by copy and then removal of the original when it is on another
/// file system, and writes `<archiveDir>/manifest.json` (`time` is RFC 3339 UTC). Nothing is deleted
/// that was not copied first. Errors: kAlreadyExists when `archiveDir` exists; kIo naming the path.
Result<AgentArchive> archiveAgentState(const std::string& agentId, const std::string& gatewayId,
                                       const std::filesystem::path& inventoryPath,
                                       const std::vector<std::pair<std::string, std::filesystem::path>>& paths,
                                       const std::filesystem::path& archiveDir,
                                       std::chrono::system_clock::time_point now);

/// The default archive folder: `<fleetStateDir>/archive/<agentId>-<UTC time as YYYYMMDDTHHMMSSZ>`.
std::filesystem::path defaultAgentArchiveDir(const std::filesystem::path& fleetStateDir, std::string_view agentId,
                                             std::chrono::system_clock::time_point now);

}  // namespace talon::fleet
