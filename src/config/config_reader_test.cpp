#include "config/config_reader.h"

#include <gtest/gtest.h>

#include <set>

#include "config/config_sections.h"
#include "config/json5.h"
#include "config/openclaw_key_paths.h"

namespace talon::config {
namespace {

struct Doc {
  json::value value;
  SourceMap map;
};

Doc parse(std::string_view text) {
  auto doc = parseJson5(text, "/c/talon.json");
  EXPECT_TRUE(doc) << (doc ? "" : doc.error().message);
  if (!doc) return {};
  return Doc{doc->value, doc->sourceMap};
}

std::string render(const ConfigReader& r) {
  std::string out;
  for (const auto& d : r.diagnostics()) {
    out += std::string(severityName(d.severity)) + " " + d.toString() + "\n";
  }
  return out;
}

TEST(ConfigReader, TypedReadsRecordWhereAndWhat) {
  Doc doc = parse(R"({
  port: 'x',
  n: 3.5,
  on: 1,
  mode: 'tailnet',
  list: ['a', 2],
  headers: { a: 'b', c: false },
})");
  Environment env;
  ConfigReader r(doc.map, env, nullptr);
  ConfigNode root = r.root();
  const auto& o = doc.value.get_object();
  static constexpr std::string_view kModes[] = {"loopback", "tailnet"};
  static constexpr std::string_view kUnsupported[] = {"tailnet"};
  EXPECT_FALSE(r.integer(r.child(root, "port"), o.at("port"), 1, 65535, "1..65535"));
  EXPECT_FALSE(r.integer(r.child(root, "n"), o.at("n"), 1, 10, "1..10"));
  EXPECT_FALSE(r.boolean(r.child(root, "on"), o.at("on")));
  EXPECT_FALSE(r.enumeration(r.child(root, "mode"), o.at("mode"), kModes, kUnsupported));
  EXPECT_FALSE(r.stringArray(r.child(root, "list"), o.at("list")));
  EXPECT_FALSE(r.stringMap(r.child(root, "headers"), o.at("headers")));
  EXPECT_EQ(render(r),
            "error /c/talon.json:2:3: port: expected integer 1..65535, got \"x\"\n"
            "error /c/talon.json:3:3: n: expected integer 1..10, got 3.5\n"
            "error /c/talon.json:4:3: on: expected boolean, got 1\n"
            "error /c/talon.json:5:3: mode: \"tailnet\" is not supported by Talon yet (supported: \"loopback\")\n"
            "error /c/talon.json:6:15: list[1]: expected string, got 2\n"
            "error /c/talon.json:7:22: headers.c: expected string, got false\n");
  EXPECT_TRUE(r.hasErrors());
}

TEST(ConfigReader, GoodValuesLeaveNoDiagnostics) {
  Doc doc = parse("{ port: 80.0, on: true, list: ['a'], headers: { a: 'b' } }");
  Environment env;
  ConfigReader r(doc.map, env, nullptr);
  const auto& o = doc.value.get_object();
  EXPECT_EQ(r.integer(r.child(r.root(), "port"), o.at("port"), 1, 65535, "1..65535"), 80);
  EXPECT_EQ(r.boolean(r.child(r.root(), "on"), o.at("on")), true);
  EXPECT_EQ(r.stringArray(r.child(r.root(), "list"), o.at("list")), std::vector<std::string>{"a"});
  auto headers = r.stringMap(r.child(r.root(), "headers"), o.at("headers"));
  ASSERT_TRUE(headers);
  EXPECT_EQ(headers->at("a"), "b");
  EXPECT_EQ(render(r), "");
  EXPECT_FALSE(r.hasErrors());
}

TEST(ConfigReader, UnknownAndUnsupportedKeys) {
  Doc doc = parse("{ gateway: { port: 1, tls: {}, bogus: 1 } }");
  Environment env;
  ConfigReader r(doc.map, env, nullptr);
  ConfigNode gw = r.child(r.root(), "gateway");
  int ports = 0;
  r.readObject(gw, doc.value.get_object().at("gateway"),
               {{"port", [&](const ConfigNode&, const json::value&) { ++ports; }}});
  EXPECT_EQ(ports, 1);
  ASSERT_TRUE(isOpenClawKeyPath("gateway.tls"));
  EXPECT_EQ(render(r),
            "error /c/talon.json:1:23: gateway.tls: OpenClaw key \"tls\" is not supported by Talon yet\n"
            "error /c/talon.json:1:32: gateway: Unrecognized key: \"bogus\"\n");
}

TEST(ConfigReader, SecretInputResolvesEnvAndWarnsWhenMissing) {
  Doc doc = parse("{ a: '$KEY_SET', b: '$KEY_UNSET', c: { source: 'env', provider: 'default', id: 'KEY_UNSET' } }");
  Environment env = {{"KEY_SET", "v1"}};
  ConfigReader r(doc.map, env, nullptr);
  const auto& o = doc.value.get_object();
  SecretInput a = r.secret(r.child(r.root(), "a"), o.at("a"));
  SecretInput b = r.secret(r.child(r.root(), "b"), o.at("b"));
  SecretInput c = r.secret(r.child(r.root(), "c"), o.at("c"));
  EXPECT_EQ(a.value, "v1");
  EXPECT_EQ(a.envVar, "KEY_SET");
  EXPECT_TRUE(b.present);
  EXPECT_EQ(b.unavailable, "env var \"KEY_UNSET\" is not set");
  EXPECT_EQ(c.envVar, "KEY_UNSET");
  EXPECT_FALSE(r.hasErrors());  // warnings only: the caller decides whether a missing secret is fatal
  EXPECT_EQ(r.diagnostics().size(), 2u);
}

TEST(ConfigReader, DiagnosticsPastTheCapAreCountedNotKept) {
  std::string text = "{";
  for (int i = 0; i < 50; ++i) text += "k" + std::to_string(i) + ": 1,";
  text += "}";
  Doc doc = parse(text);
  Environment env;
  ConfigReader r(doc.map, env, nullptr, /*maxDiagnostics=*/10);
  r.readObject(r.root(), doc.value, {});
  EXPECT_EQ(r.diagnostics().size(), 10u);
  EXPECT_EQ(r.omittedErrors(), 40u);
  EXPECT_FALSE(r.recording());
  r.warning(r.root(), DiagnosticCode::kEnv, "late");
  EXPECT_EQ(r.omittedWarnings(), 1u);
  EXPECT_TRUE(r.hasErrors());
}

TEST(ConfigSections, TableKeysAreUniqueAndOpenClawRootKeys) {
  std::set<std::string_view> keys;
  for (const ConfigSection* s : configSections()) {
    ASSERT_NE(s, nullptr);
    ASSERT_NE(s->read, nullptr) << s->key;
    EXPECT_TRUE(keys.insert(s->key).second) << "duplicate section " << s->key;
    if (s->key != "$schema") EXPECT_TRUE(isOpenClawKeyPath(s->key)) << s->key;
  }
  for (std::string_view k : {"gateway", "agents", "bindings", "session", "models", "meta"}) {
    EXPECT_TRUE(keys.count(k)) << k;
  }
}

}  // namespace
}  // namespace talon::config
