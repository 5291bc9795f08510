#pragma once
// A fleet inventory (fleet.json5): the organisation, its templates, groups, gateways, agents, channel
// accounts and catalogs, read with the config module's JSON5 parser and `$include` resolver and
// validated strictly against the schema in inventory_schema.h. Every value keeps the file:line it was
// written at. `${VAR}` strings are never substituted here: they are secret references that the rendered
// configs carry as they are. Loading reads files; an Inventory is an immutable value afterwards, safe to
// share between threads for reading. Schema: docs/fleet.md.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "config/diagnostic.h"
#include "config/located_value.h"
#include "fleet/backup_settings.h"
#include "fleet/fleet_alerts.h"
#include "fleet/inventory_schema.h"
#include "fleet/model_proxy_settings.h"

namespace talon::fleet {

/// One layer's contribution: the layered keys written in one place (the org `defaults`, a template, a
/// group, a gateway or an agent entry), with their locations.
struct Layer {
  LayerKind kind = LayerKind::kOrg;
  /// The template, group, gateway or agent id ("" for the org layer).
  std::string name;
  /// Only the layered keys of the entry (layeredSchema()), as written. Points into Inventory::root;
  /// nullptr when the layer sets nothing.
  const config::LocatedValue* node = nullptr;
  /// The same keys as a plain value (an empty object when none).
  json::object value;
  /// Where the entry starts.
  config::SourceLocation location;
  /// "org", "template:<name>", "group:<id>", "gateway:<id>", "agent:<id>".
  std::string label() const;
};

struct Organisation {
  std::string id;
  std::string slug;
  std::string displayName;
};

struct Group {
  std::string id;
  std::string displayName;
  std::vector<std::string> templates;
  Layer layer;
};

struct Gateway {
  std::string id;
  std::string displayName;
  /// "" when the gateway belongs to no group.
  std::string group;
  std::vector<std::string> templates;
  Layer layer;
};

/// One routing rule of an agent, in OpenClaw's bindings[].match shape.
struct BindingMatch {
  std::string channel;
  /// nullopt: the channel's default account.
  std::optional<std::string> accountId;
  std::optional<std::string> peerKind;
  std::optional<std::string> peerId;
  std::optional<std::string> guildId;
  std::optional<std::string> teamId;
  std::vector<std::string> roles;
  /// Where it was written (the agent's accounts entry for the binding an account mapping implies).
  config::SourceLocation location;
  /// True for the binding implied by the agent's `accounts` mapping.
  bool implied = false;
};

struct Agent {
  std::string id;
  std::string displayName;
  std::string gateway;
  /// "human-coupled" | "use-case".
  std::string kind;
  std::string owner;
  std::vector<std::string> templates;
  /// channel -> account id (one per channel), sorted by channel; with the location of each entry.
  std::map<std::string, std::pair<std::string, config::SourceLocation>> accounts;
  /// The explicit bindings, in order (implied ones are added by the render).
  std::vector<BindingMatch> bindings;
  std::optional<std::string> workspace;
  std::optional<std::string> agentDir;
  Layer layer;
};

/// A channel account (accounts.<channel>.<accountId>).
struct ChannelAccount {
  std::string channel;
  std::string id;
  /// The settings as written (secret fields hold references).
  json::object settings;
  config::SourceLocation location;
};

/// One catalog entry (catalogs.integrations|skills|models.<id>).
struct CatalogEntry {
  std::string id;
  /// Integrations: "core-channel" | "plugin-channel" | "custom-only"; "" for skills and models.
  std::string kind;
  /// "approved" (default) | "preview" | "deprecated" | "blocked".
  std::string status = "approved";
  std::string installMethod;
  /// "default" (default) | "high-cost" | "high-trust" (integrations: trustTier).
  std::string tier = "default";
  std::string owner;
  config::SourceLocation location;
};

struct Catalogs {
  std::map<std::string, CatalogEntry> integrations;
  std::map<std::string, CatalogEntry> skills;
  std::map<std::string, CatalogEntry> models;
};

/// One runtime version of the version catalog (runtimes.<runtime>.versions.<version>): what a gateway
/// deployed "at" that version runs.
struct RuntimeVersion {
  /// "talon" | "openclaw".
  std::string runtime;
  std::string version;
  /// Absolute path of the executable (the process provider runs it in place of the default binary).
  std::string binary;
  std::string description;
  /// Where the entry was written.
  config::SourceLocation location;
};

class Inventory {
 public:
  /// Reads and validates `path`. Errors: kConfigInvalid with every problem as a line
  /// "file:line:col: path: message" (the first config::kMaxDiagnostics) and details {"path", "issues":
  /// [Diagnostic::toJson()...]}: JSON5 syntax, `$include` failures, unknown keys, wrong types, values
  /// outside their enum or range, missing required keys, references to unknown templates, groups,
  /// gateways or accounts, duplicate channel accounts. kIo / kNotFound when the file cannot be read.
  static Result<std::shared_ptr<const Inventory>> load(const std::filesystem::path& path);
  /// Like load() with `text` standing for the content of `path` (includes resolve relative to it).
  static Result<std::shared_ptr<const Inventory>> parse(std::string_view text, const std::filesystem::path& path);
  /// Like parse(), with `includedTexts` standing for the content of `$include`d files (keyed by normalized
  /// absolute path; other files are read from disk): reads an edit of several files before it is written.
  static Result<std::shared_ptr<const Inventory>> parse(
      std::string_view text, const std::filesystem::path& path,
      const std::map<std::filesystem::path, std::string>& includedTexts);

