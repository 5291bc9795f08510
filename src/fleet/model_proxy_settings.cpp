#include "fleet/model_proxy_settings.h"

#include <algorithm>
#include <charconv>

#include "base/text.h"
#include "config/source_map.h"

namespace talon::fleet {

namespace {

using config::Diagnostic;
using config::DiagnosticCode;
using config::LocatedValue;

void proxySettingsError(std::vector<Diagnostic>& out, const std::string& path, const config::SourceLocation& location,
                        std::string message) {
  out.push_back(Diagnostic{config::Severity::kError, DiagnosticCode::kValue, path, location, std::move(message)});
}

std::string proxyString(const LocatedValue& v, std::string_view key) {
  const auto* m = v.findMember(key);
  return m != nullptr && m->value.isString() ? std::string(m->value.scalar.as_string()) : std::string();
}

std::optional<double> proxyNumber(const LocatedValue& v, std::string_view key) {
  const auto* m = v.findMember(key);
  if (m == nullptr || !m->value.scalar.is_number()) return std::nullopt;
  return m->value.scalar.to_number<double>();
}

std::string withoutTrailingSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

bool ModelProxySettings::usedBy(std::string_view gatewayId) const {
  return allGateways || std::find(gateways.begin(), gateways.end(), gatewayId) != gateways.end();
}

std::string ModelProxySettings::baseUrl() const { return url.empty() ? "http://" + listen : url; }

std::optional<std::string> envSecretVariable(const LocatedValue& value) {
  if (value.isString()) {
    std::string_view s = value.scalar.as_string();
    if (s.size() > 3 && s.starts_with("${") && s.ends_with("}")) return std::string(s.substr(2, s.size() - 3));
    return std::nullopt;
  }
  if (value.isObject() && proxyString(value, "source") == "env" && !proxyString(value, "id").empty())
    return proxyString(value, "id");
  return std::nullopt;
}

std::optional<std::pair<std::string, int>> parseListenAddress(std::string_view listen) {
  std::size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string host(listen.substr(0, colon));
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return std::nullopt;
  }
  std::string_view portText = listen.substr(colon + 1);
  int port = 0;
  auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (ec != std::errc() || end != portText.data() + portText.size() || port < 1 || port > 65535) return std::nullopt;
  return std::pair(host, port);
}

namespace {

void appendVariablePart(std::string& out, std::string_view id) {
  for (char c : id) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    out += (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? c : '_';
  }
}

}  // namespace

std::string proxyKeyVariable(std::string_view gatewayId) {
  std::string out = "TALON_FLEET_PROXY_KEY_";
  appendVariablePart(out, gatewayId);
  return out;
}

std::string proxyKeyVariable(std::string_view gatewayId, std::string_view agentId) {
  std::string out = proxyKeyVariable(gatewayId) + "__";
  appendVariablePart(out, agentId);
  return out;
}

std::string proxyAgentProviderId(std::string_view providerId, std::string_view agentId) {
  return std::string(providerId) + "--" + std::string(agentId);
}

ModelProxySettings readModelProxySettings(
    const LocatedValue& section, const std::function<bool(std::string_view)>& gatewayExists,
    const std::function<std::optional<std::string>(std::string_view)>& agentGateway,
    std::vector<Diagnostic>& diagnostics) {
  ModelProxySettings out;
  out.location = section.location;
  if (const auto* m = section.findMember("listen")) {
    out.listen = proxyString(section, "listen");
    if (!parseListenAddress(out.listen))
      proxySettingsError(diagnostics, "modelProxy.listen", m->value.location,
                         "\"" + out.listen + "\" is not ADDR:PORT (e.g. 127.0.0.1:18800)");
  }
  if (const auto* m = section.findMember("url")) {
    out.url = withoutTrailingSlash(proxyString(section, "url"));
    if (!isHttpUrl(out.url))
      proxySettingsError(diagnostics, "modelProxy.url", m->value.location, "\"" + out.url + "\" is not an http(s) URL");
  }
  if (const auto* m = section.findMember("driftIntervalSeconds"); m != nullptr && m->value.scalar.is_int64())
    out.driftIntervalSeconds = static_cast<int>(m->value.scalar.as_int64());
  if (const auto* m = section.findMember("gateways")) {
    for (std::size_t i = 0; i < m->value.items.size(); ++i) {
      const LocatedValue& item = m->value.items[i];
      if (!item.isString()) continue;
      std::string id(item.scalar.as_string());
      if (id == "*") {
        out.allGateways = true;
      } else if (!gatewayExists(id)) {
        proxySettingsError(diagnostics, config::appendPathIndex("modelProxy.gateways", i), item.location,
                           "unknown gateway \"" + id + "\"");
      }
      out.gateways.push_back(std::move(id));
    }
  }
  if (const auto* m = section.findMember("providers")) {
    for (const auto& p : m->value.members) {
      std::string path = config::appendPathKey("modelProxy.providers", p.key);
      ProxyProvider provider;
      provider.id = p.key;
      provider.location = p.keyLocation;
      provider.baseUrl = withoutTrailingSlash(proxyString(p.value, "baseUrl"));
      if (!isHttpUrl(provider.baseUrl)) {
        const auto* b = p.value.findMember("baseUrl");
        proxySettingsError(diagnostics, path + ".baseUrl", b != nullptr ? b->value.location : p.keyLocation,
                           "\"" + provider.baseUrl + "\" is not an http(s) URL");
      }
      if (auto api = proxyString(p.value, "api"); !api.empty()) provider.api = api;
      if (const auto* key = p.value.findMember("apiKey")) {
        const LocatedValue& k = key->value;
        if (auto variable = envSecretVariable(k)) {
          provider.apiKeyVariable = std::move(*variable);
        } else {
          proxySettingsError(diagnostics, path + ".apiKey", k.location,
                             "fleet serve reads the real key from its environment: use \"${VAR}\" or an env SecretRef");
        }
      }
      out.providers.emplace(p.key, std::move(provider));
    }
  }
  if (proxyString(section, "attribution") == "agent") out.attribution = ProxyAttribution::kAgent;
  if (const auto* limits = section.findMember("limits")) {
    if (const auto* g = limits->value.findMember("gateways")) {
      for (const auto& e : g->value.members) {
        if (!gatewayExists(e.key))
          proxySettingsError(diagnostics, config::appendPathKey("modelProxy.limits.gateways", e.key), e.keyLocation,
                             "unknown gateway \"" + e.key + "\"");
        SpendLimit limit;
        limit.dailyUsd = proxyNumber(e.value, "dailyUsd");
        limit.monthlyUsd = proxyNumber(e.value, "monthlyUsd");
        limit.location = e.keyLocation;
        out.gatewayLimits.emplace(e.key, limit);
      }
    }
    if (const auto* a = limits->value.findMember("agents")) {
      if (out.attribution != ProxyAttribution::kAgent && !a->value.members.empty())
        proxySettingsError(diagnostics, "modelProxy.limits.agents", a->keyLocation,
                           "agents' limits need modelProxy.attribution: \"agent\" (with \"gateway\", a gateway's "
                           "agents share one virtual key and the proxy cannot tell them apart)");
      for (const auto& e : a->value.members) {
        std::string path = config::appendPathKey("modelProxy.limits.agents", e.key);
        auto gateway = agentGateway(e.key);
        if (!gateway) {
          proxySettingsError(diagnostics, path, e.keyLocation, "unknown agent \"" + e.key + "\"");
        } else if (!out.usedBy(*gateway)) {
          proxySettingsError(diagnostics, path, e.keyLocation,
                             "agent \"" + e.key + "\" is on gateway \"" + *gateway +
                                 "\", which is not in modelProxy.gateways: its calls do not pass the proxy");
        }
        SpendLimit limit;
        limit.dailyUsd = proxyNumber(e.value, "dailyUsd");
        limit.monthlyUsd = proxyNumber(e.value, "monthlyUsd");
        limit.location = e.keyLocation;
        out.agentLimits.emplace(e.key, limit);
      }
    }
  }
  if (const auto* pricing = section.findMember("pricing")) {
    for (const auto& e : pricing->value.members) {
      if (e.key.find('/') == std::string::npos)
        proxySettingsError(diagnostics, config::appendPathKey("modelProxy.pricing", e.key), e.keyLocation,
                           "\"" + e.key + "\" is not a model ref \"provider/model\"");
      ModelPrice price;
      price.inputPerMTokUsd = proxyNumber(e.value, "inputPerMTokUsd").value_or(0);
      price.outputPerMTokUsd = proxyNumber(e.value, "outputPerMTokUsd").value_or(0);
      price.location = e.keyLocation;
      out.pricing.emplace(e.key, price);
    }
  }
  return out;
}

}  // namespace talon::fleet
