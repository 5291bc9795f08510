#include "config/config_loader.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "config/config_hash.h"
#include "config/config_paths.h"
#include "config/config_redaction.h"
#include "config/config_test_util.h"
#include "config/json5.h"

namespace talon::config {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

class LoaderTest : public ::testing::Test {
 protected:
  LoadOptions options(Environment env = {}) {
    env.emplace("HOME", (dir_.path() / "home").string());
    LoadOptions o;
    o.configPath = dir_.path() / "talon.json";
    o.env = std::move(env);
    return o;
  }
  TempDir dir_;
};

// --- locations ---------------------------------------------------------------------------------------

TEST(ConfigPaths, StateDirAndConfigPath) {
  Environment env = {{"HOME", "/home/u"}};
  EXPECT_EQ(resolveStateDir(env), fs::path("/home/u/.talon"));
  EXPECT_EQ(resolveConfigPath(env), fs::path("/home/u/.talon/talon.json"));

  env["TALON_STATE_DIR"] = " ~/state/ ";
  EXPECT_EQ(resolveStateDir(env), fs::path("/home/u/state"));
  EXPECT_EQ(resolveConfigPath(env), fs::path("/home/u/state/talon.json"));

  env["TALON_CONFIG_PATH"] = "/etc/talon/gw.json5";
  EXPECT_EQ(resolveConfigPath(env), fs::path("/etc/talon/gw.json5"));
  EXPECT_EQ(resolveConfigPath(env, fs::path("/explicit/c.json")), fs::path("/explicit/c.json"));
  EXPECT_EQ(resolveConfigPath(env, fs::path("rel/c.json")), (fs::current_path() / "rel/c.json").lexically_normal());
  EXPECT_EQ(resolveConfigPath(env, fs::path("~/c.json")), fs::path("/home/u/c.json"));

  env["TALON_CONFIG_PATH"] = "  ";
  EXPECT_EQ(resolveConfigPath(env), fs::path("/home/u/state/talon.json"));
  // OpenClaw's variables are not Talon's.
  Environment oc = {{"HOME", "/home/u"}, {"OPENCLAW_STATE_DIR", "/x"}, {"OPENCLAW_CONFIG_PATH", "/y"}};
  EXPECT_EQ(resolveConfigPath(oc), fs::path("/home/u/.talon/talon.json"));
}

// --- loading -----------------------------------------------------------------------------------------

TEST_F(LoaderTest, MissingFileMeansDefaults) {
  auto loaded = loadConfig(options());
  ASSERT_TRUE(loaded) << loaded.error().toString();
  EXPECT_FALSE(loaded->exists);
  EXPECT_EQ(loaded->path, dir_.path() / "talon.json");
  EXPECT_EQ(loaded->config.gateway.bind, "loopback");
  EXPECT_EQ(loaded->config.gateway.auth.mode, "token");
  ASSERT_EQ(loaded->config.agents.entries.size(), 1u);
  EXPECT_EQ(loaded->config.agents.entries[0].id, "main");
  EXPECT_EQ(toJson(loaded->effective), "{}");
  EXPECT_EQ(loaded->hash, configHash(json::object()));
  EXPECT_TRUE(loaded->raw.empty());
  EXPECT_TRUE(loaded->warnings.empty());

  auto report = validateConfig(options());
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->valid());
  EXPECT_FALSE(report->exists);
}

TEST_F(LoaderTest, DefaultLocationComesFromTheStateDir) {
  dir_.write("state/talon.json", "{ gateway: { port: 1111 } }");
  LoadOptions o;
  o.env = Environment{{"HOME", "/nonexistent"}, {"TALON_STATE_DIR", (dir_.path() / "state").string()}};
  auto loaded = loadConfig(o);
  ASSERT_TRUE(loaded) << loaded.error().toString();
  EXPECT_TRUE(loaded->exists);
  EXPECT_EQ(loaded->config.gateway.port, 1111);
}

