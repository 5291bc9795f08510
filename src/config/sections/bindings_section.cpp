// `bindings[]`: route bindings from (channel, account, peer, guild, team, roles) to an agent (OpenClaw
// docs/concepts/agent-bindings.md, docs/channels/channel-routing.md). Type "acp" is not supported yet.
// A binding with a field Talon cannot use is reported and left out of TalonConfig::bindings. Whether
// `agentId` names a configured agent is a cross-section check (config_validator.cpp).
#include "config/config_sections.h"

namespace talon::config {

namespace {

constexpr std::string_view kPeerKinds[] = {"direct", "group", "channel"};
constexpr std::string_view kBindingTypes[] = {"route", "acp"};
constexpr std::string_view kBindingTypesUnsupported[] = {"acp"};

bool readPeer(ConfigReader& r, const ConfigNode& node, const json::value& value, PeerMatch& out) {
  const json::object* p = r.object(node, value);
  if (p == nullptr) return false;
  bool ok = true;
  r.readObject(node, *p,
               {
                   {"kind",
                    [&](const ConfigNode& k, const json::value& y) {
                      if (y.is_string() && y.get_string() == "dm") {
                        r.warning(k, DiagnosticCode::kValue,
                                  "peer kind \"dm\" is a legacy alias of \"direct\"; use \"direct\"");
                        out.kind = "direct";
                      } else if (auto s = r.enumeration(k, y, kPeerKinds)) {
                        out.kind = *s;
                      } else {
                        ok = false;
                      }
                    }},
                   {"id",
                    [&](const ConfigNode& k, const json::value& y) {
                      if (auto s = r.string(k, y, /*nonEmpty=*/true)) {
                        out.id = *s;
                      } else {
                        ok = false;
                      }
                    }},
               });
  ok = r.require(node, *p, "kind", "one of \"direct\", \"group\", \"channel\"") && ok;
  ok = r.require(node, *p, "id", "string") && ok;
  return ok;
}

bool readMatch(ConfigReader& r, const ConfigNode& node, const json::value& value, BindingMatch& out) {
  const json::object* o = r.object(node, value);
  if (o == nullptr) return false;
  bool ok = true;
  auto optionalString = [&](std::optional<std::string>& field) {
    return [&](const ConfigNode& c, const json::value& x) {
      if (auto s = r.string(c, x)) {
        field = *s;
      } else {
        ok = false;
      }
    };
  };
  r.readObject(node, *o,
               {
                   {"channel",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto s = r.string(c, x, /*nonEmpty=*/true)) {
                        out.channel = *s;
                      } else {
                        ok = false;
                      }
                    }},
                   {"accountId", optionalString(out.accountId)},
                   {"peer",
                    [&](const ConfigNode& c, const json::value& x) {
                      PeerMatch peer;
                      if (readPeer(r, c, x, peer)) {
                        out.peer = std::move(peer);
                      } else {
                        ok = false;
                      }
                    }},
                   {"guildId", optionalString(out.guildId)},
                   {"teamId", optionalString(out.teamId)},
                   {"roles",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto roles = r.stringArray(c, x)) {
                        out.roles = *roles;
                      } else {
                        ok = false;
                      }
                    }},
               });
  if (!r.require(node, *o, "channel", "non-empty string")) ok = false;
  return ok;
}

void readBindings(ConfigReader& r, const ConfigNode& node, const json::value& value, TalonConfig& config) {
  const json::array* a = r.array(node, value);
  if (a == nullptr) return;
  for (std::size_t i = 0; i < a->size(); ++i) {
    ConfigNode bc = r.item(node, i);
    const json::object* o = r.object(bc, (*a)[i]);
    if (o == nullptr) continue;
    BindingConfig b;
    bool usable = true;
    r.readObject(bc, *o,
                 {
                     {"type",
                      [&](const ConfigNode& c, const json::value& x) {
                        if (!r.enumeration(c, x, kBindingTypes, kBindingTypesUnsupported)) usable = false;
                      }},
                     {"agentId",
                      [&](const ConfigNode& c, const json::value& x) {
                        if (auto s = r.string(c, x, /*nonEmpty=*/true)) {
                          b.agentId = *s;
                        } else {
                          usable = false;
                        }
                      }},
                     {"comment",
                      [&](const ConfigNode& c, const json::value& x) {
                        if (auto s = r.string(c, x)) b.comment = *s;
                      }},
                     {"match",
                      [&](const ConfigNode& c, const json::value& x) {
                        if (!readMatch(r, c, x, b.match)) usable = false;
                      }},
                     {"session",
                      [&](const ConfigNode& c, const json::value& x) {
                        r.readObject(c, x,
                                     {
                                         {"dmScope",
                                          [&](const ConfigNode& d, const json::value& y) {
                                            if (auto s = r.enumeration(d, y, kDmScopes)) b.dmScope = *s;
                                          }},
                                         {"groupScope",
                                          [&](const ConfigNode& g, const json::value& y) {
                                            if (auto s = r.enumeration(g, y, kGroupScopes)) b.groupScope = *s;
                                          }},
                                     });
                      }},
                 });
    if (!r.require(bc, *o, "agentId", "string")) usable = false;
    if (!r.require(bc, *o, "match", "object {channel, ...}")) usable = false;
    if (usable) {
      b.index = i;
      config.bindings.push_back(std::move(b));
    }
  }
}

}  // namespace

extern const ConfigSection kBindingsSection;
const ConfigSection kBindingsSection{"bindings", readBindings};

}  // namespace talon::config
