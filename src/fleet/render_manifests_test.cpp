// Compose files and Kubernetes manifests: the YAML 1.1 quoting rule case by case, golden files of
// tests/data/fleet/manifests (TALON_UPDATE_GOLDEN=1 rewrites them), the manifests parsed back with yaml-cpp,
// the inventory errors, and the real tools offline: `docker-compose config` on every rendered compose file
// and kubectl's own decoding (`kubectl set env|selector --local`, no cluster) of the StatefulSet and Service.
#include "fleet/render_manifests.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/file_io.h"
#include "fleet/deployer.h"
#include "fleet/fleet_test_util.h"
#include "fleet/local_process.h"
#include "fleet/revision.h"

namespace talon::fleet {
namespace {

using ::testing::HasSubstr;
using testing::inventoryText;
using ::testing::Not;
using testing::TempDir;

std::filesystem::path manifestDataDir() {
  return std::filesystem::path(TALON_SOURCE_DIR) / "tests" / "data" / "fleet" / "manifests";
}

EffectiveFleet manifestFleet() {
  auto inv = Inventory::load(manifestDataDir() / "fleet.json5");
  EXPECT_TRUE(inv) << inv.error().message;
  return EffectiveFleet::resolve(*inv);
}

std::vector<RenderedManifest> manifestsOf(const EffectiveFleet& fleet) {
  auto m = renderManifests(fleet, renderFleet(fleet));
  EXPECT_TRUE(m) << m.error().message;
  return m ? *m : std::vector<RenderedManifest>{};
}

const RenderedManifest& manifestFor(const std::vector<RenderedManifest>& all, const std::string& id) {
  for (const auto& m : all) {
    if (m.gatewayId == id) return m;
  }
  ADD_FAILURE() << "no manifest for " << id;
  static const RenderedManifest kNone;
  return kNone;
}

std::string manifestReadText(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A plain YAML scalar carries the tag "?" in yaml-cpp (resolved by the reader); a quoted one "!" (a string).
bool isQuotedScalar(const YAML::Node& n) { return n.IsScalar() && n.Tag() == "!"; }

// ---- YAML 1.1 quoting ----

TEST(ManifestYamlTest, QuotesEveryYaml11Boolean) {
  for (const char* s : {"y",  "Y",   "n",   "N",   "yes",  "Yes",  "YES",  "no",    "No",    "NO",    "on",  "On",
                        "ON", "off", "Off", "OFF", "true", "True", "TRUE", "false", "False", "FALSE", "yEs", "oFf"})
    EXPECT_TRUE(needsYamlQuotes(s)) << s;
}

TEST(ManifestYamlTest, QuotesNullAndEmpty) {
  for (const char* s : {"", "~", "null", "Null", "NULL"}) EXPECT_TRUE(needsYamlQuotes(s)) << "'" << s << "'";
}

TEST(ManifestYamlTest, QuotesIntegersInEveryNotation) {
  for (const char* s : {"0", "42", "-17", "+3", "1_000", "0755", "0o755", "0x1F", "0b1010", "0999"})
    EXPECT_TRUE(needsYamlQuotes(s)) << s;
}

TEST(ManifestYamlTest, QuotesSexagesimals) {
  for (const char* s : {"22:22", "1:20:30", "190:20:30", "1:20.5", "-1:30"}) EXPECT_TRUE(needsYamlQuotes(s)) << s;
}

TEST(ManifestYamlTest, QuotesFloatsInfinitiesAndNotANumber) {
  for (const char* s : {"1e3", "1E3", "1e-3", "6.8523015e+5", "1.5", ".5", "1.", "-2.25", "2026.9.6", ".inf", "-.Inf",
                        "+.INF", ".nan", ".NaN", ".NAN"})
    EXPECT_TRUE(needsYamlQuotes(s)) << s;
}

TEST(ManifestYamlTest, QuotesTimestampsAndTheMergeAndValueKeys) {
  for (const char* s : {"2026-12-03", "2026-1-3", "2026-12-03T10:00:00Z", "2026-12-03 10:00:00", "<<", "="})
    EXPECT_TRUE(needsYamlQuotes(s)) << s;
}

TEST(ManifestYamlTest, LeavesOrdinaryStringsPlain) {
  for (const char* s : {"hello", "support-main", "ghcr.io/openclaw/openclaw:2026.9.6", "/srv/acme/state", "500m", "1Gi",
                        "v1.2", "yes-please", "onward", "nullable", "0x", "1e", "e3", "127.0.0.1:18789:18789",
                        "${TG_BOT_TOKEN}", "app.kubernetes.io/name"})
    EXPECT_FALSE(needsYamlQuotes(s)) << s;
}

TEST(ManifestYamlTest, AmbiguousStringsReadBackAsStrings) {
  json::array values;
  for (const char* s : {"yes", "off", "Y", "~", "null", "", "0755", "22:22", "1e3", ".inf", ".nan", "2026-12-03", "<<",
                        "=", "2026.9.6", "12"})
    values.push_back(json::value(s));
  json::object doc{{"values", values}, {"on", "key quoted too"}};
  std::string text = toYaml(doc);
  YAML::Node parsed = YAML::Load(text);
  ASSERT_TRUE(parsed["values"].IsSequence()) << text;
  ASSERT_EQ(parsed["values"].size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const YAML::Node item = parsed["values"][i];
    EXPECT_TRUE(isQuotedScalar(item)) << "item " << i << " in\n" << text;
    EXPECT_EQ(item.as<std::string>(), std::string(values[i].as_string()));
  }
  EXPECT_THAT(text, HasSubstr("\"on\": key quoted too"));
  EXPECT_THAT(text, HasSubstr("- \"0755\""));
  EXPECT_THAT(text, HasSubstr("- \"\""));
}

TEST(ManifestYamlTest, NumbersAndBooleansStayTyped) {
  std::string text = toYaml(json::object{{"port", 18789}, {"readOnly", true}, {"name", "x"}});
  EXPECT_EQ(text, "port: 18789\nreadOnly: true\nname: x\n");
}

TEST(ManifestYamlTest, MultiLineStringsAreLiteralBlocksThatRoundTrip) {
  std::string config = "{\n  \"gateway\": {\n    \"port\": 18789\n  }\n}\n";
  std::string text = toYaml(json::object{{"data", json::object{{"openclaw.json", config}}}});
  EXPECT_THAT(text, HasSubstr("openclaw.json: |"));
  EXPECT_EQ(YAML::Load(text)["data"]["openclaw.json"].as<std::string>(), config);
}

TEST(ManifestYamlTest, AwkwardStringsRoundTrip) {
  std::vector<std::string> strings = {": x",
                                      "a: b",
                                      "#x",
                                      "a #b",
                                      "- a",
                                      " lead",
                                      "trail ",
                                      "a\tb",
                                      "@x",
                                      "`x",
                                      "{x}",
                                      "[x]",
                                      "*x",
                                      "&x",
                                      "!x",
                                      "|",
                                      ">",
                                      "%x",
                                      "'q'",
                                      "\"dq\"",
                                      "é ü",
                                      "?",
                                      "-",
                                      "x\n",
                                      "  indented\nsecond",
                                      "trailing \nspace",
                                      "no newline\nat end",
                                      "\n",
                                      "a\r\nb",
                                      "${VAR}",
                                      "$${VAR}"};
  json::array values;
  for (const auto& s : strings) values.push_back(json::value(s));
  std::string text = toYaml(json::object{{"v", values}});
  YAML::Node parsed = YAML::Load(text);
  ASSERT_EQ(parsed["v"].size(), strings.size()) << text;
  for (std::size_t i = 0; i < strings.size(); ++i)
    EXPECT_EQ(parsed["v"][i].as<std::string>(), strings[i]) << "item " << i << " in\n" << text;
}

// ---- golden files ----

// tests/data/fleet/manifests/<gatewayId>/{openclaw.json, compose.yaml | kubernetes.yaml}.
TEST(RenderManifestsTest, MatchesItsGoldenFiles) {
  EffectiveFleet fleet = manifestFleet();
  auto renders = renderFleet(fleet);
  auto manifests = manifestsOf(fleet);
  ASSERT_EQ(manifests.size(), 3u);
  std::filesystem::path golden = manifestDataDir();
  if (const char* update = std::getenv("TALON_UPDATE_GOLDEN"); update != nullptr && std::string(update) == "1") {
    ASSERT_TRUE(writeRenders(renders, golden));
    ASSERT_TRUE(writeManifests(manifests, golden));
  }
  for (const auto& r : renders) {
    std::filesystem::path file = golden / r.id / kRenderedConfigName;
    ASSERT_TRUE(std::filesystem::exists(file)) << file << " is missing (TALON_UPDATE_GOLDEN=1 writes it)";
    EXPECT_EQ(r.text, manifestReadText(file)) << "render of " << r.id << " differs from " << file;
  }
  for (const auto& m : manifests) {
    std::filesystem::path file = golden / m.gatewayId / m.fileName;
    ASSERT_TRUE(std::filesystem::exists(file)) << file << " is missing (TALON_UPDATE_GOLDEN=1 writes it)";
    EXPECT_EQ(m.text, manifestReadText(file)) << m.fileName << " of " << m.gatewayId << " differs from " << file;
  }
}

TEST(RenderManifestsTest, AreByteStable) {
  auto a = manifestsOf(manifestFleet());
  auto b = manifestsOf(manifestFleet());
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].text, b[i].text);
}

TEST(RenderManifestsTest, OtherProvidersHaveNone) {
  auto inv = Inventory::load(testing::exampleInventory());
  ASSERT_TRUE(inv);
  EffectiveFleet fleet = EffectiveFleet::resolve(*inv);
  auto m = renderManifests(fleet, renderFleet(fleet));
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(m->empty());
}

// ---- compose, parsed back ----

TEST(RenderManifestsTest, ComposeServiceShape) {
  auto manifests = manifestsOf(manifestFleet());
  const RenderedManifest& m = manifestFor(manifests, "compose-oc");
  EXPECT_EQ(m.provider, "compose");
  EXPECT_EQ(m.fileName, "compose.yaml");
  YAML::Node doc = YAML::Load(m.text);
  YAML::Node svc = doc["services"]["compose-oc"];
  ASSERT_TRUE(svc.IsMap()) << m.text;
  EXPECT_EQ(svc["image"].as<std::string>(), "ghcr.io/openclaw/openclaw:2026.9.6");
  EXPECT_EQ(svc["restart"].as<std::string>(), "always");
  EXPECT_EQ(svc["ports"][0].as<std::string>(), "127.0.0.1:18789:18789");
  // Environment: the container's own paths, then every referenced variable as a reference, never a value.
  YAML::Node env = svc["environment"];
  EXPECT_EQ(env["OPENCLAW_CONFIG_PATH"].as<std::string>(), std::string(kContainerConfigPath));
  EXPECT_EQ(env["OPENCLAW_STATE_DIR"].as<std::string>(), "/srv/compose-oc/state");
  EXPECT_EQ(env["FLEET_GATEWAY_TOKEN"].as<std::string>(), "${FLEET_GATEWAY_TOKEN}");
  EXPECT_EQ(env["TG_OC_BOT_TOKEN"].as<std::string>(), "${TG_OC_BOT_TOKEN}");
  EXPECT_EQ(env.size(), 4u);
  // The config read-only, the state dir on a named volume (the workspaces live inside it here).
  YAML::Node volumes = svc["volumes"];
  ASSERT_EQ(volumes.size(), 2u);
  EXPECT_EQ(volumes[0]["source"].as<std::string>(), "./openclaw.json");
  EXPECT_EQ(volumes[0]["target"].as<std::string>(), std::string(kContainerConfigPath));
  EXPECT_TRUE(volumes[0]["read_only"].as<bool>());
  EXPECT_EQ(volumes[1]["type"].as<std::string>(), "volume");
  EXPECT_EQ(volumes[1]["source"].as<std::string>(), "state");
  EXPECT_TRUE(doc["volumes"]["state"].IsMap());
  EXPECT_FALSE(doc["volumes"]["workspaces"]);
  // The healthcheck asks /readyz on the gateway's port.
  YAML::Node test = svc["healthcheck"]["test"];
  EXPECT_EQ(test[0].as<std::string>(), "CMD");
  EXPECT_THAT(test[3].as<std::string>(), HasSubstr("http://127.0.0.1:18789/readyz"));
  EXPECT_EQ(svc["labels"]["talon.gateway"].as<std::string>(), "compose-oc");
}

TEST(RenderManifestsTest, ComposeTalonGatewayRunsTalonWithItsImage) {
  auto manifests = manifestsOf(manifestFleet());
  YAML::Node svc = YAML::Load(manifestFor(manifests, "compose-talon").text)["services"]["compose-talon"];
  EXPECT_EQ(svc["image"].as<std::string>(), "registry.acme.example/talon:0.1.0");
  EXPECT_EQ(svc["command"][0].as<std::string>(), "talon");
  EXPECT_EQ(svc["command"][4].as<std::string>(), std::string(kContainerConfigPath));
  EXPECT_EQ(svc["environment"]["TALON_STATE_DIR"].as<std::string>(), "/var/lib/talon/state");
  EXPECT_EQ(svc["ports"][0].as<std::string>(), "0.0.0.0:18950:18950");
  EXPECT_EQ(svc["restart"].as<std::string>(), "on-failure");
  // A workspace root outside the state dir gets a volume of its own.
  EXPECT_EQ(svc["volumes"][2]["source"].as<std::string>(), "workspaces");
  EXPECT_EQ(svc["volumes"][2]["target"].as<std::string>(), "/var/lib/talon/workspaces");
}

TEST(RenderManifestsTest, ComposeEscapesDollarsOutsideReferences) {
  auto inv = Inventory::parse(inventoryText(R"(
  gateways: { g: { provider: "compose", bind: "lan", port: 18789, stateDir: "/s/$HOME/g",
                   workspaceRoot: "/s/$HOME/g/w", auth: { mode: "token", token: "${G_TOKEN}" } } },
)"),
                              "/org/fleet.json5");
  ASSERT_TRUE(inv) << inv.error().message;
  EffectiveFleet fleet = EffectiveFleet::resolve(*inv);
  auto m = manifestsOf(fleet);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_THAT(m[0].text, HasSubstr("/s/$$HOME/g"));
  EXPECT_THAT(m[0].text, HasSubstr("G_TOKEN: ${G_TOKEN}"));
}

// ---- kubernetes, parsed back ----

TEST(RenderManifestsTest, KubernetesObjects) {
  EffectiveFleet fleet = manifestFleet();
  auto renders = renderFleet(fleet);
  auto manifests = manifestsOf(fleet);
  const RenderedManifest& m = manifestFor(manifests, "k8s-oc");
  EXPECT_EQ(m.fileName, "kubernetes.yaml");
  std::vector<YAML::Node> docs = YAML::LoadAll(m.text);
  ASSERT_EQ(docs.size(), 3u) << m.text;
  EXPECT_EQ(docs[0]["kind"].as<std::string>(), "ConfigMap");
  EXPECT_EQ(docs[1]["kind"].as<std::string>(), "Service");
  EXPECT_EQ(docs[2]["kind"].as<std::string>(), "StatefulSet");
  for (const auto& d : docs) {
    EXPECT_EQ(d["metadata"]["namespace"].as<std::string>(), "acme-agents");
    YAML::Node labels = d["metadata"]["labels"];
    EXPECT_EQ(labels["app.kubernetes.io/name"].as<std::string>(), "openclaw");
    EXPECT_EQ(labels["app.kubernetes.io/instance"].as<std::string>(), "k8s-oc");
    EXPECT_EQ(labels["app.kubernetes.io/managed-by"].as<std::string>(), "talon");
    EXPECT_EQ(labels["team"].as<std::string>(), "support");
    // An octal-looking label value stays the string it is.
    EXPECT_TRUE(isQuotedScalar(labels["acme.example/cost-center"]));
    EXPECT_EQ(labels["acme.example/cost-center"].as<std::string>(), "0755");
  }
  // The ConfigMap carries the rendered config byte for byte.
  const RenderedGateway* render = nullptr;
  for (const auto& r : renders) render = r.id == "k8s-oc" ? &r : render;
  ASSERT_NE(render, nullptr);
  EXPECT_EQ(docs[0]["data"]["openclaw.json"].as<std::string>(), render->text);

  YAML::Node svc = docs[1]["spec"];
  EXPECT_EQ(svc["type"].as<std::string>(), "LoadBalancer");
  EXPECT_EQ(svc["ports"][0]["port"].as<int>(), 18789);
  EXPECT_EQ(svc["selector"]["app.kubernetes.io/instance"].as<std::string>(), "k8s-oc");

  YAML::Node sts = docs[2]["spec"];
  EXPECT_EQ(sts["replicas"].as<int>(), 1);
  EXPECT_EQ(sts["serviceName"].as<std::string>(), "k8s-oc");
  YAML::Node c = sts["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["image"].as<std::string>(), "ghcr.io/openclaw/openclaw:2026.9.6");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(c["ports"][0]["containerPort"].as<int>(), 18789);
  EXPECT_EQ(c["resources"]["requests"]["cpu"].as<std::string>(), "500m");
  EXPECT_TRUE(isQuotedScalar(c["resources"]["limits"]["cpu"]));  // "2", not the integer 2
  EXPECT_EQ(c["resources"]["limits"]["memory"].as<std::string>(), "2Gi");
  // Every referenced variable comes from the Secret; none carries a value.
  std::set<std::string> fromSecret;
  for (const auto& e : c["env"]) {
    if (e["valueFrom"]) {
      EXPECT_EQ(e["valueFrom"]["secretKeyRef"]["name"].as<std::string>(), "k8s-oc-keys");
      EXPECT_EQ(e["valueFrom"]["secretKeyRef"]["key"].as<std::string>(), e["name"].as<std::string>());
      EXPECT_FALSE(e["value"]);
      fromSecret.insert(e["name"].as<std::string>());
    }
  }
  std::vector<std::string> referenced = referencedEnvironmentVariables(render->text);
  EXPECT_EQ(fromSecret, std::set<std::string>(referenced.begin(), referenced.end()));
  EXPECT_TRUE(fromSecret.count("K8S_OC_GATEWAY_TOKEN"));          // a SecretRef object
  EXPECT_TRUE(fromSecret.count("TALON_FLEET_PROXY_KEY_K8S_OC"));  // the model proxy's virtual key
  EXPECT_TRUE(fromSecret.count("TG_K8S_BOT_TOKEN"));
  // The state dir on the volume claim template; the config read-only from the ConfigMap.
  YAML::Node claim = sts["volumeClaimTemplates"][0];
  EXPECT_EQ(claim["metadata"]["name"].as<std::string>(), "state");
  EXPECT_EQ(claim["spec"]["storageClassName"].as<std::string>(), "fast-ssd");
  EXPECT_EQ(claim["spec"]["resources"]["requests"]["storage"].as<std::string>(), "10Gi");
  EXPECT_EQ(c["volumeMounts"][0]["mountPath"].as<std::string>(), std::string(kContainerConfigPath));
  EXPECT_TRUE(c["volumeMounts"][0]["readOnly"].as<bool>());
  EXPECT_EQ(c["volumeMounts"][1]["name"].as<std::string>(), "state");
  EXPECT_EQ(c["volumeMounts"][1]["mountPath"].as<std::string>(), "/home/node/.openclaw");
  EXPECT_EQ(c["volumeMounts"][2]["subPath"].as<std::string>(), "workspaces");
  EXPECT_EQ(sts["template"]["spec"]["volumes"][0]["configMap"]["name"].as<std::string>(), "k8s-oc-config");
  EXPECT_EQ(sts["template"]["metadata"]["annotations"]["talon/config-sha256"].as<std::string>().size(), 64u);
}

// ---- inventory errors ----

Result<std::vector<RenderedManifest>> manifestsOfText(const std::string& gateways) {
  auto inv = Inventory::parse(inventoryText("  gateways: {" + gateways + "},\n"), "/org/fleet.json5");
  if (!inv) return fail(inv.error());
  EffectiveFleet fleet = EffectiveFleet::resolve(*inv);
  return renderManifests(fleet, renderFleet(fleet));
}

constexpr const char* kManifestGatewayHead = R"(port: 18789, stateDir: "/s/g", workspaceRoot: "/w/g", bind: "lan")";

TEST(RenderManifestsTest, ATalonGatewayNeedsAnImage) {
  auto m =
      manifestsOfText(std::string("g: { runtime: \"talon\", provider: \"compose\", ") + kManifestGatewayHead + " }");
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message, HasSubstr("gateway g: image:"));
  EXPECT_THAT(m.error().message, HasSubstr("no public Talon image"));
}

TEST(RenderManifestsTest, ThePublishAddressIsAnIpAddress) {
  auto head = std::string("provider: \"compose\", ") + kManifestGatewayHead;
  auto bad = manifestsOfText("g: { " + head + ", compose: { publishAddress: \"localhost\" } }");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("gateway g: compose.publishAddress: \"localhost\" is not an IPv4"));
  auto v6 = manifestsOfText("g: { " + head + ", compose: { publishAddress: \"::1\" } }");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_THAT((*v6)[0].text, HasSubstr("- \"[::1]:18789:18789\""));
}

