#include "fleet/inventory_schema.h"

namespace talon::fleet {

using config::Diagnostic;
using config::DiagnosticCode;
using config::LocatedValue;
using config::Severity;

std::string_view layerKindName(LayerKind kind) {
  switch (kind) {
    case LayerKind::kOrg:
      return "org";
    case LayerKind::kTemplate:
      return "template";
    case LayerKind::kGroup:
      return "group";
    case LayerKind::kGateway:
      return "gateway";
    case LayerKind::kAgent:
      return "agent";
  }
  return "?";
}

namespace {

FieldSpec str(std::string name, std::string doc, std::vector<std::string> values = {}) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = FieldType::kString;
  f.enumValues = std::move(values);
  f.doc = std::move(doc);
  return f;
}
FieldSpec integer(std::string name, std::string doc, std::int64_t lo, std::int64_t hi) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = FieldType::kInteger;
  f.minInt = lo;
  f.maxInt = hi;
  f.doc = std::move(doc);
  return f;
}
FieldSpec number(std::string name, std::string doc) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = FieldType::kNumber;
  f.doc = std::move(doc);
  return f;
}
FieldSpec boolean(std::string name, std::string doc) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = FieldType::kBoolean;
  f.doc = std::move(doc);
  return f;
}
FieldSpec secret(std::string name, std::string doc) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = FieldType::kSecret;
  f.doc = std::move(doc);
  return f;
}
FieldSpec object(std::string name, std::string doc, std::vector<FieldSpec> fields) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = FieldType::kObject;
  f.children = std::move(fields);
  f.doc = std::move(doc);
  return f;
}
FieldSpec map(std::string name, std::string doc, FieldSpec value, std::string keyName = "<id>") {
  FieldSpec f;
  f.name = std::move(name);
  f.type = FieldType::kMap;
  f.keyName = keyName;
  value.name = std::move(keyName);
  f.children.push_back(std::move(value));
  f.doc = std::move(doc);
  return f;
}
FieldSpec array(std::string name, std::string doc, FieldSpec item, ArrayMerge merge = ArrayMerge::kReplace) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = FieldType::kArray;
  item.name = "[]";
  f.children.push_back(std::move(item));
  f.merge = merge;
  f.doc = std::move(doc);
  return f;
}
FieldSpec strings(std::string name, std::string doc, ArrayMerge merge = ArrayMerge::kReplace,
                  std::vector<std::string> values = {}) {
  return array(std::move(name), std::move(doc), str("", "", std::move(values)), merge);
}
FieldSpec required(FieldSpec f) {
  f.required = true;
  return f;
}
FieldSpec scoped(LayerKind kind, FieldSpec f) {
  f.layerScope = layerBit(kind);
  return f;
}
FieldSpec onlyAt(unsigned layers, FieldSpec f) {
  f.layers = layers;
  return f;
}

const std::vector<std::string> kTiers = {"default", "high-cost", "high-trust"};
const std::vector<std::string> kStatuses = {"approved", "preview", "deprecated", "blocked"};

FieldSpec allowDeny(std::string name, std::string what) {
  return object(
      name, "Policy for " + what + " (lower layers narrow, never widen).",
      {strings("allow", "Allowed " + what + " (intersected across layers; \"*\" allows any).", ArrayMerge::kIntersect),
       strings("deny", "Denied " + what + " (united across layers; deny wins over allow).", ArrayMerge::kUnion)});
}

/// `ssh`: how the ssh provider reaches `host` and runs the gateway there (fleet/deployers/ssh_deployer.h).
FieldSpec sshSchema() {
  return object(
      "ssh", "How the ssh provider reaches `host` and runs the gateway there.",
      {str("user", "SSH user (default: the operator's ssh config, else the local login name)."),
       integer("port", "SSH port (default: the operator's ssh config, else 22).", 1, 65535),
       str("identityFile", "Private key on this machine (default: the operator's keys and agent)."),
       str("knownHostsFile", "known_hosts file (default: the operator's)."),
       str("strictHostKeyChecking", "OpenSSH StrictHostKeyChecking (default \"yes\").", {"yes", "accept-new"}),
       str("remoteDir",
           "Where Talon keeps the gateway's binary, env, launcher and log on the host (default "
           "~/.talon-fleet/<gatewayId>)."),
       str("service", "How the gateway runs on the host (default \"systemd\").", {"systemd", "detached"}),
       integer("connectTimeoutSeconds", "ssh ConnectTimeout, seconds (default 10).", 1, 300)});
}

