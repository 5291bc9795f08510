#include "fleet/inventory.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "base/file_io.h"
#include "config/include_resolver.h"
#include "config/json5.h"

namespace talon::fleet {

using config::Diagnostic;
using config::DiagnosticCode;
using config::LocatedValue;
using config::Severity;
using config::SourceLocation;

std::string Layer::label() const {
  if (kind == LayerKind::kOrg) return "org";
  return std::string(layerKindName(kind)) + ":" + name;
}

namespace {

std::string stringOf(const LocatedValue& entry, std::string_view key) {
  const auto* m = entry.findMember(key);
  return m != nullptr && m->value.isString() ? std::string(m->value.scalar.as_string()) : std::string();
}

std::optional<std::string> optionalString(const LocatedValue& entry, std::string_view key) {
  const auto* m = entry.findMember(key);
  if (m == nullptr || !m->value.isString()) return std::nullopt;
  return std::string(m->value.scalar.as_string());
}

std::vector<std::string> stringsOf(const LocatedValue& entry, std::string_view key) {
  std::vector<std::string> out;
  const auto* m = entry.findMember(key);
  if (m == nullptr || !m->value.isArray()) return out;
  for (const auto& item : m->value.items) {
    if (item.isString()) out.emplace_back(item.scalar.as_string());
  }
  return out;
}

void error(std::vector<Diagnostic>& out, const std::string& path, const SourceLocation& location, std::string message) {
  out.push_back(Diagnostic{Severity::kError, DiagnosticCode::kValue, path, location, std::move(message)});
}

/// OpenClaw's agent id pattern (schema `^[a-z0-9_][a-z0-9_-]{0,63}$`); gateway, group and account ids use
/// the same rule so that they can name directories and config keys unchanged.
bool isValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (i > 0 && c == '-');
    if (!ok) return false;
  }
  return true;
}

Status failWith(const std::filesystem::path& path, std::vector<Diagnostic> diagnostics) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.location.file != b.location.file) return false;
    return std::pair(a.location.line, a.location.column) < std::pair(b.location.line, b.location.column);
  });
  std::string message = path.string() + ": invalid fleet inventory";
  json::array issues;
  std::size_t kept = 0;
  for (const auto& d : diagnostics) {
    if (!d.isError()) continue;
    if (kept++ == config::kMaxDiagnostics) break;
    message += "\n" + d.toString();
    issues.push_back(d.toJson());
  }
  if (kept > config::kMaxDiagnostics) message += "\n... and more diagnostics";
  Error e(ErrorCode::kConfigInvalid, message, "invalid fleet inventory");
  e.details["path"] = path.string();
  e.details["issues"] = std::move(issues);
  return Unexpected<Error>(std::move(e));
}

}  // namespace

const Layer* Inventory::findTemplate(std::string_view name) const {
  auto it = templates_.find(name);
  return it == templates_.end() ? nullptr : &it->second;
}
const Group* Inventory::findGroup(std::string_view id) const {
  auto it = groupIndex_.find(std::string(id));
  return it == groupIndex_.end() ? nullptr : &groups_[it->second];
}
const Gateway* Inventory::findGateway(std::string_view id) const {
  auto it = gatewayIndex_.find(std::string(id));
  return it == gatewayIndex_.end() ? nullptr : &gateways_[it->second];
}
const RuntimeVersion* Inventory::findRuntimeVersion(std::string_view runtime, std::string_view version) const {
  for (const auto& v : runtimeVersions_) {
    if (v.runtime == runtime && v.version == version) return &v;
  }
  return nullptr;
}
const Agent* Inventory::findAgent(std::string_view id) const {
  auto it = agentIndex_.find(std::string(id));
  return it == agentIndex_.end() ? nullptr : &agents_[it->second];
}
const ChannelAccount* Inventory::findAccount(std::string_view channel, std::string_view id) const {
  auto it = accountIndex_.find(std::string(channel) + "\n" + std::string(id));
  return it == accountIndex_.end() ? nullptr : &accounts_[it->second];
}

Result<InventoryPtr> Inventory::load(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return fail(ErrorCode::kNotFound, "fleet inventory " + path.string() + " does not exist");
  }
  auto text = readFile(path, config::kMaxIncludeFileBytes);
  if (!text) return fail(text.error());
  return parse(*text, path);
}

Result<InventoryPtr> Inventory::parse(std::string_view text, const std::filesystem::path& rawPath) {
  return parse(text, rawPath, {});
}