TEST_F(LoaderTest, LoadsEverythingTogether) {
  dir_.write("talon.json",
             "// root\n{\n  gateway: { $include: './gw.json5', bind: 'lan' },\n  models: { providers: { local: {"
             " baseUrl: '${BASE}/v1', apiKey: '${NOPE}', models: [] } } },\n}\n");
  dir_.write("gw.json5", "{\n  port: 1234,\n  auth: { token: '${TOKEN}' },\n}\n");
  auto loaded = loadConfig(options({{"BASE", "http://h"}, {"TOKEN", "t0k-3f9c2a7e1b8d4c6f0a5e9b2d"}}));
  ASSERT_TRUE(loaded) << loaded.error().toString();
  EXPECT_TRUE(loaded->exists);
  EXPECT_EQ(loaded->config.gateway.port, 1234);
  EXPECT_EQ(loaded->config.gateway.bind, "lan");
  EXPECT_EQ(loaded->config.gateway.auth.token, "t0k-3f9c2a7e1b8d4c6f0a5e9b2d");
  ASSERT_EQ(loaded->config.providers.size(), 1u);
  EXPECT_EQ(loaded->config.providers[0].baseUrl, "http://h/v1");
  EXPECT_EQ(loaded->config.providers[0].apiKeyUnavailable, "env var \"NOPE\" is not set");
  EXPECT_EQ(toCanonicalJson(loaded->effective),
            R"({"gateway":{"auth":{"token":"t0k-3f9c2a7e1b8d4c6f0a5e9b2d"},"bind":"lan","port":1234},)"
            R"("models":{"providers":{"local":{"apiKey":"${NOPE}","baseUrl":"http://h/v1","models":[]}}}})");
  EXPECT_EQ(loaded->hash, configHash(loaded->effective));
  EXPECT_EQ(loaded->raw.substr(0, 7), "// root");
  ASSERT_EQ(loaded->includedFiles.size(), 1u);
  EXPECT_EQ(loaded->sourceMap.find("gateway.port")->toString(), (dir_.path() / "gw.json5").string() + ":2:3");
  EXPECT_EQ(loaded->sourceMap.find("gateway.bind")->toString(), (dir_.path() / "talon.json").string() + ":3:38");
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_EQ(loaded->warnings[0].path, "models.providers.local.apiKey");
  EXPECT_EQ(loaded->warnings[0].code, DiagnosticCode::kEnv);
}

TEST_F(LoaderTest, SubstitutedValuesAreLiteralSecrets) {
  // A value that looks like the "$NAME" shorthand after substitution is the secret itself; so is the
  // text an escape produced. Only what was written as "$NAME" is an env reference.
  dir_.write("talon.json",
             "{ gateway: { auth: { token: '${GW_TOKEN}' } }, models: { providers: {"
             " openai: { apiKey: '$${OPENAI_KEY}' }, anthropic: { apiKey: '$ANTHROPIC_KEY', api: 'openai-completions' "
             "} } } }");
  auto loaded = loadConfig(options({{"GW_TOKEN", "$ECRET"}, {"ECRET", "wrong"}, {"ANTHROPIC_KEY", "ak"}}));
  ASSERT_TRUE(loaded) << loaded.error().toString();
  EXPECT_EQ(loaded->config.gateway.auth.token, "$ECRET");
  EXPECT_EQ(loaded->config.providers[0].apiKey, "${OPENAI_KEY}");
  EXPECT_EQ(loaded->config.providers[1].apiKey, "ak");
  EXPECT_TRUE(loaded->warnings.empty());
}

TEST_F(LoaderTest, InvalidConfigCarriesEveryDiagnostic) {
  dir_.write(
      "talon.json",
      "{\n  gateway: { port: 'x', bogus: 1 },\n  models: { providers: { p: { baseUrl: '${NOPE}', models: [] } } },\n}");
  auto loaded = loadConfig(options());
  ASSERT_FALSE(loaded);
  const Error& e = loaded.error();
  EXPECT_EQ(e.code, ErrorCode::kConfigInvalid);
  std::string file = (dir_.path() / "talon.json").string();
  // In document order.
  EXPECT_EQ(e.message, "invalid config " + file + " (2 errors)\n" + "  error: " + file +
                           ":2:14: gateway.port: expected integer 1..65535, got \"x\"\n" + "  error: " + file +
                           ":2:25: gateway: Unrecognized key: \"bogus\"\n" + "  warning: " + file +
                           ":3:31: models.providers.p.baseUrl: Missing env var \"NOPE\" - feature using this value "
                           "will be unavailable");
  EXPECT_EQ(e.publicMessage(), "invalid config");
  ASSERT_TRUE(e.details.contains("issues"));
  const json::array& issues = e.details.at("issues").as_array();
  ASSERT_EQ(issues.size(), 3u);
  EXPECT_EQ(
      toCanonicalJson(issues[0]),
      R"({"code":"type","column":14,"file":")" + file +
          R"(","line":2,"message":"expected integer 1..65535, got \"x\"","path":"gateway.port","severity":"error"})");
  EXPECT_EQ(issues[1].as_object().at("code").as_string(), "unknown_key");
  EXPECT_EQ(issues[2].as_object().at("severity").as_string(), "warning");

  auto report = validateConfig(options());
  ASSERT_TRUE(report);
  EXPECT_FALSE(report->valid());
  json::object j = report->toJson();
  EXPECT_EQ(j.at("valid").as_bool(), false);
  EXPECT_EQ(j.at("issues").as_array().size(), 2u);
  EXPECT_EQ(j.at("warnings").as_array().size(), 1u);
  EXPECT_EQ(j.at("path").as_string(), file);
}