/// `compose`: the compose file of a gateway with provider "compose" (fleet/render_manifests.h).
FieldSpec composeSchema() {
  return object(
      "compose", "The compose project of provider \"compose\" (see \"Compose\").",
      {str("restart", "Restart policy (default \"unless-stopped\").", {"no", "always", "on-failure", "unless-stopped"}),
       str("publishAddress", "Host address the port is published on (default \"127.0.0.1\").")});
}

/// `kubernetes`: the manifests of a gateway with provider "kubernetes" (fleet/render_manifests.h).
FieldSpec kubernetesSchema() {
  FieldSpec quantities =
      object("", "", {str("cpu", "CPU quantity (e.g. \"500m\")."), str("memory", "Memory quantity (e.g. \"512Mi\").")});
  FieldSpec requests = quantities;
  requests.name = "requests";
  requests.doc = "Container resource requests.";
  FieldSpec limits = quantities;
  limits.name = "limits";
  limits.doc = "Container resource limits.";
  return object("kubernetes", "The manifests of provider \"kubernetes\" (see \"Kubernetes\").",
                {str("namespace", "Namespace of the gateway's objects (default \"default\")."),
                 str("context", "kubeconfig context kubectl uses (default: the current context)."),
                 str("secretName", "Secret the referenced variables are read from (default \"<gatewayId>-secrets\")."),
                 str("storageClass", "StorageClass of the state volume claim (default: the cluster's default class)."),
                 str("storageSize", "Size of the state volume claim (default \"1Gi\")."),
                 str("serviceType", "Type of the gateway's Service (default \"ClusterIP\").",
                     {"ClusterIP", "NodePort", "LoadBalancer"}),
                 map("labels", "Extra labels on every object (label key -> value).", str("", ""), "<label>"),
                 object("resources", "Container resources.", {requests, limits})});
}

std::vector<FieldSpec> buildLayered() {
  return {
      onlyAt(kGatewayLayers, str("runtime", "Gateway runtime.", {"talon", "openclaw"})),
      onlyAt(kGatewayLayers, str("version", "Runtime version to deploy (e.g. \"2026.9.6\").")),
      onlyAt(kGatewayLayers,
             str("provider", "How the gateway is deployed.", {"process", "ssh", "compose", "kubernetes"})),
      onlyAt(kGatewayLayers, str("host", "The machine the gateway runs on; ports and paths collide only on one host.")),
      onlyAt(kGatewayLayers, sshSchema()),
      onlyAt(kGatewayLayers, str("profile", "What the gateway is for.", {"human", "usecase", "rescue"})),
      onlyAt(kGatewayLayers, str("trustLevel", "How far the gateway is trusted; high-trust items need \"high\".",
                                 {"low", "standard", "high"})),
      onlyAt(kGatewayLayers,
             str("bind", "gateway.bind of the rendered config.", {"loopback", "lan", "tailnet", "custom", "auto"})),
      onlyAt(kGatewayLayers, str("customBindHost", "gateway.customBindHost (with bind \"custom\").")),
      onlyAt(kGatewayLayers,
             object("auth", "gateway.auth of the rendered config.",
                    {str("mode", "Auth mode.", {"token", "password", "none", "trusted-proxy"}),
                     secret("token", "Shared token (a reference)."), secret("password", "Password (a reference).")})),
      onlyAt(kGatewayLayers,
             object("routing", "What routing the gateway's bindings may rely on.",
                    {boolean("allowDefault", "Allow bindings without accountId (the channel's default account)."),
                     boolean("allowWildcard", "Allow accountId \"*\" and peer id \"*\" bindings.")})),
      onlyAt(kGatewayLayers,
             object("probeTurn", "A real agent turn the rollout gate runs after the health checks pass.",
                    {required(str("message", "What is sent to the agent.")),
                     str("agent", "The agent that answers (default: the gateway's default agent)."),
                     str("expect", "Text the reply must contain, case-insensitive (default: any non-empty reply)."),
                     integer("timeoutSeconds", "How long the turn may take (default 60).", 1, 3600)})),
      onlyAt(kGatewayLayers,
             str("image", "Container image (compose, kubernetes); default per runtime, see \"Compose\".")),
      onlyAt(kGatewayLayers, composeSchema()),
      onlyAt(kGatewayLayers, kubernetesSchema()),
      str("model", "Primary model ref \"provider/model\" of the agents below."),
      strings("skills", "Skill allowlist of the agents below (OpenClaw agents.entries.<id>.skills)."),
      strings("integrations", "Custom-only integrations the agents below use (through a skill or plugin)."),
      object("tools", "Tool policy of the agents below (OpenClaw agents.entries.<id>.tools).",
             {str("profile", "Tool profile.", {"minimal", "coding", "messaging", "full"}),
              strings("allow", "Tools allowed."), strings("deny", "Tools denied.")}),
      object("policy", "What the layer permits; see \"Policy\".",
             {allowDeny("integrations", "integrations"), allowDeny("skills", "skills"),
              allowDeny("providers", "model providers"), allowDeny("models", "models (\"provider/model\")"),
              strings("tiers", "Catalog tiers permitted (intersected across layers; default [\"default\"]).",
                      ArrayMerge::kIntersect, kTiers)}),
  };
}

