// `gateway.alerts` and `gateway.channelHealth.recovery` (Talon-only; docs/alerts.md, docs/channels.md
// "Recovery"). Read by the gateway section.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "base/text.h"
#include "config/alerts_config.h"

namespace talon::config {

namespace {

constexpr std::string_view kTargetKinds[] = {"channel", "webhook", "email"};
constexpr std::string_view kSmtpSecurity[] = {"starttls", "tls", "none"};

/// A plain mailbox address (local@domain): no display name, no whitespace, no header-breaking characters.
bool isMailAddress(std::string_view s) {
  auto at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size() || s.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  return std::none_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' ||
           c == '\x7f';
  });
}

/// An id usable in a health record component and a log line.
bool isTargetId(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

void readSecret(ConfigReader& r, const ConfigNode& node, const json::value& value, std::string& into,
                std::optional<SecretRef>& ref, std::string& unavailable) {
  SecretInput in = r.secret(node, value);
  if (in.ref) {
    ref = *in.ref;
    ref->path = node.path;
  } else {
    into = in.value;
    if (!in.unavailable.empty()) unavailable = in.unavailable;
  }
}

void readSmtp(ConfigReader& r, const ConfigNode& node, const json::value& value, AlertTargetConfig& out) {
  const json::object* o = r.object(node, value);
  if (o == nullptr) return;
  r.require(node, *o, "host", "the SMTP server's host name");
  r.readObject(node, *o,
               {{"host",
                 [&](const ConfigNode& c, const json::value& x) {
                   if (auto s = r.string(c, x, true)) out.smtpHost = *s;
                 }},
                {"port",
                 [&](const ConfigNode& c, const json::value& x) {
                   if (auto n = r.integer(c, x, 1, 65535, "1..65535")) out.smtpPort = *n;
                 }},
                {"security",
                 [&](const ConfigNode& c, const json::value& x) {
                   if (auto v = r.enumeration(c, x, kSmtpSecurity)) out.smtpSecurity = *v;
                 }},
                {"username",
                 [&](const ConfigNode& c, const json::value& x) {
                   if (auto s = r.string(c, x, true)) out.smtpUsername = *s;
                 }},
                {"password", [&](const ConfigNode& c, const json::value& x) {
                   readSecret(r, c, x, out.smtpPassword, out.smtpPasswordRef, out.secretUnavailable);
                 }}});
}

void readTarget(ConfigReader& r, const ConfigNode& node, const json::value& value, std::size_t index,
                AlertTargetConfig& out) {
  const json::object* o = r.object(node, value);
  if (o == nullptr) return;
  if (!r.require(node, *o, "kind", "one of \"channel\", \"webhook\", \"email\"")) return;
  std::optional<std::string> kind = r.enumeration(r.child(node, "kind"), o->at("kind"), kTargetKinds);
  if (!kind) return;
  out.kind = *kind;
  std::vector<ConfigReader::Field> fields;
  auto text = [&](std::string_view key, std::string& into) {
    return ConfigReader::Field{key, [&r, &into](const ConfigNode& c, const json::value& x) {
                                 if (auto s = r.string(c, x, true)) into = *s;
                               }};
  };
  auto wrongKind = [&](std::string_view key) {
    return ConfigReader::Field{key, [&r, kindName = out.kind](const ConfigNode& c, const json::value&) {
                                 r.error(c, DiagnosticCode::kValue,
                                         fmt::format("not a key of a \"{}\" alert target", kindName));
                               }};
  };
  ConfigReader::Field idField{"id", [&](const ConfigNode& c, const json::value& x) {
                                auto s = r.string(c, x, true);
                                if (!s) return;
                                if (!isTargetId(*s)) {
                                  r.error(
                                      c, DiagnosticCode::kValue,
                                      fmt::format("{}: expected 1..64 of [A-Za-z0-9._-]", ConfigReader::quoted(*s)));
                                  return;
                                }
                                out.id = *s;
                              }};
  ConfigReader::Field kindField{"kind", [](const ConfigNode&, const json::value&) {}};
  if (out.kind == "channel") {
    r.require(node, *o, "channel", "a channel id such as \"irc\"");
    r.require(node, *o, "to", "a peer: \"user:<id>\", \"group:<id>\" or \"channel:<id>\"");
    r.readObject(node, *o,
                 {idField, kindField, text("channel", out.channel), text("accountId", out.accountId),
                  text("to", out.to), wrongKind("url"), wrongKind("secret"), wrongKind("from"), wrongKind("smtp")});
  } else if (out.kind == "webhook") {
    r.require(node, *o, "url", "an http:// or https:// URL");
    r.require(node, *o, "secret", "the signing secret (alerts are always signed)");
    r.readObject(node, *o,
                 {idField,
                  kindField,
                  {"url",
                   [&](const ConfigNode& c, const json::value& x) {
                     auto s = r.string(c, x, true);
                     if (!s) return;
                     if (!isHttpUrl(*s)) {
                       r.error(c, DiagnosticCode::kValue,
                               fmt::format("{}: expected an http:// or https:// URL", ConfigReader::quoted(*s)));
                       return;
                     }
                     out.url = *s;
                   }},
                  {"secret",
                   [&](const ConfigNode& c, const json::value& x) {
                     readSecret(r, c, x, out.secret, out.secretRef, out.secretUnavailable);
                   }},
                  wrongKind("channel"),
                  wrongKind("accountId"),
                  wrongKind("to"),
                  wrongKind("from"),
                  wrongKind("smtp")});
  } else {
    r.require(node, *o, "to", "the recipient's address");
    r.require(node, *o, "from", "the sender's address");
    r.require(node, *o, "smtp", "object { host, port, security, username, password }");
    auto address = [&](std::string_view key, std::string& into) {
      return ConfigReader::Field{
          key, [&r, &into](const ConfigNode& c, const json::value& x) {
            auto s = r.string(c, x, true);
            if (!s) return;
            if (!isMailAddress(*s)) {
              r.error(c, DiagnosticCode::kValue,
                      fmt::format("{}: expected a mail address (name@example.com)", ConfigReader::quoted(*s)));
              return;
            }
            into = *s;
          }};
    };
    r.readObject(node, *o,
                 {idField,
                  kindField,
                  address("to", out.to),
                  address("from", out.from),
                  {"smtp", [&](const ConfigNode& c, const json::value& x) { readSmtp(r, c, x, out); }},
                  wrongKind("channel"),
                  wrongKind("accountId"),
                  wrongKind("url"),
                  wrongKind("secret")});
  }
  if (out.id.empty()) out.id = fmt::format("{}-{}", out.kind, index);
}

}  // namespace

