#include "fleet/drift.h"

#include "base/file_io.h"
#include "base/hash.h"
#include "config/config_loader.h"
#include "config/environment.h"
#include "fleet/deployer.h"
#include "fleet/gateway_health.h"
#include "fleet/gateway_probe.h"

namespace talon::fleet {

std::string_view driftStateName(DriftState state) {
  switch (state) {
    case DriftState::kInSync:
      return "in-sync";
    case DriftState::kDrifted:
      return "drifted";
    case DriftState::kUnreachable:
      return "unreachable";
    case DriftState::kNotApplied:
      return "not-applied";
  }
  return "not-applied";
}

json::object GatewayDrift::toJson() const {
  json::object j{{"gateway", id}, {"runtime", runtime}, {"state", driftStateName(state)}};
  json::array d;
  for (const auto& what : drifted) d.push_back(json::value(what));
  j["drifted"] = std::move(d);
  if (appliedRevision) j["appliedRevision"] = *appliedRevision;
  if (!expectedHash.empty()) j["expectedHash"] = expectedHash;
  if (!runningHash.empty()) j["runningHash"] = runningHash;
  if (!fileHash.empty()) j["fileHash"] = fileHash;
  if (!appliedVersion.empty()) j["appliedVersion"] = appliedVersion;
  if (!runningVersion.empty()) j["runningVersion"] = runningVersion;
  if (!detail.empty()) j["detail"] = detail;
  return j;
}

GatewayDrift checkGatewayDrift(const std::string& gatewayId, const std::string& runtime, const AppliedGateway* applied,
                               const config::Environment& env, const std::string& clientVersion,
                               std::chrono::milliseconds timeout, const GatewayReach& reach,
                               const ConfigDigest& configDigest) {
  GatewayDrift out;
  out.id = gatewayId;
  out.runtime = runtime;
  if (applied == nullptr) return out;
  const GatewayRevision& rev = applied->gateway;
  out.appliedRevision = applied->revision;
  out.appliedVersion = rev.version;
  out.state = DriftState::kUnreachable;

  // Where and how to reach it: the applied render's port, bind and auth, which is what it runs.
  auto render = parseJson(rev.content);
  const json::object* gw = render && render->is_object() ? getObject(render->as_object(), "gateway") : nullptr;
  int port = gw ? static_cast<int>(getInt(*gw, "port").value_or(0)) : 0;
  if (port <= 0) {
    out.detail = "the applied render of revision " + std::to_string(applied->revision) + " has no gateway.port";
    return out;
  }
  std::string host = probeHost(std::string(getString(*gw, "bind").value_or("loopback")),
                               std::string(getString(*gw, "customBindHost").value_or("")));
  auto credential = gatewayCredential(rev.content, [&env](const std::string& name) -> std::optional<std::string> {
    const std::string* v = config::findEnv(env, name);
    return v ? std::optional<std::string>(*v) : std::nullopt;
  });
  if (!credential) {
    out.detail = "not checked: " + credential.error().message;
    return out;
  }
  std::optional<GatewayAddress> address;
  if (reach) {
    auto opened = reach(gatewayId, host, port);
    if (!opened) {
      out.detail = opened.error().message;
      return out;
    }
    address.emplace(std::move(*opened));
    host = address->host();
    port = address->port();
  }
  auto got = callGatewayMethod(host, port, *credential, clientVersion, timeout, "config.get", json::object{});
  if (!got) {
    out.detail = got.error().message;
    return out;
  }
  if (!got->payload.is_object()) {
    out.detail = "the config.get payload is not an object";
    return out;
  }
  const json::object& cfg = got->payload.as_object();
  out.runningHash = std::string(getString(cfg, "appliedConfigHash").value_or(""));
  // OpenClaw's `hash` covers the raw file text and its `configRevisionHash` the config the file resolves
  // to, which is what `appliedConfigHash` is comparable with; Talon sends the same value in both.
  out.fileHash = std::string(getString(cfg, "configRevisionHash").value_or(getString(cfg, "hash").value_or("")));
  out.runningVersion = got->serverVersion;
  if (out.runningHash.empty()) {
    out.detail = "config.get carries no appliedConfigHash";
    return out;
  }

  std::vector<std::string> why;
  bool hashDrift = false;
  // A variable the render references but this environment lacks (e.g. a gateway's model-proxy key, set only
  // where the gateway runs) would resolve differently here: the expected hash is then unknown, not wrong.
  std::string missing;
  for (const auto& name : referencedEnvironmentVariables(rev.content)) {
    if (config::findEnv(env, name) == nullptr) missing += (missing.empty() ? "" : ", ") + name;
  }
  if (runtime == "talon" && !missing.empty()) {
    why.push_back("the expected hash is unknown here: " + missing + " not set in this environment");
  } else if (runtime == "talon") {
    config::LoadOptions options;
    options.env = env;
    auto expected = config::loadConfigText(rev.content, rev.configPath, options);
    if (expected) {
      out.expectedHash = expected->hash;
      if (out.runningHash != out.expectedHash) {
        hashDrift = true;
        why.push_back("the running config is not the applied render");
      } else if (out.fileHash != out.expectedHash) {
        hashDrift = true;
        why.push_back("the config file differs from the applied render (not loaded yet)");
      }
    } else {
      // The render does not load here (e.g. a variable missing from this environment): compare what runs
      // with its own file, and the file with the render, as for OpenClaw.
      why.push_back("the expected hash is unknown here: " + expected.error().message.substr(0, 200));
    }
  }
  if (out.expectedHash.empty()) {
    if (out.runningHash != out.fileHash) {
      hashDrift = true;
      why.push_back("the gateway runs a config other than its config file");
    }
    std::optional<std::string> digest;
    if (configDigest) {
      digest = configDigest(gatewayId, rev.configPath);
    } else if (auto onDisk = readFile(rev.configPath)) {
      digest = sha256Hex(*onDisk);
    }
    if (!digest || *digest != rev.sha256) {
      hashDrift = true;
      why.push_back(digest ? "the config file differs from the applied render" : "the config file is gone");
    }
  }
  if (hashDrift) out.drifted.push_back("hash");
  if (!out.appliedVersion.empty() && out.runningVersion != out.appliedVersion) {
    out.drifted.push_back("version");
    why.push_back("it runs version \"" + out.runningVersion + "\", not \"" + out.appliedVersion + "\"");
  }
  out.state = out.drifted.empty() ? DriftState::kInSync : DriftState::kDrifted;
  for (const auto& w : why) out.detail += (out.detail.empty() ? "" : "; ") + w;
  return out;
}

std::vector<GatewayDrift> fleetDrift(const std::vector<std::pair<std::string, std::string>>& gatewayIds,
                                     const std::map<std::string, AppliedGateway>& applied,
                                     const config::Environment& env, const std::string& clientVersion,
                                     std::chrono::milliseconds timeout, const GatewayReach& reach,
                                     const ConfigDigest& configDigest) {
  std::vector<GatewayDrift> out;
  out.reserve(gatewayIds.size());
  for (const auto& [id, runtime] : gatewayIds) {
    auto it = applied.find(id);
    out.push_back(checkGatewayDrift(id, runtime, it == applied.end() ? nullptr : &it->second, env, clientVersion,
                                    timeout, reach));
  }
  return out;
}

std::vector<const GatewayDrift*> newlyDrifted(const std::map<std::string, DriftState>& previous,
                                              const std::vector<GatewayDrift>& current) {
  std::vector<const GatewayDrift*> out;
  for (const auto& d : current) {
    if (d.state != DriftState::kDrifted) continue;
    auto it = previous.find(d.id);
    if (it == previous.end() || it->second != DriftState::kDrifted) out.push_back(&d);
  }
  return out;
}

int driftExitCode(const std::vector<GatewayDrift>& drift) {
  bool unreachable = false;
  for (const auto& d : drift) {
    if (d.state == DriftState::kDrifted) return 1;
    unreachable = unreachable || d.state == DriftState::kUnreachable;
  }
  return unreachable ? 5 : 0;
}

}  // namespace talon::fleet