std::vector<FieldSpec> withLayered(std::vector<FieldSpec> own) {
  for (auto& f : buildLayered()) own.push_back(std::move(f));
  return own;
}

FieldSpec catalogEntry(bool integration) {
  std::vector<FieldSpec> fields;
  if (integration) {
    fields.push_back(required(str("kind", "Classification.", {"core-channel", "plugin-channel", "custom-only"})));
    fields.push_back(str("installMethod", "How it is installed.", {"builtin", "plugin", "skill", "manual"}));
    fields.push_back(str("trustTier", "Policy tier.", kTiers));
  } else {
    fields.push_back(str("tier", "Policy tier.", kTiers));
  }
  fields.push_back(str("status", "Lifecycle; blocked fails preflight, deprecated warns.", kStatuses));
  fields.push_back(str("owner", "Who answers for it."));
  fields.push_back(str("description", "Free text."));
  return object("", "", std::move(fields));
}

FieldSpec runtimeVersion() {
  return object("", "",
                {required(str("binary", "Absolute path of the executable that runs this version (process provider).")),
                 str("description", "Free text.")});
}

FieldSpec spendLimit() {
  return object("", "",
                {number("dailyUsd", "Spending limit per UTC day, USD."),
                 number("monthlyUsd", "Spending limit per UTC calendar month, USD.")});
}

/// `modelProxy`: `talon fleet serve` (fleet/model_proxy_settings.h reads it).
FieldSpec modelProxySchema() {
  FieldSpec upstream =
      object("", "",
             {required(str("baseUrl", "The upstream's base URL (e.g. https://api.openai.com/v1).")),
              str("api", "Wire API of the upstream.", {"openai-completions", "anthropic-messages"}),
              required(secret("apiKey",
                              "The real key, as a reference (\"${VAR}\" or an env SecretRef) read by fleet serve."))});
  FieldSpec price = object("", "",
                           {required(number("inputPerMTokUsd", "USD per million prompt tokens.")),
                            required(number("outputPerMTokUsd", "USD per million completion tokens."))});
  return object(
      "modelProxy", "The model proxy (`talon fleet serve`): upstream keys stay with the control plane.",
      {str("listen", "ADDR:PORT fleet serve listens on (default 127.0.0.1:18800)."),
       str("url", "Base URL the gateways reach the proxy at (default http://<listen>)."),
       integer("driftIntervalSeconds", "Seconds between fleet serve's drift checks (default 60).", 1, 86400),
       strings("gateways", "Gateways whose renders use the proxy (\"*\": every gateway)."),
       str("attribution", "Who a virtual key belongs to: the gateway (default) or each of its agents.",
           {"gateway", "agent"}),
       map("providers", "Upstream model providers by provider id (the part of a model ref before '/').", upstream),
       object("limits", "Spending limits.",
              {map("gateways", "Per gateway id.", spendLimit()),
               map("agents", "Per agent id (needs attribution \"agent\").", spendLimit())}),
       map("pricing", "Prices by model ref \"provider/model\".", price, "<model>")});
}

/// `backups`: the schedule, retention and integrity checks `talon fleet serve` runs
/// (fleet/backup_schedule.h reads it).
FieldSpec backupsSchema() {
  return object(
      "backups", "Scheduled backups, their retention and automatic integrity checks (run by `talon fleet serve`).",
      {integer("intervalHours", "Hours between two backups of a gateway: the recovery point objective (default 24).", 1,
               8760),
       integer("keep", "Scheduled backups kept per gateway; older ones are deleted (default 14).", 1, 10000),
       integer("verifyIntervalHours", "Hours between two verifications of every kept backup (default 24).", 1, 8760)});
}