TEST_F(LoaderTest, ParseErrorsAndIncludeErrorsStopBeforeValidation) {
  dir_.write("talon.json", "{ gateway: { port: 1 bogus: 2 } }");
  auto loaded = loadConfig(options());
  ASSERT_FALSE(loaded);
  const json::array& issues = loaded.error().details.at("issues").as_array();
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].as_object().at("code").as_string(), "parse");
  EXPECT_EQ(issues[0].as_object().at("column").as_int64(), 22);

  dir_.write("talon.json", "{ gateway: { $include: './nope.json5' }, unknownRoot: 1 }");
  loaded = loadConfig(options());
  ASSERT_FALSE(loaded);
  const json::array& issues2 = loaded.error().details.at("issues").as_array();
  ASSERT_EQ(issues2.size(), 1u);
  EXPECT_EQ(issues2[0].as_object().at("code").as_string(), "include");
}

TEST_F(LoaderTest, IncludeRootsFromTheEnvironment) {
  dir_.write("cfg/talon.json",
             "{ gateway: { $include: '../shared/gw.json5' }, session: { $include: '../more/s.json5' } }");
  dir_.write("shared/gw.json5", "{ port: 2222 }");
  dir_.write("more/s.json5", "{ dmScope: 'per-peer' }");
  LoadOptions o = options();
  o.configPath = dir_.path() / "cfg/talon.json";
  EXPECT_FALSE(loadConfig(o));
  o.env->emplace("TALON_INCLUDE_ROOTS", (dir_.path() / "shared").string());
  o.env->emplace("OPENCLAW_INCLUDE_ROOTS", "/nonexistent:" + (dir_.path() / "more").string());
  auto loaded = loadConfig(o);
  ASSERT_TRUE(loaded) << loaded.error().toString();
  EXPECT_EQ(loaded->config.gateway.port, 2222);
  EXPECT_EQ(loaded->config.session.dmScope, "per-peer");

  LoadOptions viaOption = options();
  viaOption.configPath = dir_.path() / "cfg/talon.json";
  viaOption.extraIncludeRoots = {dir_.path() / "shared", dir_.path() / "more"};
  EXPECT_TRUE(loadConfig(viaOption));
}

TEST_F(LoaderTest, NonRegularConfigPath) {
  fs::create_directories(dir_.path() / "talon.json");
  auto loaded = loadConfig(options());
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, ErrorCode::kConfigInvalid);
  EXPECT_FALSE(validateConfig(options()));
}

TEST_F(LoaderTest, LoadConfigTextValidatesAProposedConfig) {
  dir_.write("gw.json5", "{ port: 3333 }");
  auto ok = loadConfigText("{ gateway: { $include: './gw.json5' } }", dir_.path() / "talon.json", options());
  ASSERT_TRUE(ok) << ok.error().toString();
  EXPECT_EQ(ok->config.gateway.port, 3333);
  EXPECT_FALSE(loadConfigText("{ gateway: { port: 0 } }", dir_.path() / "talon.json", options()));
}