  const std::filesystem::path& path() const { return path_; }
  /// The inventory as read, `$include`s resolved (values carry the file:line:col they were written at).
  const config::LocatedValue& root() const { return root_; }
  const Organisation& organisation() const { return organisation_; }
  const Layer& orgLayer() const { return orgLayer_; }
  /// nullptr when unknown.
  const Layer* findTemplate(std::string_view name) const;
  const Group* findGroup(std::string_view id) const;
  const Gateway* findGateway(std::string_view id) const;
  const Agent* findAgent(std::string_view id) const;
  const ChannelAccount* findAccount(std::string_view channel, std::string_view id) const;
  /// Sorted by id.
  const std::vector<Group>& groups() const { return groups_; }
  const std::vector<Gateway>& gateways() const { return gateways_; }
  const std::vector<Agent>& agents() const { return agents_; }
  /// Sorted by (channel, id).
  const std::vector<ChannelAccount>& accounts() const { return accounts_; }
  const Catalogs& catalogs() const { return catalogs_; }
  /// The version catalog: runtime versions sorted by (runtime, version).
  const std::vector<RuntimeVersion>& runtimeVersions() const { return runtimeVersions_; }
  /// The catalog entry of `version` for `runtime`; nullptr when the catalog does not list it.
  const RuntimeVersion* findRuntimeVersion(std::string_view runtime, std::string_view version) const;
  /// Files read through `$include`, in the order read.
  const std::vector<std::filesystem::path>& includedFiles() const { return includedFiles_; }
  /// The `modelProxy` section, when the inventory has one.
  const std::optional<ModelProxySettings>& modelProxy() const { return modelProxy_; }
  /// The `backups` section (the backup schedule of `talon fleet serve`), when the inventory has one.
  const std::optional<BackupSettings>& backups() const { return backups_; }
  /// The `alerts` section (where `talon fleet serve` sends alerts), when the inventory has one.
  const std::optional<FleetAlertSettings>& alerts() const { return alerts_; }

 private:
  Inventory() = default;

  std::filesystem::path path_;
  config::LocatedValue root_;
  Organisation organisation_;
  Layer orgLayer_;
  std::map<std::string, Layer, std::less<>> templates_;
  std::vector<Group> groups_;
  std::vector<Gateway> gateways_;
  std::vector<Agent> agents_;
  std::vector<ChannelAccount> accounts_;
  Catalogs catalogs_;
  std::vector<RuntimeVersion> runtimeVersions_;
  std::unordered_map<std::string, std::size_t> groupIndex_;
  std::unordered_map<std::string, std::size_t> gatewayIndex_;
  std::unordered_map<std::string, std::size_t> agentIndex_;
  std::unordered_map<std::string, std::size_t> accountIndex_;
  std::vector<std::filesystem::path> includedFiles_;
  std::optional<ModelProxySettings> modelProxy_;
  std::optional<BackupSettings> backups_;
  std::optional<FleetAlertSettings> alerts_;
  /// Holds the layered-only copies of entries that mix own keys and layered keys (Layer::node).
  std::vector<std::unique_ptr<config::LocatedValue>> layerNodes_;
};

using InventoryPtr = std::shared_ptr<const Inventory>;

}  // namespace talon::fleet