/// `alerts`: where `talon fleet serve` sends alerts (fleet/fleet_alerts.h reads it).
FieldSpec alertsSchema() {
  FieldSpec target = object(
      "", "",
      {str("id", "Target id (default webhook-<index>)."),
       required(str("kind", "Target kind (the fleet sends signed webhooks).", {"webhook"})),
       required(str("url", "Where each alert is POSTed (http or https).")),
       required(secret("secret", "The signing secret, as \"${VAR}\" or an env SecretRef read by fleet serve."))});
  return object("alerts", "Where `talon fleet serve` sends alerts: drift, backup integrity, failed scheduled backups.",
                {array("targets", "Alert targets.", target)});
}

std::vector<FieldSpec> buildInventory() {
  FieldSpec binding = object(
      "", "",
      {str("channel", "Channel (required unless the agent maps exactly one account)."),
       str("accountId", "Account id; omitted: the channel's default account (needs routing.allowDefault)."),
       object("peer", "Peer.",
              {required(str("kind", "Peer kind.", {"direct", "group", "channel"})), required(str("id", "Peer id."))}),
       str("guildId", "Discord guild."), str("teamId", "Slack/Teams team."), strings("roles", "Roles (Discord).")});
  FieldSpec account = object("", "",
                             {str("name", "Display name."), secret("botToken", "Bot token (a reference)."),
                              secret("appToken", "App token (a reference)."), secret("token", "Token (a reference)."),
                              secret("signingSecret", "Signing secret (a reference)."),
                              str("dmPolicy", "DM policy.", {"pairing", "allowlist", "open", "disabled"}),
                              strings("allowFrom", "Senders allowed.")});
  return {
      required(object("organisation", "The organisation.",
                      {required(str("id", "Stable id.")), required(str("slug", "Short name ([a-z0-9-]).")),
                       required(str("displayName", "Human name."))})),
      scoped(LayerKind::kOrg,
             object("defaults", "The org layer: layered keys for every gateway and agent.", buildLayered())),
      scoped(LayerKind::kTemplate, map("templates", "Named layers applied where a group, gateway or agent lists them.",
                                       object("", "", buildLayered()))),
      scoped(LayerKind::kGroup,
             map("groups", "Gateway groups.",
                 object("", "",
                        withLayered({str("displayName", "Human name."),
                                     strings("templates", "Templates applied before the group.")})))),
      scoped(
          LayerKind::kGateway,
          map("gateways", "Gateways.",
              object("", "",
                     withLayered({str("displayName", "Human name."), str("group", "Group id."),
                                  strings("templates", "Templates applied before the gateway."),
                                  required(integer("port", "Base port (gateway.port).", 1, 65535)),
                                  required(str("stateDir", "State directory (OPENCLAW_STATE_DIR / TALON_STATE_DIR).")),
                                  str("configPath", "Config file path; default <stateDir>/openclaw.json."),
                                  required(str("workspaceRoot",
                                               "Agents' workspaces default to <workspaceRoot>/<agentId>."))})))),
      scoped(LayerKind::kAgent,
             map("agents", "Agents.",
                 object("", "",
                        withLayered(
                            {str("displayName", "Human name."), required(str("gateway", "Gateway id.")),
                             required(str("kind", "Agent kind.", {"human-coupled", "use-case"})),
                             str("owner", "Who answers for it."),
                             strings("templates", "Templates applied before the agent."),
                             map("accounts", "The agent's channel accounts: channel -> account id (one per channel).",
                                 str("", ""), "<channel>"),
                             array("bindings", "Extra routing (OpenClaw bindings[].match).", binding),
                             str("workspace", "Workspace; default <workspaceRoot>/<agentId>."),
                             str("agentDir", "Agent dir; default <stateDir>/agents/<agentId>/agent.")})))),
      map("accounts", "Channel accounts: channel -> account id -> settings.", map("", "", account, "<accountId>"),
          "<channel>"),
      object("runtimes", "The runtime versions a gateway can be deployed at (the version catalog).",
             {object("talon", "Talon runtime versions.",
                     {map("versions", "Talon versions by version string.", runtimeVersion(), "<version>")}),
              object("openclaw", "OpenClaw runtime versions.",
                     {map("versions", "OpenClaw versions by version string.", runtimeVersion(), "<version>")})}),
      modelProxySchema(),
      backupsSchema(),
      alertsSchema(),
      object("catalogs", "What the organisation knows about.",
             {map("integrations", "Integrations (channels and custom-only services).", catalogEntry(true)),
              map("skills", "Skills.", catalogEntry(false)),
              map("models", "Models by \"provider/model\".", catalogEntry(false))}),
  };
}

