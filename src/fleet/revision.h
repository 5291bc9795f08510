#pragma once
// Deployment revisions (docs/fleet.md "Revisions"): what each `talon fleet apply` deployed — who, when,
// the inventory's git commit, and per gateway the rendered config with its SHA-256 and the key paths that
// changed against the gateway's previous revision. Kept in the fleet state dir as one JSON file per
// revision, `<stateDir>/revisions/<id>.json` (ids 1, 2, …, zero-padded to 8 digits), each written
// atomically and durably (temp file, fsync, rename, fsync of the folder): a crash mid-write leaves the
// revision absent, never half-written. Rendered configs hold secret references only ("${VAR}" or
// SecretRef objects), never values, so a revision holds no secret either.
//
// Also here: the config diff behind `talon fleet plan` (key paths only, never values) and the plan itself.
// Threads: RevisionStore reads and writes files; one apply at a time holds RevisionStore::lock().
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "fleet/render.h"
#include "fleet/render_manifests.h"

namespace talon::fleet {

/// The fleet state dir: `option` when set, else `envValue` (TALON_FLEET_STATE_DIR) when set, else
/// `<inventory's folder>/.talon-fleet`. Relative paths are made absolute against the working directory.
std::filesystem::path resolveFleetStateDir(std::string_view option, std::string_view envValue,
                                           const std::filesystem::path& inventoryPath);

/// One changed config key between two renders.
struct ConfigChange {
  enum class Kind { kAdded, kChanged, kRemoved };
  Kind kind = Kind::kChanged;
  /// Dotted key path with array indexes, e.g. "gateway.port", "bindings[1].match.accountId".
  std::string path;
};
/// "added" / "changed" / "removed".
std::string_view changeKindName(ConfigChange::Kind kind);

/// The leaf keys that differ between `before` and `after`, sorted by path. Objects are descended key by
/// key and arrays index by index; anything else (and an empty object or array) is a leaf. A key whose type
/// changes between object/array and a leaf is reported as removed and added at its leaves.
std::vector<ConfigChange> diffConfigs(const json::object& before, const json::object& after);

/// One gateway in a revision.
struct GatewayRevision {
  std::string id;
  std::string runtime;
  std::string provider;
  /// Where the config was written (the gateway's configPath).
  std::string configPath;
  /// Lower-case hex SHA-256 of `content`.
  std::string sha256;
  /// The rendered config text (secret references only).
  std::string content;
  /// The revision this gateway was last applied in before this one; nullopt on its first apply.
  std::optional<int64_t> previousRevision;
  /// The keys that changed against previousRevision's render (every key, as added, on a first apply).
  std::vector<ConfigChange> changes;
  /// The runtime version deployed ("" when none was set) and the executable that ran it ("" for the
  /// deployer's default binary): with the config, what a rollback restores.
  std::string version;
  std::string binary;
  /// Providers compose and kubernetes: the manifest applied with the config (compose.yaml /
  /// kubernetes.yaml; references only), where the deployer wrote it and its lower-case hex SHA-256; all
  /// empty for the other providers. In toJson() it is the second entry of "files".
  std::string manifestPath;
  std::string manifestSha256;
  std::string manifestContent;
};

/// The inventory's place in git, when it lives in a git repository.
struct InventoryGitState {
  /// HEAD's commit id ("" in a repository without commits).
  std::string commit;
  /// Uncommitted (or untracked) changes to the inventory or a file it includes.
  bool dirty = false;
  /// The changed files as `git status --porcelain` lists them (when dirty).
  std::vector<std::string> changedFiles;
};

struct DeploymentRevision {
  int64_t id = 0;
  /// What recorded it: "apply", "rollout" (a rollout step that passed its gate), "rollback" (the gateways
  /// of a failed rollout step, back on their last known-good config and version).
  std::string kind = "apply";
  /// Free text for rollouts and rollbacks (the target and the step), "" otherwise.
  std::string note;
  /// Who applied it (`--actor`, default the OS user).
  std::string actor;
  /// When it was recorded, ms since the Unix epoch.
  int64_t timeMs = 0;
  std::string inventoryPath;
  std::optional<InventoryGitState> git;
  /// The gateways applied, in gateway id order (`--gateway` applies one).
  std::vector<GatewayRevision> gateways;