TEST(RenderManifestsTest, KubernetesNamesAndValuesAreChecked) {
  auto head = std::string("provider: \"kubernetes\", ") + kManifestGatewayHead;
  auto badId = manifestsOfText("bad_id: { " + head + " }");
  ASSERT_FALSE(badId);
  EXPECT_THAT(badId.error().message, HasSubstr("DNS-1123"));
  auto badNamespace = manifestsOfText("g: { " + head + ", kubernetes: { namespace: \"Acme\" } }");
  ASSERT_FALSE(badNamespace);
  EXPECT_THAT(badNamespace.error().message, HasSubstr("kubernetes.namespace"));
  auto badSize = manifestsOfText("g: { " + head + ", kubernetes: { storageSize: \"ten gigs\" } }");
  ASSERT_FALSE(badSize);
  EXPECT_THAT(badSize.error().message, HasSubstr("kubernetes.storageSize"));
  auto badLabel = manifestsOfText("g: { " + head + ", kubernetes: { labels: { team: \"-x\" } } }");
  ASSERT_FALSE(badLabel);
  EXPECT_THAT(badLabel.error().message, HasSubstr("kubernetes.labels.team"));
  auto ownLabel = manifestsOfText("g: { " + head + ", kubernetes: { labels: { \"app.kubernetes.io/name\": \"x\" } } }");
  ASSERT_FALSE(ownLabel);
  EXPECT_THAT(ownLabel.error().message, HasSubstr("set by Talon"));
  auto badCpu = manifestsOfText("g: { " + head + ", kubernetes: { resources: { limits: { cpu: \"lots\" } } } }");
  ASSERT_FALSE(badCpu);
  EXPECT_THAT(badCpu.error().message, HasSubstr("kubernetes.resources.limits.cpu"));
}

