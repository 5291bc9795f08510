// `channels`: who may reach the agents through each channel account — DM policy, group policy, sender
// allowlists and mention gating (OpenClaw docs/gateway/config-channels/shared-policies.md,
// docs/channels/pairing.md, docs/channels/groups.md). Talon reads the access keys of every channel
// OpenClaw's schema gives them to (and of Talon's own channels), and the transport keys each channel
// adapter declares (config/channel_transports.h) into ChannelSettings; any other key (a transport Talon has
// no adapter for) is reported as not supported yet. Defaults and inheritance: config_model.h
// ChannelAccessConfig; the access gate (gateway/routing/access_gate.h) applies them.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <span>

#include "config/channel_transports.h"
#include "config/config_sections.h"
#include "config/openclaw_key_paths.h"

namespace talon::config {

namespace {

/// Talon's own channels (transport specs marked talonOnly), which OpenClaw's schema does not know: every
/// access key applies to them.
bool isTalonChannel(std::string_view channel) {
  const ChannelTransportSpec* t = findChannelTransport(channel);
  return t != nullptr && t->talonOnly;
}

const ChannelSettingSpec* findSetting(std::span<const ChannelSettingSpec> specs, std::string_view key) {
  for (const auto& s : specs) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

/// Reads one transport setting of type `type` into `out` (see ChannelSettingType).
void readSetting(ConfigReader& r, const ConfigNode& node, std::string_view key, const ChannelSettingSpec& spec,
                 const json::value& value, ChannelSettings& out) {
  const std::string k(key);
  switch (spec.type) {
    case ChannelSettingType::kString:
      if (auto v = r.string(node, value)) out.values[k] = *v;
      break;
    case ChannelSettingType::kSecret: {
      SecretInput in = r.secret(node, value);
      if (in.ref) {
        out.secretRefs[k] = *in.ref;
      } else if (!in.unavailable.empty()) {
        out.unavailable[k] = in.unavailable;
      } else if (in.present) {
        out.values[k] = in.value;
      }
      break;
    }
    case ChannelSettingType::kInteger:
      if (auto v = r.integer(node, value, INT64_MIN, INT64_MAX, "an integer")) out.values[k] = *v;
      break;
    case ChannelSettingType::kBoolean:
      if (auto v = r.boolean(node, value)) out.values[k] = *v;
      break;
    case ChannelSettingType::kStringList:
      if (auto v = r.stringArray(node, value)) {
        json::array a;
        for (auto& e : *v) a.emplace_back(e);
        out.values[k] = std::move(a);
      }
      break;
    case ChannelSettingType::kObject:
      if (r.object(node, value) != nullptr) out.values[k] = value;
      break;
    case ChannelSettingType::kArray:
      if (r.array(node, value) != nullptr) out.values[k] = value;
      break;
  }
  if (spec.check != nullptr && out.values.contains(k)) spec.check(r, node, out.values.at(k));
}

/// A sender allowlist: strings, or integers (OpenClaw accepts numeric ids such as Telegram user ids and
/// compares them as strings).
std::optional<std::vector<std::string>> readAllowList(ConfigReader& r, const ConfigNode& node,
                                                      const json::value& value) {
  const json::array* a = r.array(node, value, "array of strings");
  if (a == nullptr) return std::nullopt;
  std::vector<std::string> out;
  bool ok = true;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const json::value& v = (*a)[i];
    if (v.is_int64() || v.is_uint64()) {
      out.push_back(v.is_int64() ? std::to_string(v.get_int64()) : std::to_string(v.get_uint64()));
    } else if (auto s = r.string(r.item(node, i), v)) {
      out.push_back(*s);
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

void readGroups(ConfigReader& r, const ConfigNode& node, const json::value& value, std::string_view schemaPrefix,
                bool talonChannel, ChannelAccessConfig& out) {
  const json::object* o = r.object(node, value);
  if (o == nullptr) return;
  std::map<std::string, ChannelGroupConfig> groups;
  for (const auto& kv : *o) {
    std::string_view id(kv.key().data(), kv.key().size());
    ConfigNode gc = r.child(node, id, "*");
    const json::object* g = r.object(gc, kv.value());
    if (g == nullptr) continue;
    ChannelGroupConfig group;
    for (const auto& member : *g) {
      std::string_view key(member.key().data(), member.key().size());
      if (key == "requireMention" &&
          (talonChannel || isOpenClawKeyPath(fmt::format("{}.groups.*.requireMention", schemaPrefix)))) {
        if (auto b = r.boolean(r.child(gc, key), member.value())) group.requireMention = *b;
      } else {
        r.unknownKey(gc, key);
      }
    }
    groups.emplace(std::string(id), group);
  }
  out.groups = std::move(groups);
}

/// Reads the access keys of a channel or an account object; `schemaPrefix` is its schema path
/// ("channels.telegram" or "channels.telegram.accounts.*"). A key OpenClaw does not give this channel is
/// reported as readObject would.
void readAccess(ConfigReader& r, const ConfigNode& node, const json::object& object, std::string_view schemaPrefix,
                bool talonChannel, const ChannelTransportSpec* transport, ChannelAccessConfig& out,
                ChannelSettings& settings, const json::value** accounts, std::string* defaultAccount) {
  for (const auto& kv : object) {
    std::string_view key(kv.key().data(), kv.key().size());
    ConfigNode c = r.child(node, key);
    const json::value& x = kv.value();
    auto known = [&] { return talonChannel || isOpenClawKeyPath(fmt::format("{}.{}", schemaPrefix, key)); };
    if (key == "accounts" && accounts != nullptr && known()) {
      *accounts = &x;
    } else if (key == "dmPolicy" && known()) {
      if (auto s = r.enumeration(c, x, kDmPolicies)) out.dmPolicy = *s;
    } else if (key == "groupPolicy" && known()) {
      if (auto s = r.enumeration(c, x, kGroupPolicies)) out.groupPolicy = *s;
    } else if (key == "allowFrom" && known()) {
      if (auto l = readAllowList(r, c, x)) out.allowFrom = std::move(*l);
    } else if (key == "groupAllowFrom" && known()) {
      if (auto l = readAllowList(r, c, x)) out.groupAllowFrom = std::move(*l);
    } else if (key == "groups" && known()) {
      readGroups(r, c, x, schemaPrefix, talonChannel, out);
    } else if (key == "defaultAccount" && defaultAccount != nullptr && transport != nullptr && known()) {
      if (auto v = r.string(c, x, true)) *defaultAccount = *v;
    } else if (const ChannelSettingSpec* spec = transport ? findSetting(commonChannelSettings(), key) : nullptr;
               spec != nullptr && known()) {
      readSetting(r, c, key, *spec, x, settings);
    } else if (const ChannelSettingSpec* t = transport ? findSetting(transport->settings, key) : nullptr;
               t != nullptr && known()) {
      readSetting(r, c, key, *t, x, settings);
    } else {
      r.unknownKey(node, key);
    }
  }
}

void readChannels(ConfigReader& r, const ConfigNode& node, const json::value& value, TalonConfig& config) {
  const json::object* o = r.object(node, value);
  if (o == nullptr) return;
  ChannelsConfig& out = config.channels;
  for (const auto& kv : *o) {
    std::string_view id(kv.key().data(), kv.key().size());
    ConfigNode c = r.child(node, id);
    if (id == "defaults") {
      r.readObject(c, kv.value(),
                   {
                       {"groupPolicy",
                        [&](const ConfigNode& k, const json::value& y) {
                          if (auto s = r.enumeration(k, y, kGroupPolicies)) out.defaultGroupPolicy = *s;
                        }},
                   });
      continue;
    }
    const bool talon = isTalonChannel(id);
    if (!talon && !isOpenClawKeyPath(c.schema)) {
      r.unknownKey(node, id);
      continue;
    }
    const ChannelTransportSpec* transport = findChannelTransport(id);
    if (transport == nullptr) {
      // A channel the gateway could not start: refused rather than accepted and never run. Its keys are
      // still read below, so their own errors are reported too.
      r.error(c, DiagnosticCode::kUnsupportedKey,
              fmt::format("OpenClaw channel {} is not supported by Talon yet (no channel adapter)",
                          ConfigReader::quoted(id)));
    }
    const json::object* ch = r.object(c, kv.value());
    if (ch == nullptr) continue;
    ChannelConfig channel;
    channel.id = std::string(id);
    const json::value* accounts = nullptr;
    readAccess(r, c, *ch, c.schema, talon, transport, channel.access, channel.settings, &accounts,
               &channel.defaultAccount);
    if (accounts != nullptr) {
      ConfigNode ac = r.child(c, "accounts");
      if (const json::object* a = r.object(ac, *accounts)) {
        const std::string accountSchema = c.schema + ".accounts.*";
        for (const auto& akv : *a) {
          std::string_view accountId(akv.key().data(), akv.key().size());
          ConfigNode acc = r.child(ac, accountId, "*");
          const json::object* ao = r.object(acc, akv.value());
          if (ao == nullptr) continue;
          ChannelAccessConfig account;
          ChannelSettings settings;
          readAccess(r, acc, *ao, accountSchema, talon, transport, account, settings, nullptr, nullptr);
          channel.accounts.emplace(std::string(accountId), std::move(account));
          channel.accountSettings.emplace(std::string(accountId), std::move(settings));
        }
      }
    }
    out.entries.push_back(std::move(channel));
  }
}

bool hasWildcard(const std::vector<std::string>& list) {
  return std::any_of(list.begin(), list.end(), [](const std::string& e) { return e == "*"; });
}

/// OpenClaw's dmPolicy/allowFrom dependency rule (dist `validation-core`, buildDmPolicyDependencyWarning):
/// "open" without "*" in the effective allowFrom, or "allowlist" with an empty one, drops DMs; OpenClaw
/// 2026.9.6 reports it as a warning at the allowFrom path, and so does Talon, with OpenClaw's wording.
void checkDmPolicyDependency(ConfigReader& r, const ChannelConfig& channel, const ChannelAccessConfig& scope,
                             const std::string* accountId) {
  const std::string base = "channels." + channel.id;
  const std::string scopePath = accountId ? base + ".accounts." + *accountId : base;
  const std::string* policy = scope.dmPolicy ? &*scope.dmPolicy : nullptr;
  if (accountId && !policy && channel.access.dmPolicy) policy = &*channel.access.dmPolicy;
  if (!policy) return;
  const bool inherited = accountId && !scope.allowFrom;
  const std::vector<std::string> empty;
  const std::vector<std::string>& allow =
      scope.allowFrom ? *scope.allowFrom : (accountId && channel.access.allowFrom ? *channel.access.allowFrom : empty);
  const std::string allowPath = scopePath + ".allowFrom";
  const std::string subject = inherited ? allowPath + " is unset and " + base + ".allowFrom" : allowPath;
  const std::string inheritedTarget = inherited ? " or " + base + ".allowFrom" : "";
  const std::string overrideFix =
      accountId && !inherited ? ", remove " + allowPath + " to inherit " + base + ".allowFrom," : "";
  std::string message;
  if (*policy == "open" && !hasWildcard(allow)) {
    message = fmt::format(
        "{}.dmPolicy=\"open\" but {} does not include \"*\"; all DMs will be dropped. Add \"*\" to {}{}{} or set "
        "{}.dmPolicy to \"pairing\"/\"allowlist\".",
        scopePath, subject, allowPath, inheritedTarget, overrideFix, scopePath);
  } else if (*policy == "allowlist" && allow.empty()) {
    message = fmt::format(
        "{}.dmPolicy=\"allowlist\" but {} is empty; all DMs will be dropped. Add at least one sender ID to {}{}{} or "
        "change {}.dmPolicy.",
        scopePath, subject, allowPath, inheritedTarget, overrideFix, scopePath);
  } else {
    return;
  }
  ConfigNode at{allowPath, "", {}};
  if (const SourceLocation* l = r.locate(allowPath)) {
    at.location = *l;
  } else if (const SourceLocation* l2 = r.locate(scopePath + ".dmPolicy")) {
    at.location = *l2;
  }
  r.warning(at, DiagnosticCode::kValue, std::move(message));
}

void finishChannels(ConfigReader& r, TalonConfig& config) {
  for (const auto& channel : config.channels.entries) {
    if (!channel.defaultAccount.empty() && !channel.accounts.empty() &&
        channel.accounts.find(channel.defaultAccount) == channel.accounts.end()) {
      const std::string path = "channels." + channel.id + ".defaultAccount";
      ConfigNode at{path, "", {}};
      if (const SourceLocation* l = r.locate(path)) at.location = *l;
      r.error(at, DiagnosticCode::kValue,
              fmt::format("names no account of channels.{}.accounts: {}", channel.id,
                          ConfigReader::quoted(channel.defaultAccount)));
    }
    checkDmPolicyDependency(r, channel, channel.access, nullptr);
    for (const auto& [id, account] : channel.accounts) checkDmPolicyDependency(r, channel, account, &id);
  }
}

}  // namespace

extern const ConfigSection kChannelsSection;
const ConfigSection kChannelsSection{"channels", readChannels, finishChannels};

}  // namespace talon::config