  /// {"id", "kind", "note"?, "actor", "time", "timeMs", "inventory": {"path", "gitCommit"?, "gitDirty"?},
  /// "gateways": [{"id", "runtime", "provider", "version"?, "binary"?, "previousRevision"?, "files": [{"path",
  /// "sha256", "content"} (the config), then the manifest's, when it has one], "changes": [{"op", "path"}]}]}; without
  /// content when `withContent` is false. fromJson() reads a revision without "kind" (recorded before rollouts existed)
  /// as "apply".
  json::object toJson(bool withContent = true) const;
  /// Parses toJson()'s shape. Errors: kInvalidArgument naming the missing or malformed key.
  static Result<DeploymentRevision> fromJson(const json::object& j);
};

/// A gateway's last applied revision.
struct AppliedGateway {
  int64_t revision = 0;
  GatewayRevision gateway;
};

/// The revisions of one fleet state dir.
class RevisionStore {
 public:
  /// Opens (creating, mode 0700) `<stateDir>/revisions`. Errors: kIo naming the folder.
  static Result<std::unique_ptr<RevisionStore>> open(const std::filesystem::path& stateDir);

  const std::filesystem::path& stateDir() const { return stateDir_; }
  /// Every revision, by id ascending. Errors: kIo, kInvalidArgument naming a malformed revision file.
  Result<std::vector<DeploymentRevision>> list() const;
  /// Revision `id`. Errors: kNotFound, and as list().
  Result<DeploymentRevision> get(int64_t id) const;
  /// One past the highest id recorded (1 for none).
  Result<int64_t> nextId() const;
  /// Per gateway id, the latest revision that applied it.
  Result<std::map<std::string, AppliedGateway>> lastApplied() const;
  /// Records `revision` (atomic and durable, mode 0600). Errors: kAlreadyExists when its id is taken; kIo.
  Status record(const DeploymentRevision& revision);

  /// An exclusive lock on the state dir (flock on `<stateDir>/apply.lock`), held until the returned handle
  /// is destroyed. Errors: kFailedPrecondition when another apply holds it (does not wait); kIo.
  Result<std::shared_ptr<void>> lock();

 private:
  explicit RevisionStore(std::filesystem::path stateDir) : stateDir_(std::move(stateDir)) {}
  std::filesystem::path revisionPath(int64_t id) const;

  std::filesystem::path stateDir_;
};

/// The plan for one gateway: its render against its last applied revision.
struct GatewayPlan {
  std::string id;
  /// "new" (never applied), "changed" or "unchanged".
  std::string status;
  std::optional<int64_t> appliedRevision;
  std::string appliedSha256;
  std::string renderedSha256;
  std::vector<ConfigChange> changes;
  /// Providers compose and kubernetes: the manifest's file name, its SHA-256 now and in the applied
  /// revision ("" when it has none), and whether they differ (a changed manifest alone makes the gateway
  /// "changed": e.g. a new image or storage size). manifestFile is "" for the other providers.
  std::string manifestFile;
  std::string manifestSha256;
  std::string appliedManifestSha256;
  bool manifestChanged = false;
  /// {"gateway", "status", "appliedRevision"?, "appliedSha256"?, "renderedSha256", "added": [paths],
  /// "changed": [paths], "removed": [paths], "manifest"?: {"file", "renderedSha256", "appliedSha256"?,
  /// "changed"}}.
  json::object toJson() const;
};

/// The plan of each of `renders` against `applied` (RevisionStore::lastApplied()); `manifests` are the
/// rendered manifests of the gateways that have one (renderManifests(); none for the other providers).
std::vector<GatewayPlan> planGateways(const std::vector<RenderedGateway>& renders,
                                      const std::map<std::string, AppliedGateway>& applied,
                                      const std::vector<RenderedManifest>& manifests = {});

}  // namespace talon::fleet