TEST(RenderManifestsTest, UnknownKeysAndWrongEnumsAreInventoryErrors) {
  auto unknown = Inventory::parse(
      inventoryText(std::string("  gateways: { g: { ") + kManifestGatewayHead + ", kubernetes: { replicas: 2 } } },\n"),
      "/org/fleet.json5");
  ASSERT_FALSE(unknown);
  EXPECT_THAT(unknown.error().message, HasSubstr("gateways.g.kubernetes.replicas"));
  auto restart = Inventory::parse(inventoryText(std::string("  gateways: { g: { ") + kManifestGatewayHead +
                                                ", compose: { restart: \"often\" } } },\n"),
                                  "/org/fleet.json5");
  ASSERT_FALSE(restart);
  EXPECT_THAT(restart.error().message, HasSubstr("compose.restart"));
}

TEST(RenderManifestsTest, ImageAndKubernetesKeysLayerWithProvenance) {
  EffectiveFleet fleet = manifestFleet();
  auto e = fleet.explain("k8s-oc", "kubernetes.namespace");
  ASSERT_TRUE(e) << e.error().message;
  ASSERT_EQ(e->chain.size(), 1u);
  EXPECT_EQ(e->chain[0].layer->label(), "group:cluster");
  EXPECT_GT(e->chain[0].location.line, 0);
  auto storage = fleet.explain("k8s-oc", "kubernetes.storageSize");
  ASSERT_TRUE(storage);
  EXPECT_EQ(*storage->value, "10Gi");
}