bool isLayeredName(std::string_view name) {
  for (const auto& f : layeredSchema()) {
    if (f.name == name) return true;
  }
  return false;
}

/// `skipLayered`: inside a layer entry, whose layered keys are documented once under "<layer>.".
void addPaths(const std::vector<FieldSpec>& fields, const std::string& prefix, bool skipLayered,
              std::vector<std::string>& out) {
  for (const auto& f : fields) {
    if (skipLayered && isLayeredName(f.name)) continue;
    bool childSkip = skipLayered || f.layerScope != 0;
    std::string path = prefix.empty() ? f.name : prefix + "." + f.name;
    out.push_back(path);
    if (f.type == FieldType::kObject) addPaths(f.children, path, childSkip, out);
    if (f.type == FieldType::kMap || f.type == FieldType::kArray) {
      const FieldSpec& inner = f.children[0];
      std::string innerPath = f.type == FieldType::kMap ? path + "." + f.keyName : path + "[]";
      if (inner.type == FieldType::kObject) addPaths(inner.children, innerPath, childSkip, out);
      if (inner.type == FieldType::kMap) {
        out.push_back(innerPath + "." + inner.keyName);
        addPaths(inner.children[0].children, innerPath + "." + inner.keyName, childSkip, out);
      }
    }
  }
}

bool isEnvReference(std::string_view s) {
  if (s.size() < 4 || s.substr(0, 2) != "${" || s.back() != '}') return false;
  std::string_view name = s.substr(2, s.size() - 3);
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void report(std::vector<Diagnostic>& out, DiagnosticCode code, const std::string& path,
            const config::SourceLocation& location, std::string message) {
  out.push_back(Diagnostic{Severity::kError, code, path, location, std::move(message)});
}

std::string_view typeWord(FieldType t) {
  switch (t) {
    case FieldType::kString:
      return "a string";
    case FieldType::kInteger:
      return "an integer";
    case FieldType::kNumber:
      return "a number";
    case FieldType::kBoolean:
      return "a boolean";
    case FieldType::kSecret:
      return "a secret reference";
    case FieldType::kObject:
    case FieldType::kMap:
      return "an object";
    case FieldType::kArray:
      return "an array";
  }
  return "?";
}

std::string joinValues(const std::vector<std::string>& values) {
  std::string s;
  for (const auto& v : values) s += (s.empty() ? "" : ", ") + ("\"" + v + "\"");
  return s;
}

void validateValue(const LocatedValue& v, const FieldSpec& spec, const std::string& path, unsigned layerMask,
                   const config::SourceLocation& keyLocation, std::vector<Diagnostic>& out) {
  if (spec.layerScope != 0) layerMask = spec.layerScope;
  switch (spec.type) {
    case FieldType::kString:
      if (!v.isString()) {
        report(out, DiagnosticCode::kType, path, keyLocation,
               "expected a string, got " + std::string(config::javaScriptTypeName(v)));
        return;
      }
      if (!spec.enumValues.empty()) {
        std::string_view s = v.scalar.as_string();
        bool ok = false;
        for (const auto& e : spec.enumValues) ok = ok || e == s;
        if (!ok) {
          report(out, DiagnosticCode::kValue, path, keyLocation,
                 "\"" + std::string(s) + "\" is not one of " + joinValues(spec.enumValues));
        }
      }
      return;
    case FieldType::kInteger:
      if (v.kind != LocatedValue::Kind::kScalar || !v.scalar.is_int64()) {
        report(out, DiagnosticCode::kType, path, keyLocation,
               "expected an integer, got " + std::string(config::javaScriptTypeName(v)));
        return;
      }
      if (v.scalar.as_int64() < spec.minInt || v.scalar.as_int64() > spec.maxInt) {
        report(out, DiagnosticCode::kValue, path, keyLocation,
               "must be between " + std::to_string(spec.minInt) + " and " + std::to_string(spec.maxInt));
      }
      return;
    case FieldType::kNumber:
      if (v.kind != LocatedValue::Kind::kScalar || !v.scalar.is_number()) {
        report(out, DiagnosticCode::kType, path, keyLocation,
               "expected a number, got " + std::string(config::javaScriptTypeName(v)));
        return;
      }
      if (!(v.scalar.to_number<double>() >= 0)) report(out, DiagnosticCode::kValue, path, keyLocation, "must be >= 0");
      return;
    case FieldType::kBoolean:
      if (v.kind != LocatedValue::Kind::kScalar || !v.scalar.is_bool()) {
        report(out, DiagnosticCode::kType, path, keyLocation,
               "expected a boolean, got " + std::string(config::javaScriptTypeName(v)));
      }
      return;
    case FieldType::kSecret: {
      json::value plain = config::toJsonValue(v);
      if (!isSecretReference(plain)) {
        report(out, DiagnosticCode::kValue, path, keyLocation,
               "expected a secret reference (\"${VAR}\" or {source, provider, id}); the inventory never holds a "
               "secret value");
      }
      return;
    }
    case FieldType::kObject:
      if (!v.isObject()) {
        report(out, DiagnosticCode::kType, path, keyLocation,
               "expected an object, got " + std::string(config::javaScriptTypeName(v)));
        return;
      }
      validateFields(v, spec.children, path, layerMask, out);
      return;
    case FieldType::kMap:
      if (!v.isObject()) {
        report(out, DiagnosticCode::kType, path, keyLocation,
               "expected an object, got " + std::string(config::javaScriptTypeName(v)));
        return;
      }
      for (const auto& m : v.members) {
        validateValue(m.value, spec.children[0], config::appendPathKey(path, m.key), layerMask, m.keyLocation, out);
      }
      return;
    case FieldType::kArray:
      if (!v.isArray()) {
        report(out, DiagnosticCode::kType, path, keyLocation,
               "expected an array, got " + std::string(config::javaScriptTypeName(v)));
        return;
      }
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        validateValue(v.items[i], spec.children[0], config::appendPathIndex(path, i), layerMask, v.items[i].location,
                      out);
      }
      return;
  }
}

}  // namespace