void readAlertsConfig(ConfigReader& r, const ConfigNode& node, const json::value& value, AlertsConfig& out) {
  r.readObject(node, value,
               {{"targets",
                 [&](const ConfigNode& c, const json::value& x) {
                   const json::array* a = r.array(c, x, "array of alert targets");
                   if (a == nullptr) return;
                   std::set<std::string> ids;
                   for (std::size_t i = 0; i < a->size(); ++i) {
                     ConfigNode item = r.item(c, i);
                     AlertTargetConfig t;
                     readTarget(r, item, (*a)[i], i, t);
                     if (t.kind.empty()) continue;
                     if (!ids.insert(t.id).second) {
                       r.error(item, DiagnosticCode::kValue,
                               fmt::format("duplicate alert target id {}", ConfigReader::quoted(t.id)));
                       continue;
                     }
                     out.targets.push_back(std::move(t));
                   }
                 }},
                {"cooldownSeconds",
                 [&](const ConfigNode& c, const json::value& x) {
                   if (auto n = r.integer(c, x, 0, 7 * 86400, "0..604800 (seconds)")) out.cooldownSeconds = *n;
                 }},
                {"rateLimit", [&](const ConfigNode& c, const json::value& x) {
                   r.readObject(c, x,
                                {{"burst",
                                  [&](const ConfigNode& m, const json::value& y) {
                                    if (auto n = r.integer(m, y, 1, 10'000, "1..10000")) out.rateLimitBurst = *n;
                                  }},
                                 {"refillSeconds", [&](const ConfigNode& m, const json::value& y) {
                                    if (auto n = r.integer(m, y, 1, 86400, "1..86400 (seconds)"))
                                      out.rateLimitRefillSeconds = *n;
                                  }}});
                 }}});
}

void readChannelRecoveryConfig(ConfigReader& r, const ConfigNode& node, const json::value& value,
                               ChannelRecoveryConfig& out) {
  r.readObject(node, value,
               {{"enabled",
                 [&](const ConfigNode& c, const json::value& x) {
                   if (auto b = r.boolean(c, x)) out.enabled = *b;
                 }},
                {"graceSeconds",
                 [&](const ConfigNode& c, const json::value& x) {
                   if (auto n = r.integer(c, x, 0, 86400, "0..86400 (seconds)")) out.graceSeconds = *n;
                 }},
                {"maxAttempts",
                 [&](const ConfigNode& c, const json::value& x) {
                   if (auto n = r.integer(c, x, 0, 100, "0..100")) out.maxAttempts = *n;
                 }},
                {"probeTimeoutSeconds", [&](const ConfigNode& c, const json::value& x) {
                   if (auto n = r.integer(c, x, 1, 3600, "1..3600 (seconds)")) out.probeTimeoutSeconds = *n;
                 }}});
}

}  // namespace talon::config