// ---- plan and revisions ----

TEST(RenderManifestsTest, PlanSeesAManifestOnlyChangeAndRevisionsKeepTheManifest) {
  EffectiveFleet fleet = manifestFleet();
  auto renders = renderFleet(fleet);
  auto manifests = manifestsOf(fleet);
  auto fresh = planGateways(renders, {}, manifests);
  ASSERT_EQ(fresh.size(), 3u);
  for (const auto& p : fresh) {
    EXPECT_EQ(p.status, "new");
    EXPECT_TRUE(p.manifestChanged) << p.id;
    EXPECT_EQ(p.manifestSha256.size(), 64u);
  }
  // Applied: each gateway's config and manifest as rendered, through a revision's JSON and back.
  DeploymentRevision rev;
  rev.id = 1;
  rev.actor = "ops";
  for (std::size_t i = 0; i < renders.size(); ++i) {
    GatewayRevision g;
    g.id = renders[i].id;
    g.configPath = "/c/" + g.id;
    g.content = renders[i].text;
    g.sha256 = fresh[i].renderedSha256;
    g.manifestPath = "/st/gateways/" + g.id + "/" + fresh[i].manifestFile;
    g.manifestSha256 = fresh[i].manifestSha256;
    g.manifestContent = manifestFor(manifests, g.id).text;
    rev.gateways.push_back(std::move(g));
  }
  json::object j = rev.toJson();
  EXPECT_EQ(j.at("gateways").at(0).at("files").as_array().size(), 2u);
  auto back = DeploymentRevision::fromJson(j);
  ASSERT_TRUE(back) << back.error().message;
  std::map<std::string, AppliedGateway> applied;
  for (const auto& g : back->gateways) {
    EXPECT_EQ(g.manifestContent, manifestFor(manifests, g.id).text);
    applied[g.id] = AppliedGateway{1, g};
  }
  for (const auto& p : planGateways(renders, applied, manifests)) {
    EXPECT_EQ(p.status, "unchanged") << p.id;
    EXPECT_FALSE(p.manifestChanged);
  }
  // A new storage size changes no config key, only the manifest: the plan shows it.
  auto inv = Inventory::load(manifestDataDir() / "fleet.json5");
  ASSERT_TRUE(inv);
  std::string text = manifestReadText(manifestDataDir() / "fleet.json5");
  text.replace(text.find("storageSize: \"10Gi\""), 19, "storageSize: \"20Gi\"");
  TempDir dir;
  auto edited = Inventory::load(dir.write("fleet.json5", text));
  ASSERT_TRUE(edited) << edited.error().message;
  EffectiveFleet editedFleet = EffectiveFleet::resolve(*edited);
  auto editedRenders = renderFleet(editedFleet);
  auto plans = planGateways(editedRenders, applied, manifestsOf(editedFleet));
  for (const auto& p : plans) {
    EXPECT_TRUE(p.changes.empty()) << p.id;
    EXPECT_EQ(p.status, p.id == "k8s-oc" ? "changed" : "unchanged") << p.id;
    EXPECT_EQ(p.manifestChanged, p.id == "k8s-oc");
  }
  EXPECT_EQ(plans[2].toJson().at("manifest").at("changed"), true);
  EXPECT_EQ(plans[2].toJson().at("manifest").at("file"), "kubernetes.yaml");
}