const std::vector<FieldSpec>& layeredSchema() {
  static const std::vector<FieldSpec> kSchema = buildLayered();
  return kSchema;
}

const std::vector<FieldSpec>& inventorySchema() {
  static const std::vector<FieldSpec> kSchema = buildInventory();
  return kSchema;
}

const FieldSpec* findLayeredSpec(std::string_view path) {
  const std::vector<FieldSpec>* fields = &layeredSchema();
  const FieldSpec* found = nullptr;
  while (!path.empty()) {
    std::size_t dot = path.find('.');
    std::string_view head = path.substr(0, dot);
    found = nullptr;
    for (const auto& f : *fields) {
      if (f.name == head) found = &f;
    }
    if (found == nullptr) return nullptr;
    if (dot == std::string_view::npos) return found;
    if (found->type != FieldType::kObject) return nullptr;
    fields = &found->children;
    path.remove_prefix(dot + 1);
  }
  return found;
}

std::vector<std::string> inventoryKeyPaths() {
  std::vector<std::string> out;
  addPaths(inventorySchema(), "", false, out);
  addPaths(layeredSchema(), "<layer>", false, out);
  return out;
}

void validateFields(const LocatedValue& value, const std::vector<FieldSpec>& fields, const std::string& path,
                    unsigned layerMask, std::vector<Diagnostic>& diagnostics) {
  for (const auto& m : value.members) {
    std::string memberPath = config::appendPathKey(path, m.key);
    const FieldSpec* spec = nullptr;
    for (const auto& f : fields) {
      if (f.name == m.key) spec = &f;
    }
    if (spec == nullptr) {
      report(diagnostics, DiagnosticCode::kUnknownKey, memberPath, m.keyLocation, "unknown key \"" + m.key + "\"");
      continue;
    }
    if ((spec->layers & layerMask) == 0) {
      report(diagnostics, DiagnosticCode::kValue, memberPath, m.keyLocation,
             "\"" + m.key + "\" is a gateway-wide key; an agent cannot set it");
      continue;
    }
    validateValue(m.value, *spec, memberPath, layerMask, m.keyLocation, diagnostics);
  }
  for (const auto& f : fields) {
    if (f.required && value.findMember(f.name) == nullptr) {
      report(diagnostics, DiagnosticCode::kValue, config::appendPathKey(path, f.name), value.location,
             "missing required key \"" + f.name + "\" (" + std::string(typeWord(f.type)) + ")");
    }
  }
}

bool isSecretReference(const json::value& v) {
  if (v.is_string()) return isEnvReference(v.as_string());
  if (!v.is_object()) return false;
  const auto& o = v.as_object();
  if (o.size() != 3) return false;
  auto source = getString(o, "source");
  return source && (*source == "env" || *source == "file" || *source == "exec") && getString(o, "provider") &&
         getString(o, "id");
}

}  // namespace talon::fleet
