#include "fleet/fleet_alerts.h"

#include <ctime>

#include "base/ids.h"
#include "base/text.h"
#include "fleet/model_proxy_settings.h"
#include "net/ws_client.h"
#include "security/webhook_signature.h"

namespace talon::fleet {

namespace {

constexpr std::chrono::milliseconds kFleetAlertTimeout{10'000};

void fleetAlertError(std::vector<config::Diagnostic>& out, const std::string& path,
                     const config::SourceLocation& location, std::string message) {
  out.push_back(
      config::Diagnostic{config::Severity::kError, config::DiagnosticCode::kValue, path, location, std::move(message)});
}

std::string fleetAlertString(const config::LocatedValue& v, std::string_view key) {
  const auto* m = v.findMember(key);
  return m != nullptr && m->value.isString() ? std::string(m->value.scalar.as_string()) : std::string();
}

}  // namespace

FleetAlertSettings readFleetAlertSettings(const config::LocatedValue& section,
                                          std::vector<config::Diagnostic>& diagnostics) {
  FleetAlertSettings out;
  const auto* targets = section.findMember("targets");
  if (targets == nullptr || !targets->value.isArray()) return out;
  std::set<std::string> ids;
  for (std::size_t i = 0; i < targets->value.items.size(); ++i) {
    const config::LocatedValue& t = targets->value.items[i];
    std::string path = "alerts.targets[" + std::to_string(i) + "]";
    FleetAlertTarget target;
    target.location = t.location;
    target.id = fleetAlertString(t, "id");
    if (target.id.empty()) target.id = "webhook-" + std::to_string(i);
    if (!ids.insert(target.id).second)
      fleetAlertError(diagnostics, path + ".id", t.location, "the id \"" + target.id + "\" is used twice");
    target.url = fleetAlertString(t, "url");
    if (!isHttpUrl(target.url)) {
      const auto* u = t.findMember("url");
      fleetAlertError(diagnostics, path + ".url", u != nullptr ? u->value.location : t.location,
                      "\"" + target.url + "\" is not an http(s) URL");
    }
    if (const auto* secret = t.findMember("secret")) {
      if (auto variable = envSecretVariable(secret->value)) {
        target.secretVariable = std::move(*variable);
      } else {
        fleetAlertError(diagnostics, path + ".secret", secret->value.location,
                        "fleet serve reads the signing secret from its environment: use \"${VAR}\" or an env "
                        "SecretRef");
      }
    }
    out.targets.push_back(std::move(target));
  }
  return out;
}

json::object FleetAlert::toJson() const {
  json::object f;
  for (const auto& [k, v] : fields) f[k] = v;
  return json::object{{"type", type},           {"key", key}, {"severity", severity}, {"title", title}, {"text", text},
                      {"fields", std::move(f)}, {"ts", ts}};
}

FleetAlerts::FleetAlerts(FleetAlertSettings settings, EnvironmentLookup env,
                         std::function<void(std::chrono::milliseconds)> sleep, int attempts)
    : settings_(std::move(settings)),
      env_(std::move(env)),
      sleep_(std::move(sleep)),
      attempts_(std::max(attempts, 1)) {}

std::vector<FleetAlertDelivery> FleetAlerts::fire(FleetAlert alert) {
  if (!open_.insert(alert.key).second) return {};
  alert.type = "alert.firing";
  return send(alert);
}

std::vector<FleetAlertDelivery> FleetAlerts::resolve(const std::string& key, const std::string& title,
                                                     const std::string& text, int64_t nowMs) {
  if (open_.erase(key) == 0) return {};
  FleetAlert alert;
  alert.type = "alert.resolved";
  alert.key = key;
  alert.severity = "info";
  alert.title = title;
  alert.text = text;
  alert.ts = nowMs;
  return send(alert);
}

std::vector<FleetAlertDelivery> FleetAlerts::send(const FleetAlert& alert) {
  const std::string body = json::serialize(alert.toJson());
  std::vector<FleetAlertDelivery> out;
  for (const auto& target : settings_.targets) {
    FleetAlertDelivery d;
    d.target = target.id;
    std::optional<std::string> secret = env_ ? env_(target.secretVariable) : std::nullopt;
    if (target.secretVariable.empty() || !secret || secret->empty()) {
      d.error = "the signing secret " +
                (target.secretVariable.empty() ? std::string("(none)") : target.secretVariable) +
                " is not set: not sent (an alert is never sent unsigned)";
      out.push_back(std::move(d));
      continue;
    }
    const std::string delivery = newUuid();
    for (int attempt = 1; attempt <= attempts_; ++attempt) {
      d.attempts = attempt;
      const int64_t now = static_cast<int64_t>(std::time(nullptr));
      net::Headers headers{{"Content-Type", "application/json"},
                           {"User-Agent", "talon-fleet"},
                           {"X-Talon-Delivery", delivery},
                           {std::string(security::kWebhookTimestampHeader), std::to_string(now)},
                           {std::string(security::kWebhookSignatureHeader), security::signWebhook(*secret, now, body)}};
      auto r = net::httpRequest("POST", target.url, headers, body, kFleetAlertTimeout);
      bool retry = false;
      if (!r) {
        d.status = 0;
        d.error = r.error().message;
        retry = true;
      } else {
        d.status = r->status;
        if (r->status >= 200 && r->status < 300) {
          d.delivered = true;
          d.error.clear();
          break;
        }
        d.error = "the target answered " + std::to_string(r->status);
        retry = r->status >= 500;
      }
      if (!retry || attempt == attempts_) break;
      if (sleep_) sleep_(std::chrono::milliseconds(1000LL << (attempt - 1)));
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace talon::fleet