// ---- the real tools, offline ----

bool manifestToolInstalled(const std::string& name) {
  auto r = runCommand({"sh", "-c", "command -v " + name}, {});
  return r && r->exitCode == 0;
}

TEST(RenderManifestsToolsTest, DockerComposeAcceptsEveryRenderedComposeFile) {
  if (!manifestToolInstalled("docker-compose"))
    GTEST_SKIP() << "docker-compose is not installed (scripts/install-deps.sh)";
  TempDir dir;
  EffectiveFleet fleet = manifestFleet();
  auto renders = renderFleet(fleet);
  auto manifests = manifestsOf(fleet);
  ASSERT_TRUE(writeRenders(renders, dir.path()));
  ASSERT_TRUE(writeManifests(manifests, dir.path()));
  int checked = 0;
  for (const auto& m : manifests) {
    if (m.provider != "compose") continue;
    std::filesystem::path project = dir.path() / m.gatewayId;
    auto r = runCommand({"docker-compose", "--project-name", "talon-" + m.gatewayId, "--file",
                         (project / m.fileName).string(), "config", "--quiet"},
                        project);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->exitCode, 0) << m.gatewayId << ": " << r->err;
    // `config --services` lists the one service.
    auto services =
        runCommand({"docker-compose", "--file", (project / m.fileName).string(), "config", "--services"}, project);
    ASSERT_TRUE(services);
    EXPECT_EQ(services->out, m.gatewayId + "\n");
    ++checked;
  }
  EXPECT_EQ(checked, 2);
  // The check is real: a key the Compose specification does not know is refused.
  auto broken = dir.write("broken/compose.yaml", "services:\n  x:\n    image: busybox\n    imagePullPolicy: always\n");
  auto r = runCommand({"docker-compose", "--file", broken.string(), "config", "--quiet"}, broken.parent_path());
  ASSERT_TRUE(r);
  EXPECT_NE(r->exitCode, 0);
  EXPECT_THAT(r->err, HasSubstr("imagePullPolicy"));
}