// --- hash --------------------------------------------------------------------------------------------

TEST_F(LoaderTest, HashIgnoresKeyOrderFormattingAndIncludeLayout) {
  dir_.write("talon.json",
             "{ gateway: { port: 1234, bind: 'lan' }, session: { dmScope: 'per-peer', groupScope: 'main' } }");
  auto a = loadConfig(options());
  ASSERT_TRUE(a) << a.error().toString();
  dir_.write("talon.json",
             "// reordered, commented, split\n{\n  session: { groupScope: 'main', dmScope: 'per-peer', },\n"
             "  gateway: { $include: './gw.json5' },\n}\n");
  dir_.write("gw.json5", "{ bind: \"lan\", port: 0x4D2 }");
  auto b = loadConfig(options());
  ASSERT_TRUE(b) << b.error().toString();
  EXPECT_EQ(a->hash, b->hash);
  EXPECT_EQ(a->hash.size(), 64u);
  EXPECT_EQ(a->hash, configHash(a->effective));
  dir_.write("gw.json5", "{ bind: 'lan', port: 1235 }");
  auto c = loadConfig(options());
  ASSERT_TRUE(c);
  EXPECT_NE(a->hash, c->hash);
}

TEST(ConfigHash, IsSha256OfTheCanonicalJson) {
  // sha256("{}")
  EXPECT_EQ(configHash(json::object()), "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  auto a = parseJson5("{b: [1, {d: 1, c: 2}], a: 'x'}", "a");
  auto b = parseJson5("{a: 'x', b: [1, {c: 2, d: 1}]}", "b");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(configHash(a->value), configHash(b->value));
  auto reordered = parseJson5("{a: 'x', b: [{c: 2, d: 1}, 1]}", "c");  // array order matters
  EXPECT_NE(configHash(a->value), configHash(reordered->value));
}

// --- redaction ---------------------------------------------------------------------------------------

TEST(ConfigRedaction, ReplacesSecretsWithOpenClawsSentinel) {
  auto doc = parseJson5(R"({
    gateway: { port: 1, auth: { mode: 'token', token: 'tok', password: 'pw' } },
    models: { providers: {
      openai: { apiKey: 'sk-live', maxTokens: 100, baseUrl: 'https://api', headers: { Authorization: 'Bearer x', 'X-Api-Key': 'k', 'X-Team': 't' },
                models: [ { id: 'm', contextWindow: 5, maxTokens: 6 } ] },
      env: { apiKey: { source: 'env', provider: 'default', id: 'OPENAI_API_KEY' } },
      unset: { apiKey: '${MISSING}' },
      empty: { apiKey: '' },
    } },
    channels: { telegram: { botToken: '123:abc', webhookSecret: 's', accounts: { a: { privateKey: 'pk' } } } },
    secrets: { providers: { vault: { command: '/bin/x' } } },
    list: [ { password: 'p1' }, 'plain' ],
  })",
                        "r");
  ASSERT_TRUE(doc);
  json::value redacted = redactConfigSecrets(doc->value);
  const std::string s = std::string(kRedactedSentinel);
  EXPECT_EQ(toCanonicalJson(redacted),
            R"({"channels":{"telegram":{"accounts":{"a":{"privateKey":")" + s + R"("}},"botToken":")" + s +
                R"(","webhookSecret":")" + s + R"("}},)" + R"("gateway":{"auth":{"mode":"token","password":")" + s +
                R"(","token":")" + s + R"("},"port":1},)" + R"("list":[{"password":")" + s + R"("},"plain"],)" +
                R"("models":{"providers":{"empty":{"apiKey":""},)" + R"("env":{"apiKey":{"id":")" + s +
                R"(","provider":"default","source":"env"}},)" + R"("openai":{"apiKey":")" + s +
                R"(","baseUrl":"https://api","headers":{"Authorization":")" + s + R"(","X-Api-Key":")" + s +
                R"(","X-Team":"t"},"maxTokens":100,"models":[{"contextWindow":5,"id":"m","maxTokens":6}]},)" +
                R"("unset":{"apiKey":"${MISSING}"}}},)" + R"("secrets":{"providers":{"vault":{"command":")" + s +
                R"("}}}})");
  // The input is untouched.
  EXPECT_EQ(doc->value.at("gateway").at("auth").at("token").as_string(), "tok");
}

