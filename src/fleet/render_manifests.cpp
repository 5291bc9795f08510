#include "fleet/render_manifests.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <regex>

#include "base/file_io.h"
#include "base/hash.h"
#include "fleet/deployer.h"

namespace talon::fleet {

namespace {

constexpr std::string_view kDefaultNamespace = "default";
constexpr std::string_view kDefaultStorageSize = "1Gi";
constexpr std::string_view kDefaultRestart = "unless-stopped";
constexpr std::string_view kDefaultPublishAddress = "127.0.0.1";
constexpr std::size_t kMaxStatefulSetName = 52;
constexpr int kOpenClawImageGid = 1000;

std::string manifestString(const json::object& o, std::string_view key, std::string_view fallback = {}) {
  auto s = getString(o, key);
  return s ? std::string(*s) : std::string(fallback);
}

const json::object& manifestSection(const json::object& gateway, std::string_view key) {
  static const json::object kEmpty;
  const json::object* o = getObject(gateway, key);
  return o != nullptr ? *o : kEmpty;
}

bool isDnsLabel(std::string_view s, std::size_t maxLength) {
  static const std::regex kLabel("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return !s.empty() && s.size() <= maxLength && std::regex_match(s.begin(), s.end(), kLabel);
}

bool isLabelValue(std::string_view s) {
  static const std::regex kValue("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");
  return s.size() <= 63 && std::regex_match(s.begin(), s.end(), kValue);
}

/// A label key: an optional DNS subdomain prefix and '/', then a name like a non-empty label value.
bool isLabelKey(std::string_view s) {
  static const std::regex kPrefix("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  std::size_t slash = s.find('/');
  std::string_view name = slash == std::string_view::npos ? s : s.substr(slash + 1);
  if (slash != std::string_view::npos) {
    std::string_view prefix = s.substr(0, slash);
    if (prefix.empty() || prefix.size() > 253 || !std::regex_match(prefix.begin(), prefix.end(), kPrefix)) return false;
  }
  return !name.empty() && isLabelValue(name);
}

/// A Kubernetes resource quantity ("500m", "1Gi", "2").
bool isQuantity(std::string_view s) {
  static const std::regex kQuantity("[+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?");
  return std::regex_match(s.begin(), s.end(), kQuantity);
}

bool isIpAddress(const std::string& s) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

/// A host address as compose's ports syntax writes it: IPv6 in brackets.
std::string composeHostAddress(const std::string& address) {
  return address.find(':') != std::string::npos ? "[" + address + "]" : address;
}

Error manifestError(const std::string& gatewayId, const std::string& keyPath, const std::string& message) {
  return Error{ErrorCode::kConfigInvalid, "gateway " + gatewayId + ": " + keyPath + ": " + message};
}

/// A multi-line string a literal block ("|", clip chomping) reads back exactly: one final newline, a first
/// line that sets the indentation (no leading space or empty line), no carriage return, no tab and no
/// whitespace at a line's end. Other multi-line strings are double-quoted with escapes.
bool fitsLiteralBlock(const std::string& s) {
  if (s.size() < 2 || s.back() != '\n' || s[s.size() - 2] == '\n') return false;
  if (s.front() == ' ' || s.front() == '\n') return false;
  if (s.find_first_of("\r\t") != std::string::npos) return false;
  return s.find(" \n") == std::string::npos;
}

void emitYamlString(YAML::Emitter& out, const std::string& s) {
  if (s.find('\n') != std::string::npos) {
    if (fitsLiteralBlock(s)) {
      out << YAML::Literal << s;
    } else {
      out << YAML::DoubleQuoted << s;
    }
  } else if (needsYamlQuotes(s)) {
    out << YAML::DoubleQuoted << s;
  } else {
    out << s;
  }
}

void emitYaml(YAML::Emitter& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::object:
      if (v.as_object().empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (const auto& kv : v.as_object()) {
        out << YAML::Key;
        emitYamlString(out, std::string(kv.key()));
        out << YAML::Value;
        emitYaml(out, kv.value());
      }
      out << YAML::EndMap;
      return;
    case json::kind::array:
      if (v.as_array().empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const auto& item : v.as_array()) emitYaml(out, item);
      out << YAML::EndSeq;
      return;
    case json::kind::string:
      emitYamlString(out, std::string(v.as_string()));
      return;
    case json::kind::int64:
      out << v.as_int64();
      return;
    case json::kind::uint64:
      out << v.as_uint64();
      return;
    case json::kind::double_:
      out << v.as_double();
      return;
    case json::kind::bool_:
      out << (v.as_bool() ? "true" : "false");
      return;
    case json::kind::null:
      out << YAML::Null;
      return;
  }
}

/// Compose interpolates "$" in every string of the file: "$$" is its escape for a literal "$".
std::string composeLiteral(std::string_view s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == '$') out += '$';
  }
  return out;
}

std::string manifestHeader(const std::string& gatewayId, std::string_view provider) {
  return "# The " + std::string(provider) + " deployment of gateway " + gatewayId +
         ", rendered by `talon fleet render`: edit the fleet inventory, not this file.\n";
}

/// The gateway's command and environment inside its container (runtime-specific).
json::array containerCommand(const std::string& runtime) {
  if (runtime == "talon") return {"talon", "gateway", "run", "--config", kContainerConfigPath};
  return {"node", "dist/index.js", "gateway", "run"};
}

std::vector<std::pair<std::string, std::string>> containerEnvironment(const std::string& runtime,
                                                                      const GatewayPaths& paths) {
  if (runtime == "talon") return {{"TALON_STATE_DIR", paths.stateDir}};
  return {{"OPENCLAW_CONFIG_PATH", std::string(kContainerConfigPath)}, {"OPENCLAW_STATE_DIR", paths.stateDir}};
}

/// The workspace root when it lies outside the state dir (and so needs a volume of its own).
std::optional<std::string> separateWorkspaceRoot(const GatewayPaths& paths) {
  if (paths.workspaceRoot.empty() || paths.workspaceRoot == paths.stateDir) return std::nullopt;
  if (paths.workspaceRoot.rfind(paths.stateDir + "/", 0) == 0) return std::nullopt;
  return paths.workspaceRoot;
}

json::array composeHealthcheck(const std::string& runtime, int port) {
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/readyz";
  if (runtime == "talon") return {"CMD", "curl", "-fsS", "-o", "/dev/null", url};
  return {"CMD", "node", "-e", "fetch('" + url + "').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"};
}

std::string renderCompose(const EffectiveFleet& fleet, std::size_t gatewayIndex, const RenderedGateway& render,
                          const ManifestSettings& settings) {
  const json::object& g = fleet.gateway(gatewayIndex);
  const json::object& compose = manifestSection(g, "compose");
  GatewayPaths paths = gatewayPaths(fleet, gatewayIndex);
  int port = static_cast<int>(getInt(g, "port").value_or(0));

  json::object environment;
  auto fixed = containerEnvironment(render.runtime, paths);
  for (const auto& [name, value] : fixed) environment[name] = composeLiteral(value);
  for (const auto& name : referencedEnvironmentVariables(render.text)) {
    if (!environment.contains(name)) environment[name] = "${" + name + "}";
  }

  json::array volumes;
  volumes.push_back(json::object{{"type", "bind"},
                                 {"source", "./" + std::string(kRenderedConfigName)},
                                 {"target", kContainerConfigPath},
                                 {"read_only", true}});
  volumes.push_back(json::object{{"type", "volume"}, {"source", "state"}, {"target", composeLiteral(paths.stateDir)}});
  json::object namedVolumes{{"state", json::object{}}};
  if (auto workspaces = separateWorkspaceRoot(paths)) {
    volumes.push_back(
        json::object{{"type", "volume"}, {"source", "workspaces"}, {"target", composeLiteral(*workspaces)}});
    namedVolumes["workspaces"] = json::object{};
  }

  json::object service;
  service["image"] = composeLiteral(settings.image);
  service["command"] = containerCommand(render.runtime);
  service["restart"] = manifestString(compose, "restart", kDefaultRestart);
  service["environment"] = std::move(environment);
  service["ports"] = json::array{composeHostAddress(settings.composePublishAddress) + ":" + std::to_string(port) + ":" +
                                 std::to_string(port)};
  service["volumes"] = std::move(volumes);
  service["healthcheck"] = json::object{{"test", composeHealthcheck(render.runtime, port)},
                                        {"interval", "30s"},
                                        {"timeout", "5s"},
                                        {"retries", 3},
                                        {"start_period", "60s"}};
  service["labels"] = json::object{{"talon.gateway", composeLiteral(render.id)},
                                   {"talon.organisation", composeLiteral(fleet.inventory().organisation().slug)},
                                   {"talon.config-sha256", sha256Hex(render.text)}};

  json::object doc;
  doc["services"] = json::object{{render.id, std::move(service)}};
  doc["volumes"] = std::move(namedVolumes);
  return manifestHeader(render.id, "compose") + toYaml(doc);
}

json::object kubernetesLabels(const EffectiveFleet& fleet, std::size_t gatewayIndex, const RenderedGateway& render) {
  json::object labels;
  if (const auto* extra = getObject(manifestSection(fleet.gateway(gatewayIndex), "kubernetes"), "labels")) {
    for (const auto& kv : *extra) labels[kv.key()] = kv.value();
  }
  labels["app.kubernetes.io/name"] = render.runtime;
  labels["app.kubernetes.io/instance"] = render.id;
  labels["app.kubernetes.io/part-of"] = fleet.inventory().organisation().slug;
  labels["app.kubernetes.io/managed-by"] = "talon";
  return labels;
}

json::object resourceQuantities(const json::object& o) {
  json::object out;
  for (std::string_view key : {"cpu", "memory"}) {
    if (auto q = getString(o, key)) out[key] = *q;
  }
  return out;
}

std::string renderKubernetes(const EffectiveFleet& fleet, std::size_t gatewayIndex, const RenderedGateway& render,
                             const ManifestSettings& settings) {
  const json::object& g = fleet.gateway(gatewayIndex);
  const json::object& k8s = manifestSection(g, "kubernetes");
  GatewayPaths paths = gatewayPaths(fleet, gatewayIndex);
  int port = static_cast<int>(getInt(g, "port").value_or(0));
  const std::string& name = settings.kubernetesName;
  json::object labels = kubernetesLabels(fleet, gatewayIndex, render);
  json::object selector{{"app.kubernetes.io/name", render.runtime}, {"app.kubernetes.io/instance", render.id}};
  auto metadata = [&](const std::string& objectName) {
    return json::object{{"name", objectName}, {"namespace", settings.kubernetesNamespace}, {"labels", labels}};
  };

  json::object configMap;
  configMap["apiVersion"] = "v1";
  configMap["kind"] = "ConfigMap";
  configMap["metadata"] = metadata(name + "-config");
  configMap["data"] = json::object{{kRenderedConfigName, render.text}};

  json::object service;
  service["apiVersion"] = "v1";
  service["kind"] = "Service";
  service["metadata"] = metadata(name);
  service["spec"] = json::object{
      {"type", manifestString(k8s, "serviceType", "ClusterIP")},
      {"selector", selector},
      {"ports",
       json::array{json::object{{"name", "gateway"}, {"port", port}, {"targetPort", "gateway"}, {"protocol", "TCP"}}}}};

  std::string secretName = manifestString(k8s, "secretName", render.id + "-secrets");
  json::array env;
  auto fixed = containerEnvironment(render.runtime, paths);
  for (const auto& [envName, value] : fixed) env.push_back(json::object{{"name", envName}, {"value", value}});
  for (const auto& var : referencedEnvironmentVariables(render.text)) {
    bool isFixed = false;
    for (const auto& f : fixed) isFixed = isFixed || f.first == var;
    if (isFixed) continue;
    env.push_back(
        json::object{{"name", var},
                     {"valueFrom", json::object{{"secretKeyRef", json::object{{"name", secretName}, {"key", var}}}}}});
  }

  json::array mounts;
  mounts.push_back(json::object{
      {"name", "config"}, {"mountPath", kContainerConfigPath}, {"subPath", kRenderedConfigName}, {"readOnly", true}});
  mounts.push_back(json::object{{"name", "state"}, {"mountPath", paths.stateDir}, {"subPath", "state"}});
  if (auto workspaces = separateWorkspaceRoot(paths))
    mounts.push_back(json::object{{"name", "state"}, {"mountPath", *workspaces}, {"subPath", "workspaces"}});

  json::object container;
  container["name"] = "gateway";
  container["image"] = settings.image;
  container["command"] = containerCommand(render.runtime);
  container["ports"] = json::array{json::object{{"name", "gateway"}, {"containerPort", port}, {"protocol", "TCP"}}};
  container["env"] = std::move(env);
  container["volumeMounts"] = std::move(mounts);
  container["livenessProbe"] = json::object{{"httpGet", json::object{{"path", "/healthz"}, {"port", "gateway"}}},
                                            {"initialDelaySeconds", 10},
                                            {"periodSeconds", 10},
                                            {"timeoutSeconds", 5},
                                            {"failureThreshold", 6}};
  container["readinessProbe"] = json::object{{"httpGet", json::object{{"path", "/readyz"}, {"port", "gateway"}}},
                                             {"periodSeconds", 5},
                                             {"timeoutSeconds", 5},
                                             {"failureThreshold", 3}};
  if (const auto* resources = getObject(k8s, "resources")) {
    json::object r;
    for (std::string_view kind : {"requests", "limits"}) {
      if (const auto* q = getObject(*resources, kind); q != nullptr && !resourceQuantities(*q).empty())
        r[kind] = resourceQuantities(*q);
    }
    if (!r.empty()) container["resources"] = std::move(r);
  }

  json::object claimSpec;
  claimSpec["accessModes"] = json::array{"ReadWriteOnce"};
  if (auto storageClass = getString(k8s, "storageClass")) claimSpec["storageClassName"] = *storageClass;
  claimSpec["resources"] =
      json::object{{"requests", json::object{{"storage", manifestString(k8s, "storageSize", kDefaultStorageSize)}}}};

  json::object podSpec;
  // OpenClaw's image runs as the user node (uid/gid 1000): the volume claim must be writable by its group.
  if (render.runtime != "talon") podSpec["securityContext"] = json::object{{"fsGroup", kOpenClawImageGid}};
  podSpec["containers"] = json::array{std::move(container)};
  podSpec["volumes"] =
      json::array{json::object{{"name", "config"}, {"configMap", json::object{{"name", name + "-config"}}}}};

  json::object statefulSet;
  statefulSet["apiVersion"] = "apps/v1";
  statefulSet["kind"] = "StatefulSet";
  statefulSet["metadata"] = metadata(name);
  statefulSet["spec"] = json::object{
      {"replicas", 1},
      {"serviceName", name},
      {"selector", json::object{{"matchLabels", selector}}},
      {"template",
       json::object{
           {"metadata", json::object{{"labels", labels},
                                     {"annotations", json::object{{"talon/config-sha256", sha256Hex(render.text)}}}}},
           {"spec", std::move(podSpec)}}},
      {"volumeClaimTemplates",
       json::array{json::object{{"metadata", json::object{{"name", "state"}, {"labels", labels}}},
                                {"spec", std::move(claimSpec)}}}}};

  return manifestHeader(render.id, "kubernetes") + toYaml(configMap) + "---\n" + toYaml(service) + "---\n" +
         toYaml(statefulSet);
}

Status validateKubernetes(const std::string& gatewayId, const json::object& k8s, const ManifestSettings& s) {
  if (!isDnsLabel(s.kubernetesName, kMaxStatefulSetName))
    return fail(manifestError(gatewayId, "id",
                              "a kubernetes gateway's id names its StatefulSet and Service: it must be a DNS-1123 "
                              "label ([a-z0-9-], starting and ending with a letter or digit) of at most 52 "
                              "characters"));
  if (!isDnsLabel(s.kubernetesNamespace, 63))
    return fail(
        manifestError(gatewayId, "kubernetes.namespace", "\"" + s.kubernetesNamespace + "\" is not a DNS-1123 label"));
  if (auto secretName = getString(k8s, "secretName"); secretName && !isDnsLabel(*secretName, 253))
    return fail(manifestError(gatewayId, "kubernetes.secretName",
                              "\"" + std::string(*secretName) + "\" is not a valid Secret name"));
  if (auto size = getString(k8s, "storageSize"); size && !isQuantity(*size))
    return fail(manifestError(gatewayId, "kubernetes.storageSize",
                              "\"" + std::string(*size) + "\" is not a Kubernetes quantity (e.g. \"10Gi\")"));
  if (const auto* labels = getObject(k8s, "labels")) {
    for (const auto& kv : *labels) {
      std::string path = "kubernetes.labels." + std::string(kv.key());
      if (!isLabelKey(kv.key())) return fail(manifestError(gatewayId, path, "not a valid label key"));
      if (!kv.value().is_string() || !isLabelValue(kv.value().as_string()))
        return fail(manifestError(gatewayId, path,
                                  "a label value has at most 63 characters of [A-Za-z0-9._-] and starts and ends "
                                  "with a letter or digit"));
      if (kv.key().starts_with("app.kubernetes.io/"))
        return fail(manifestError(gatewayId, path, "the app.kubernetes.io/ labels are set by Talon"));
    }
  }
  if (const auto* resources = getObject(k8s, "resources")) {
    for (std::string_view kind : {"requests", "limits"}) {
      const json::object* q = getObject(*resources, kind);
      if (q == nullptr) continue;
      for (const auto& kv : *q) {
        if (kv.value().is_string() && !isQuantity(kv.value().as_string()))
          return fail(manifestError(gatewayId,
                                    "kubernetes.resources." + std::string(kind) + "." + std::string(kv.key()),
                                    "\"" + std::string(kv.value().as_string()) + "\" is not a Kubernetes quantity"));
      }
    }
  }
  return {};
}

}  // namespace

bool needsYamlQuotes(std::string_view s) {
  if (s.empty()) return true;
  static const std::regex kAmbiguous(
      // booleans (1.1) and null
      "y|n|yes|no|true|false|on|off|null|~"
      // integers: binary, octal (1.1 "0755", 1.2 "0o755"), decimal, hex, sexagesimal
      "|[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9][0-9_]*|[-+]?0x[0-9a-f_]+|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+"
      // floats: 1.1 ("1.5", "2026.9.6", "1.e+3"), 1.2 ("1e3", ".5"), sexagesimal, infinities, not-a-number
      "|[-+]?([0-9][0-9_]*)?\\.[0-9._]*(e[-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(\\.[0-9_]*)?e[-+]?[0-9]+"
      "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.inf|\\.nan"
      // timestamps, the merge key, the value key
      "|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([tT ].*)?|<<|=",
      std::regex::icase | std::regex::optimize);
  return std::regex_match(s.begin(), s.end(), kAmbiguous);
}

std::string toYaml(const json::value& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  emitYaml(out, value);
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

Result<std::string> gatewayImage(const EffectiveFleet& fleet, std::size_t gatewayIndex) {
  const json::object& g = fleet.gateway(gatewayIndex);
  const std::string& id = fleet.inventory().gateways()[gatewayIndex].id;
  if (auto image = getString(g, "image")) {
    if (image->empty()) return fail(manifestError(id, "image", "must not be empty"));
    return std::string(*image);
  }
  std::string runtime = manifestString(g, "runtime", "openclaw");
  if (runtime == "talon")
    return fail(manifestError(id, "image",
                              "a Talon gateway deployed in a container needs `image` (no public Talon image is "
                              "published: build one with the talon binary and name it here)"));
  return std::string(kOpenClawImage) + ":" + manifestString(g, "version", "latest");
}

Result<ManifestSettings> manifestSettings(const EffectiveFleet& fleet, std::size_t gatewayIndex) {
  const json::object& g = fleet.gateway(gatewayIndex);
  const std::string& id = fleet.inventory().gateways()[gatewayIndex].id;
  ManifestSettings s;
  auto image = gatewayImage(fleet, gatewayIndex);
  if (!image) return fail(image.error());
  s.image = std::move(*image);
  s.composeProject = "talon-" + id;
  s.composePublishAddress = manifestString(manifestSection(g, "compose"), "publishAddress", kDefaultPublishAddress);
  if (manifestString(g, "provider") == "compose" && !isIpAddress(s.composePublishAddress))
    return fail(manifestError(id, "compose.publishAddress",
                              "\"" + s.composePublishAddress + "\" is not an IPv4 or IPv6 address"));
  const json::object& k8s = manifestSection(g, "kubernetes");
  s.kubernetesNamespace = manifestString(k8s, "namespace", kDefaultNamespace);
  s.kubernetesName = id;
  s.kubernetesContext = manifestString(k8s, "context");
  if (manifestString(g, "provider") == "kubernetes") {
    if (auto v = validateKubernetes(id, k8s, s); !v) return fail(v.error());
  }
  return s;
}

Result<std::optional<RenderedManifest>> renderManifest(const EffectiveFleet& fleet, std::size_t gatewayIndex,
                                                       const RenderedGateway& render) {
  std::string provider = manifestString(fleet.gateway(gatewayIndex), "provider", "process");
  if (provider != "compose" && provider != "kubernetes") return std::optional<RenderedManifest>();
  auto settings = manifestSettings(fleet, gatewayIndex);
  if (!settings) return fail(settings.error());
  RenderedManifest m;
  m.gatewayId = render.id;
  m.provider = provider;
  if (provider == "compose") {
    m.fileName = kComposeFileName;
    m.text = renderCompose(fleet, gatewayIndex, render, *settings);
  } else {
    m.fileName = kKubernetesFileName;
    m.text = renderKubernetes(fleet, gatewayIndex, render, *settings);
  }
  return std::optional<RenderedManifest>(std::move(m));
}

Result<std::vector<RenderedManifest>> renderManifests(const EffectiveFleet& fleet,
                                                      const std::vector<RenderedGateway>& renders) {
  std::vector<RenderedManifest> out;
  const auto& gateways = fleet.inventory().gateways();
  for (const auto& r : renders) {
    const Gateway* g = fleet.inventory().findGateway(r.id);
    if (g == nullptr) continue;
    auto m = renderManifest(fleet, static_cast<std::size_t>(g - gateways.data()), r);
    if (!m) return fail(m.error());
    if (*m) out.push_back(std::move(**m));
  }
  return out;
}

Status writeManifests(const std::vector<RenderedManifest>& manifests, const std::filesystem::path& outDir) {
  for (const auto& m : manifests) {
    std::filesystem::path dir = outDir / m.gatewayId;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message());
    if (auto s = writeFileAtomic(dir / m.fileName, m.text, 0600); !s) return fail(s.error());
  }
  return {};
}

}  // namespace talon::fleet