/// The leaves of a YAML node as "path=value" (scalars as their text).
void manifestLeaves(const YAML::Node& n, const std::string& path, std::set<std::string>& out) {
  if (n.IsMap()) {
    for (const auto& kv : n) manifestLeaves(kv.second, path + "." + kv.first.as<std::string>(), out);
  } else if (n.IsSequence()) {
    for (std::size_t i = 0; i < n.size(); ++i) manifestLeaves(n[i], path + "[" + std::to_string(i) + "]", out);
  } else if (n.IsScalar()) {
    out.insert(path + "=" + n.as<std::string>());
  }
}

/// The documents of a multi-document YAML text, as written (re-emitting a parsed node would lose the
/// quoting that keeps "0755" a string).
std::vector<std::string> manifestDocuments(const std::string& text) {
  std::vector<std::string> docs;
  std::size_t begin = 0;
  while (true) {
    std::size_t sep = text.find("\n---\n", begin);
    docs.push_back(text.substr(begin, sep == std::string::npos ? std::string::npos : sep + 1 - begin));
    if (sep == std::string::npos) break;
    begin = sep + 5;
  }
  return docs;
}

/// Runs kubectl offline (`--local`: no cluster; an absent kubeconfig) on `docText` with `command` (one that
/// changes nothing we check) and returns its exit code and output.
Result<CommandOutput> kubectlLocal(const TempDir& dir, const std::string& docText,
                                   const std::vector<std::string>& command) {
  auto file = dir.write("decode.yaml", docText);
  std::vector<std::string> argv = {"env", "KUBECONFIG=" + (dir.path() / "no-kubeconfig").string(),
                                   "HOME=" + dir.path().string(), "kubectl"};
  argv.insert(argv.end(), command.begin(), command.end());
  argv.insert(argv.end(), {"--local", "-f", file.string(), "-o", "json"});
  return runCommand(argv, dir.path());
}