Result<InventoryPtr> Inventory::parse(std::string_view text, const std::filesystem::path& rawPath,
                                      const std::map<std::filesystem::path, std::string>& includedTexts) {
  std::filesystem::path path = std::filesystem::absolute(rawPath).lexically_normal();
  std::vector<Diagnostic> diagnostics;
  auto parsed = config::parseJson5Located(text, path.string());
  if (!parsed) {
    diagnostics.push_back(
        Diagnostic{Severity::kError, DiagnosticCode::kParse, "", parsed.error().location, parsed.error().message});
    return fail(failWith(path, std::move(diagnostics)).error());
  }
  config::IncludeOptions includeOptions;
  includeOptions.contentOverrides = &includedTexts;
  config::IncludeResult included = config::resolveIncludes(std::move(*parsed), path, includeOptions, diagnostics);
  if (config::hasErrors(diagnostics)) return fail(failWith(path, std::move(diagnostics)).error());

  std::shared_ptr<Inventory> inv(new Inventory());
  inv->path_ = path;
  inv->root_ = std::move(included.value);
  inv->includedFiles_ = std::move(included.files);
  const LocatedValue& root = inv->root_;
  if (!root.isObject()) {
    diagnostics.push_back(
        Diagnostic{Severity::kError, DiagnosticCode::kType, "", root.location, "the inventory must be an object"});
    return fail(failWith(path, std::move(diagnostics)).error());
  }
  validateFields(root, inventorySchema(), "", kAllLayers, diagnostics);
  if (config::hasErrors(diagnostics)) return fail(failWith(path, std::move(diagnostics)).error());

  // Splits an entry into its layered keys (a Layer) and its own keys (read by the caller).
  auto makeLayer = [&](LayerKind kind, std::string name, const LocatedValue* entry,
                       std::initializer_list<std::string_view> ownKeys = {}) {
    Layer layer;
    layer.kind = kind;
    layer.name = std::move(name);
    if (entry == nullptr) {
      layer.location = root.location;
      return layer;
    }
    layer.location = entry->location;
    auto node = std::make_unique<LocatedValue>(LocatedValue::makeObject(entry->location));
    for (const auto& m : entry->members) {
      bool layered = std::find(ownKeys.begin(), ownKeys.end(), m.key) != ownKeys.end();
      for (const auto& spec : layeredSchema()) layered = layered || spec.name == m.key;
      if (layered) node->members.push_back(m);
    }
    layer.value = config::toJsonValue(*node).as_object();
    layer.node = node.get();
    inv->layerNodes_.push_back(std::move(node));
    return layer;
  };
  auto section = [&](std::string_view key) -> const config::LocatedMember* { return root.findMember(key); };
  auto checkId = [&](const std::string& path, const config::LocatedMember& m) {
    if (!isValidId(m.key)) {
      error(diagnostics, path, m.keyLocation,
            "\"" + m.key + "\" is not a valid id (lower-case letters, digits, '_' and '-', at most 64)");
    }
  };

  const LocatedValue& org = section("organisation")->value;
  inv->organisation_ = {stringOf(org, "id"), stringOf(org, "slug"), stringOf(org, "displayName")};
  {
    const auto& slug = inv->organisation_.slug;
    bool ok = !slug.empty();
    for (char c : slug) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    if (!ok) {
      error(diagnostics, "organisation.slug", org.findMember("slug")->keyLocation,
            "\"" + slug + "\" is not a slug (lower-case letters, digits and '-')");
    }
  }
  const auto* defaults = section("defaults");
  inv->orgLayer_ = makeLayer(LayerKind::kOrg, "", defaults != nullptr ? &defaults->value : nullptr);

  if (const auto* templates = section("templates")) {
    for (const auto& m : templates->value.members) {
      inv->templates_.emplace(m.key, makeLayer(LayerKind::kTemplate, m.key, &m.value));
    }
  }
  auto checkTemplates = [&](const std::string& path, const LocatedValue& entry) {
    const auto* t = entry.findMember("templates");
    if (t == nullptr) return;
    for (std::size_t i = 0; i < t->value.items.size(); ++i) {
      std::string name(t->value.items[i].scalar.as_string());
      if (inv->templates_.find(name) == inv->templates_.end()) {
        error(diagnostics, config::appendPathIndex(path + ".templates", i), t->value.items[i].location,
              "unknown template \"" + name + "\"");
      }
    }
  };

  if (const auto* groups = section("groups")) {
    for (const auto& m : groups->value.members) {
      std::string path = config::appendPathKey("groups", m.key);
      checkId(path, m);
      checkTemplates(path, m.value);
      Group g;
      g.id = m.key;
      g.displayName = stringOf(m.value, "displayName");
      g.templates = stringsOf(m.value, "templates");
      g.layer = makeLayer(LayerKind::kGroup, m.key, &m.value);
      inv->groups_.push_back(std::move(g));
    }
  }
  std::sort(inv->groups_.begin(), inv->groups_.end(), [](const Group& a, const Group& b) { return a.id < b.id; });
  for (std::size_t i = 0; i < inv->groups_.size(); ++i) inv->groupIndex_.emplace(inv->groups_[i].id, i);

  if (const auto* gateways = section("gateways")) {
    for (const auto& m : gateways->value.members) {
      std::string path = config::appendPathKey("gateways", m.key);
      checkId(path, m);
      checkTemplates(path, m.value);
      Gateway g;
      g.id = m.key;
      g.displayName = stringOf(m.value, "displayName");
      g.group = stringOf(m.value, "group");
      if (!g.group.empty() && inv->groupIndex_.find(g.group) == inv->groupIndex_.end()) {
        error(diagnostics, path + ".group", m.value.findMember("group")->keyLocation,
              "unknown group \"" + g.group + "\"");
      }
      g.templates = stringsOf(m.value, "templates");
      // The gateway's own port and paths live in its layer too, so that explain shows where they were set.
      g.layer = makeLayer(LayerKind::kGateway, m.key, &m.value, {"port", "stateDir", "configPath", "workspaceRoot"});
      inv->gateways_.push_back(std::move(g));
    }
  }
  std::sort(inv->gateways_.begin(), inv->gateways_.end(),
            [](const Gateway& a, const Gateway& b) { return a.id < b.id; });
  for (std::size_t i = 0; i < inv->gateways_.size(); ++i) inv->gatewayIndex_.emplace(inv->gateways_[i].id, i);

  if (const auto* accounts = section("accounts")) {
    for (const auto& ch : accounts->value.members) {
      for (const auto& m : ch.value.members) {
        std::string path = config::appendPathKey(config::appendPathKey("accounts", ch.key), m.key);
        checkId(path, m);
        ChannelAccount a;
        a.channel = ch.key;
        a.id = m.key;
        a.settings = config::toJsonValue(m.value).as_object();
        a.location = m.keyLocation;
        inv->accounts_.push_back(std::move(a));
      }
    }
  }
  std::sort(inv->accounts_.begin(), inv->accounts_.end(), [](const ChannelAccount& a, const ChannelAccount& b) {
    return std::tie(a.channel, a.id) < std::tie(b.channel, b.id);
  });
  for (std::size_t i = 0; i < inv->accounts_.size(); ++i) {
    inv->accountIndex_.emplace(inv->accounts_[i].channel + "\n" + inv->accounts_[i].id, i);
  }

  if (const auto* agents = section("agents")) {
    for (const auto& m : agents->value.members) {
      std::string path = config::appendPathKey("agents", m.key);
      checkId(path, m);
      checkTemplates(path, m.value);
      Agent a;
      a.id = m.key;
      a.displayName = stringOf(m.value, "displayName");
      a.gateway = stringOf(m.value, "gateway");
      if (inv->gatewayIndex_.find(a.gateway) == inv->gatewayIndex_.end()) {
        error(diagnostics, path + ".gateway", m.value.findMember("gateway")->keyLocation,
              "unknown gateway \"" + a.gateway + "\"");
      }
      a.kind = stringOf(m.value, "kind");
      a.owner = stringOf(m.value, "owner");
      a.templates = stringsOf(m.value, "templates");
      a.workspace = optionalString(m.value, "workspace");
      a.agentDir = optionalString(m.value, "agentDir");
      if (const auto* acc = m.value.findMember("accounts")) {
        for (const auto& e : acc->value.members) {
          std::string accountId(e.value.scalar.as_string());
          if (inv->findAccount(e.key, accountId) == nullptr) {
            error(diagnostics, config::appendPathKey(path + ".accounts", e.key), e.keyLocation,
                  "unknown account \"" + accountId + "\" (not in accounts." + e.key + ")");
          }
          a.accounts.emplace(e.key, std::pair(accountId, e.keyLocation));
        }
      }
      if (const auto* bindings = m.value.findMember("bindings")) {
        for (std::size_t i = 0; i < bindings->value.items.size(); ++i) {
          const LocatedValue& b = bindings->value.items[i];
          std::string bpath = config::appendPathIndex(path + ".bindings", i);
          BindingMatch match;
          match.location = b.location;
          match.channel = stringOf(b, "channel");
          if (match.channel.empty()) {
            if (a.accounts.size() == 1) {
              match.channel = a.accounts.begin()->first;
            } else {
              error(diagnostics, bpath, b.location,
                    "a binding needs \"channel\" unless the agent maps exactly one account");
            }
          }
          match.accountId = optionalString(b, "accountId");
          if (const auto* peer = b.findMember("peer")) {
            match.peerKind = stringOf(peer->value, "kind");
            match.peerId = stringOf(peer->value, "id");
          }
          match.guildId = optionalString(b, "guildId");
          match.teamId = optionalString(b, "teamId");
          match.roles = stringsOf(b, "roles");
          a.bindings.push_back(std::move(match));
        }
      }
      a.layer = makeLayer(LayerKind::kAgent, m.key, &m.value, {"workspace", "agentDir"});
      inv->agents_.push_back(std::move(a));
    }
  }
  std::sort(inv->agents_.begin(), inv->agents_.end(), [](const Agent& a, const Agent& b) { return a.id < b.id; });
  for (std::size_t i = 0; i < inv->agents_.size(); ++i) inv->agentIndex_.emplace(inv->agents_[i].id, i);

  if (const auto* catalogs = section("catalogs")) {
    auto read = [&](std::string_view key, std::map<std::string, CatalogEntry>& out, bool integration) {
      const auto* c = catalogs->value.findMember(key);
      if (c == nullptr) return;
      for (const auto& m : c->value.members) {
        CatalogEntry e;
        e.id = m.key;
        e.kind = stringOf(m.value, "kind");
        if (auto s = optionalString(m.value, "status")) e.status = *s;
        e.installMethod = stringOf(m.value, "installMethod");
        if (auto t = optionalString(m.value, integration ? "trustTier" : "tier")) e.tier = *t;
        e.owner = stringOf(m.value, "owner");
        e.location = m.keyLocation;
        out.emplace(m.key, std::move(e));
      }
    };
    read("integrations", inv->catalogs_.integrations, true);
    read("skills", inv->catalogs_.skills, false);
    read("models", inv->catalogs_.models, false);
  }
  if (const auto* runtimes = section("runtimes")) {
    for (const auto& rt : runtimes->value.members) {
      const auto* versions = rt.value.findMember("versions");
      if (versions == nullptr) continue;
      for (const auto& v : versions->value.members) {
        RuntimeVersion entry;
        entry.runtime = rt.key;
        entry.version = v.key;
        entry.binary = stringOf(v.value, "binary");
        entry.description = stringOf(v.value, "description");
        entry.location = v.keyLocation;
        std::string vpath = config::appendPathKey("runtimes." + rt.key + ".versions", v.key);
        if (v.key.empty()) error(diagnostics, vpath, v.keyLocation, "a version must not be empty");
        if (!std::filesystem::path(entry.binary).is_absolute()) {
          const auto* b = v.value.findMember("binary");
          error(diagnostics, vpath + ".binary", b != nullptr ? b->value.location : v.keyLocation,
                "\"" + entry.binary + "\" is not an absolute path");
        }
        inv->runtimeVersions_.push_back(std::move(entry));
      }
    }
    std::sort(inv->runtimeVersions_.begin(), inv->runtimeVersions_.end(),
              [](const RuntimeVersion& a, const RuntimeVersion& b) {
                return std::tie(a.runtime, a.version) < std::tie(b.runtime, b.version);
              });
  }
  if (const auto* proxy = section("modelProxy")) {
    inv->modelProxy_ = readModelProxySettings(
        proxy->value, [&](std::string_view id) { return inv->findGateway(id) != nullptr; },
        [&](std::string_view id) -> std::optional<std::string> {
          const Agent* agent = inv->findAgent(id);
          return agent != nullptr ? std::optional<std::string>(agent->gateway) : std::nullopt;
        },
        diagnostics);
  }
  if (const auto* backups = section("backups")) inv->backups_ = readBackupSettings(backups->value);
  if (const auto* alerts = section("alerts")) inv->alerts_ = readFleetAlertSettings(alerts->value, diagnostics);
  if (config::hasErrors(diagnostics)) return fail(failWith(path, std::move(diagnostics)).error());
  return InventoryPtr(std::move(inv));
}

}  // namespace talon::fleet