TEST(ConfigRedaction, UrlCredentialsAreRedactedWherever) {
  auto doc = parseJson5(R"({
    models: { providers: {
      a: { baseUrl: 'http://user:canary-pw@127.0.0.1:9/v1' },
      b: { baseUrl: 'https://tok@host/v1' },
      c: { baseUrl: 'https://host/v1?api_key=canary' },
      d: { baseUrl: 'https://host/v1?model=x&x-auth-token=canary#frag' },
      e: { baseUrl: 'https://host/v1?model=x', headers: { Referer: 'https://u:p@h/' } },
      f: { baseUrl: 'https://host/a@b/v1' },
    } },
    list: ['ws://a:b@h', 'plain', 'mail user@example.com'],
  })",
                        "r");
  ASSERT_TRUE(doc);
  json::value r = redactConfigSecrets(doc->value);
  const json::value s(kRedactedSentinel);
  const auto& p = r.at("models").at("providers");
  EXPECT_EQ(p.at("a").at("baseUrl"), s);
  EXPECT_EQ(p.at("b").at("baseUrl"), s);
  EXPECT_EQ(p.at("c").at("baseUrl"), s);
  EXPECT_EQ(p.at("d").at("baseUrl"), s);
  EXPECT_EQ(p.at("e").at("baseUrl"), json::value("https://host/v1?model=x"));
  EXPECT_EQ(p.at("e").at("headers").at("Referer"), s);
  EXPECT_EQ(p.at("f").at("baseUrl"), json::value("https://host/a@b/v1"));  // "@" in the path, not user info
  EXPECT_EQ(r.at("list"), (json::array{s, json::value("plain"), json::value("mail user@example.com")}));
  EXPECT_EQ(json::serialize(r).find("canary"), std::string::npos);
}

TEST(ConfigRedaction, HasUrlCredentials) {
  EXPECT_TRUE(hasUrlCredentials("http://user:pw@host"));
  EXPECT_TRUE(hasUrlCredentials("see https://h/?sig=abc for it"));
  EXPECT_TRUE(hasUrlCredentials("https://h/?a=1&refresh_token=x"));
  EXPECT_TRUE(hasUrlCredentials("https://h/?x-auth_token=x"));
  EXPECT_TRUE(hasUrlCredentials("https://h/?hook_token_0123456789abcdef=x"));
  EXPECT_FALSE(hasUrlCredentials("https://h/?hook_token_abc=x"));
  EXPECT_FALSE(hasUrlCredentials("https://h/?tokens=x"));
  EXPECT_FALSE(hasUrlCredentials("https://h/?token="));
  EXPECT_FALSE(hasUrlCredentials("https://h/path?model=gpt#token=x"));
  EXPECT_FALSE(hasUrlCredentials("user@host"));
}

TEST(ConfigRedaction, SecretKeyRule) {
  for (std::string_view k : {"token", "botToken", "password", "apiKey", "api_key", "API-KEY", "secret", "clientSecret",
                             "privateKey", "encryptKey", "serviceAccount"}) {
    EXPECT_TRUE(isSecretKey(k)) << k;
  }
  for (std::string_view k :
       {"maxTokens", "contextTokens", "tokenLimit", "passwordFile", "port", "baseUrl", "tokens", "keyId"}) {
    EXPECT_FALSE(isSecretKey(k)) << k;
  }
}

// --- limits: the root file's size and the number of diagnostics ---------------------------------------