TEST(RenderManifestsToolsTest, KubectlDecodesTheStatefulSetAndServiceWithoutLosingAField) {
  if (!manifestToolInstalled("kubectl")) GTEST_SKIP() << "kubectl is not installed (scripts/install-deps.sh)";
  TempDir dir;
  auto manifests = manifestsOf(manifestFleet());
  std::vector<std::string> docs = manifestDocuments(manifestFor(manifests, "k8s-oc").text);
  ASSERT_EQ(docs.size(), 3u);
  struct Case {
    std::size_t doc;
    std::vector<std::string> command;
  };
  for (const Case& c :
       {Case{2, {"set", "env", "TALON_RENDER_CHECK=1"}},
        Case{1, {"set", "selector", "app.kubernetes.io/name=openclaw,app.kubernetes.io/instance=k8s-oc"}}}) {
    auto r = kubectlLocal(dir, docs[c.doc], c.command);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->exitCode, 0) << r->err;
    YAML::Node ours = YAML::Load(docs[c.doc]);
    YAML::Node decoded = YAML::Load(r->out);
    ASSERT_TRUE(decoded.IsMap()) << r->out;
    EXPECT_EQ(decoded["kind"].as<std::string>(), ours["kind"].as<std::string>());
    // kubectl decodes into its Go types: a field it does not know disappears, a wrong type fails. Every
    // leaf we rendered must come back with its value.
    std::set<std::string> ourLeaves, theirLeaves;
    manifestLeaves(ours, "", ourLeaves);
    manifestLeaves(decoded, "", theirLeaves);
    for (const auto& leaf : ourLeaves)
      EXPECT_TRUE(theirLeaves.count(leaf)) << leaf << " was lost by kubectl's decoding";
  }
  // The check is real: a field kubectl does not know is dropped, and a wrong type is refused.
  std::string typo = docs[2];
  std::size_t at = typo.find("  replicas: 1\n");
  ASSERT_NE(at, std::string::npos);
  typo.insert(at, "  replica: 1\n");
  auto dropped = kubectlLocal(dir, typo, {"set", "env", "X=1"});
  ASSERT_TRUE(dropped);
  ASSERT_EQ(dropped->exitCode, 0) << dropped->err;
  std::set<std::string> typoLeaves;
  manifestLeaves(YAML::Load(dropped->out), "", typoLeaves);
  EXPECT_TRUE(typoLeaves.count(".spec.replicas=1"));
  EXPECT_FALSE(typoLeaves.count(".spec.replica=1"));
  std::string wrongType = docs[2];
  wrongType.replace(wrongType.find("  replicas: 1\n"), 14, "  replicas: one\n");
  auto refused = kubectlLocal(dir, wrongType, {"set", "env", "X=1"});
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->exitCode, 0);
  EXPECT_THAT(refused->err, HasSubstr("replicas"));
  // ...and so is an unquoted octal-looking label value: the quoting is what keeps it a string.
  std::string unquoted = docs[2];
  for (std::size_t p = unquoted.find("\"0755\""); p != std::string::npos; p = unquoted.find("\"0755\"", p))
    unquoted.replace(p, 6, "0755");
  auto numeric = kubectlLocal(dir, unquoted, {"set", "env", "X=1"});
  ASSERT_TRUE(numeric);
  EXPECT_NE(numeric->exitCode, 0);
  EXPECT_THAT(numeric->err, HasSubstr("labels"));
}

}  // namespace
}  // namespace talon::fleet