TEST_F(LoaderTest, RootFileOverTwoMiBIsRefusedBeforeReading) {
  // 44 MB, as in the report that took 47 s and 3 GB; sparse, so the test writes no data.
  fs::path big = dir_.write("talon.json", "{");
  fs::resize_file(big, 44u * 1000 * 1000);
  for (bool validate : {false, true}) {
    auto error = validate ? validateConfig(options()).error() : loadConfig(options()).error();
    EXPECT_EQ(error.code, ErrorCode::kConfigInvalid);
    EXPECT_NE(error.message.find(big.string()), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("44000000 bytes, the limit is 2097152 bytes (2 MiB)"), std::string::npos)
        << error.message;
  }
  auto text = loadConfigText(std::string(kMaxConfigFileBytes + 1, ' '), big, options());
  ASSERT_FALSE(text);
  EXPECT_NE(text.error().message.find("the limit is 2097152 bytes"), std::string::npos);
}

TEST_F(LoaderTest, RootFileOfExactlyTwoMiBIsRead) {
  std::string body = "{}";
  body.resize(kMaxConfigFileBytes, ' ');
  dir_.write("talon.json", body);
  auto loaded = loadConfig(options());
  ASSERT_TRUE(loaded) << loaded.error().message;
}

// A file just under the cap with ~150k unknown keys: the first kMaxDiagnostics are kept, the rest
// counted without building their messages.
TEST_F(LoaderTest, DiagnosticsAreCappedAndCounted) {
  std::string body = "{";
  std::size_t keys = 0;
  while (body.size() < kMaxConfigFileBytes - 32) {
    body += "k" + std::to_string(keys++) + ":1,";
  }
  body += "}";
  dir_.write("talon.json", body);
  auto report = validateConfig(options());
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_GT(keys, 100000u);
  EXPECT_EQ(report->diagnostics.size(), kMaxDiagnostics);
  EXPECT_EQ(report->errorCount(), keys);
  EXPECT_EQ(report->omittedErrors, keys - kMaxDiagnostics);
  EXPECT_FALSE(report->valid());
  EXPECT_EQ(report->diagnostics.front().message, "Unrecognized key: \"k0\"");
  json::object j = report->toJson();
  EXPECT_EQ(j.at("issues").as_array().size(), kMaxDiagnostics);
  EXPECT_EQ(j.at("errorCount").to_number<std::size_t>(), keys);
  EXPECT_EQ(j.at("omitted").to_number<std::size_t>(), keys - kMaxDiagnostics);

  auto loaded = loadConfig(options());
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find(fmt::format("... and {} more diagnostics", keys - kMaxDiagnostics)),
            std::string::npos);
  EXPECT_LT(loaded.error().message.size(), 20000u);
}

// --- the gateway auth secret: a warning for `config validate`, a refusal for the gateway ---------------

TEST_F(LoaderTest, UnresolvedGatewaySecretWarnsButBlocksTheGateway) {
  dir_.write("talon.json", "{ gateway: { auth: { token: '${GW_TOKEN_MISSING}' } } }");
  auto report = validateConfig(options());
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->valid());
  ASSERT_EQ(report->diagnostics.size(), 1u);
  EXPECT_EQ(report->diagnostics[0].severity, Severity::kWarning);

  auto loaded = loadConfig(options());
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->config.gateway.auth.token, "");
  auto startable = requireGatewayAuthSecret(loaded->config);
  ASSERT_FALSE(startable);
  EXPECT_EQ(startable.error().code, ErrorCode::kConfigInvalid);
  EXPECT_NE(startable.error().message.find("gateway.auth.token: env var \"GW_TOKEN_MISSING\" is not set"),
            std::string::npos)
      << startable.error().message;

  auto resolved = loadConfig(options({{"GW_TOKEN_MISSING", "s3cret"}}));
  ASSERT_TRUE(resolved);
  EXPECT_TRUE(requireGatewayAuthSecret(resolved->config));
  EXPECT_EQ(resolved->config.gateway.auth.token, "s3cret");
}

TEST_F(LoaderTest, UnresolvedSecretOfAnInactiveModeDoesNotBlockTheGateway) {
  dir_.write("talon.json", "{ gateway: { auth: { mode: 'password', password: 'pw', token: '$GW_TOKEN_MISSING' } } }");
  auto loaded = loadConfig(options());
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_TRUE(requireGatewayAuthSecret(loaded->config));
}

}  // namespace
}  // namespace talon::config
