#include "security/secret_resolver.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>

namespace talon::security {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kResolverCanary = "canary-7f3e-file-secret";

class ResolverAuditRecorder final : public AuditSink {
 public:
  void record(AuditEvent e) override {
    std::lock_guard lock(mu_);
    events.push_back(std::move(e));
  }
  std::mutex mu_;
  std::vector<AuditEvent> events;
};

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "talon-secret-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

fs::path writeFile(const fs::path& p, std::string_view text, mode_t mode) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
  ::chmod(p.c_str(), mode);
  return p;
}

config::SecretRef ref(std::string source, std::string provider, std::string id) {
  return config::SecretRef{std::move(source), std::move(provider), std::move(id), "models.providers.p.apiKey"};
}

struct Fixture : ::testing::Test {
  TempDir dir;
  ResolverAuditRecorder audit;

  SecretResolver resolver(config::SecretsConfig secrets, config::Environment env = {}) {
    SecretResolverOptions o;
    o.secrets = std::move(secrets);
    o.env = std::move(env);
    o.audit = &audit;
    return SecretResolver(std::move(o));
  }
  config::SecretsConfig fileProvider(const fs::path& path, std::string mode = "json") {
    config::SecretsConfig s;
    config::SecretProviderConfig p;
    p.alias = "filemain";
    p.source = "file";
    p.path = path.string();
    p.mode = std::move(mode);
    s.providers["filemain"] = p;
    return s;
  }
  config::SecretsConfig execProvider(const fs::path& command) {
    config::SecretsConfig s;
    config::SecretProviderConfig p;
    p.alias = "vault";
    p.source = "exec";
    p.command = command.string();
    p.timeoutMs = 2000;
    s.providers["vault"] = p;
    return s;
  }
};

void expectNoValue(const Error& e) {
  EXPECT_EQ(e.message.find(kResolverCanary), std::string::npos) << e.message;
  EXPECT_EQ(e.externalMessage.find(kResolverCanary), std::string::npos);
}

using SecretResolverTest = Fixture;

TEST_F(SecretResolverTest, EnvRefReadsTheVariableAndHonoursTheAllowlist) {
  config::SecretsConfig s;
  auto r = resolver(s, {{"OPENAI_KEY", "v1"}});
  auto v = r.resolve(ref("env", "default", "OPENAI_KEY"));
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->reveal(), "v1");
  auto missing = r.resolve(ref("env", "default", "NOPE"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("models.providers.p.apiKey"), std::string::npos);

  config::SecretProviderConfig p;
  p.alias = "default";
  p.source = "env";
  p.allowlist = std::vector<std::string>{"OTHER"};
  s.providers["default"] = p;
  auto denied = resolver(s, {{"OPENAI_KEY", "v1"}}).resolve(ref("env", "default", "OPENAI_KEY"));
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
  // A non-default alias needs an entry.
  auto unknown = resolver({}, {{"OPENAI_KEY", "v1"}}).resolve(ref("env", "other", "OPENAI_KEY"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kConfigInvalid);
}

TEST_F(SecretResolverTest, FileRefSelectsByJsonPointer) {
  auto f = writeFile(dir.path() / "s.json",
                     R"({"providers":{"openai":{"apiKey":"canary-7f3e-file-secret"}},"a/b":{"~x":"esc"}})", 0600);
  auto r = resolver(fileProvider(f));
  auto v = r.resolve(ref("file", "filemain", "/providers/openai/apiKey"));
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->reveal(), kResolverCanary);
  auto esc = r.resolve(ref("file", "filemain", "/a~1b/~0x"));
  ASSERT_TRUE(esc) << esc.error().message;
  EXPECT_EQ(esc->reveal(), "esc");
  auto missing = r.resolve(ref("file", "filemain", "/providers/none"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  expectNoValue(missing.error());
  auto notString = r.resolve(ref("file", "filemain", "/providers"));
  ASSERT_FALSE(notString);
  expectNoValue(notString.error());
  ASSERT_EQ(audit.events.size(), 4u);
  EXPECT_EQ(audit.events[0].kind, "secret.read");
  EXPECT_EQ(audit.events[0].target, "file:filemain:/providers/openai/apiKey");
  EXPECT_EQ(audit.events[0].outcome, AuditOutcome::kAllowed);
  EXPECT_EQ(audit.events[2].outcome, AuditOutcome::kFailed);
}

TEST_F(SecretResolverTest, FileRefSingleValueStripsTheNewline) {
  auto f = writeFile(dir.path() / "token", "canary-7f3e-file-secret\n", 0600);
  auto r = resolver(fileProvider(f, "singleValue"));
  auto v = r.resolve(ref("file", "filemain", "value"));
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->reveal(), kResolverCanary);
  EXPECT_FALSE(r.resolve(ref("file", "filemain", "/x")));
}

TEST_F(SecretResolverTest, FileRefRefusesAFileOthersCanRead) {
  for (mode_t mode : {0640, 0604, 0660, 0620}) {
    auto f = writeFile(dir.path() / "s.json", R"({"k":"canary-7f3e-file-secret"})", mode);
    auto v = resolver(fileProvider(f)).resolve(ref("file", "filemain", "/k"));
    ASSERT_FALSE(v) << std::oct << mode;
    EXPECT_EQ(v.error().code, ErrorCode::kPermissionDenied);
    EXPECT_NE(v.error().message.find("group or others"), std::string::npos) << v.error().message;
    expectNoValue(v.error());
  }
}

TEST_F(SecretResolverTest, FileRefRefusesSymlinksHardlinksAndDirectories) {
  auto f = writeFile(dir.path() / "s.json", R"({"k":"canary-7f3e-file-secret"})", 0600);
  fs::create_symlink(f, dir.path() / "link.json");
  auto link = resolver(fileProvider(dir.path() / "link.json")).resolve(ref("file", "filemain", "/k"));
  ASSERT_FALSE(link);
  EXPECT_NE(link.error().message.find("symlink"), std::string::npos);
  fs::create_hard_link(f, dir.path() / "hard.json");
  auto hard = resolver(fileProvider(f)).resolve(ref("file", "filemain", "/k"));
  ASSERT_FALSE(hard);
  EXPECT_NE(hard.error().message.find("hardlinked"), std::string::npos);
  fs::create_directory(dir.path() / "d");
  ::chmod((dir.path() / "d").c_str(), 0700);
  auto d = resolver(fileProvider(dir.path() / "d")).resolve(ref("file", "filemain", "/k"));
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("not a regular file"), std::string::npos);
  auto missing = resolver(fileProvider(dir.path() / "absent")).resolve(ref("file", "filemain", "/k"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(SecretResolverTest, FileRefBoundedByMaxBytes) {
  auto f = writeFile(dir.path() / "s.json", R"({"k":"canary-7f3e-file-secret"})", 0600);
  auto s = fileProvider(f);
  s.providers["filemain"].maxBytes = 8;
  auto v = resolver(s).resolve(ref("file", "filemain", "/k"));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kResourceExhausted);
}

TEST_F(SecretResolverTest, FileAndExecRefsNeedAProviderOfTheSameSource) {
  auto f = writeFile(dir.path() / "s.json", R"({"k":"v"})", 0600);
  auto v = resolver(fileProvider(f)).resolve(ref("exec", "filemain", "k"));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kConfigInvalid);
  EXPECT_NE(v.error().message.find("no secrets.providers.filemain with source \"exec\""), std::string::npos);
  auto store = resolver({}).resolve(ref("store", "default", "OPENAI_KEY"));
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kFailedPrecondition);
}

// A resolver script: echoes the request's provider into the answer so the test sees the protocol.
constexpr std::string_view kScript = R"(#!/bin/sh
req=$(cat)
case "$req" in
  *'"ids":["openai/apiKey"]'*) printf '{"protocolVersion":1,"values":{"openai/apiKey":"canary-7f3e-file-secret"}}' ;;
  *'"ids":["missing"]'*) printf '{"protocolVersion":1,"values":{},"errors":{"missing":{"code":"NOT_FOUND","message":"canary-7f3e-file-secret"}}}' ;;
  *'"ids":["garbage"]'*) printf 'not json canary-7f3e-file-secret' ;;
  *'"ids":["slow"]'*) sleep 5 ;;
  *'"ids":["env"]'*) printf '{"protocolVersion":1,"values":{"env":"%s"}}' "$PASSED${NOT_PASSED}" ;;
  *'"ids":["fail"]'*) exit 3 ;;
esac
)";

TEST_F(SecretResolverTest, ExecRefSpeaksJsonOverStdinAndStdout) {
  auto cmd = writeFile(dir.path() / "resolver.sh", kScript, 0700);
  auto r = resolver(execProvider(cmd));
  auto v = r.resolve(ref("exec", "vault", "openai/apiKey"));
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->reveal(), kResolverCanary);

  auto missing = r.resolve(ref("exec", "vault", "missing"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  expectNoValue(missing.error());
  auto garbage = r.resolve(ref("exec", "vault", "garbage"));
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::kUpstream);
  expectNoValue(garbage.error());
  auto failed = r.resolve(ref("exec", "vault", "fail"));
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("exit code 3"), std::string::npos);
}

TEST_F(SecretResolverTest, ExecRefPassesOnlyTheListedEnvironment) {
  auto cmd = writeFile(dir.path() / "resolver.sh", kScript, 0700);
  auto s = execProvider(cmd);
  s.providers["vault"].passEnv = {"PASSED"};
  auto v = resolver(s, {{"PASSED", "yes"}, {"NOT_PASSED", "leak"}}).resolve(ref("exec", "vault", "env"));
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->reveal(), "yes");
}

TEST_F(SecretResolverTest, ExecRefTimesOut) {
  auto cmd = writeFile(dir.path() / "resolver.sh", kScript, 0700);
  auto s = execProvider(cmd);
  s.providers["vault"].timeoutMs = 100;
  auto v = resolver(s).resolve(ref("exec", "vault", "slow"));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kDeadlineExceeded);
}

TEST_F(SecretResolverTest, ExecRefRefusesUntrustedCommands) {
  auto cmd = writeFile(dir.path() / "resolver.sh", kScript, 0700);
  ::chmod(cmd.c_str(), 0720);
  auto groupWritable = resolver(execProvider(cmd)).resolve(ref("exec", "vault", "openai/apiKey"));
  ASSERT_FALSE(groupWritable);
  EXPECT_NE(groupWritable.error().message.find("writable by group or others"), std::string::npos);
  ::chmod(cmd.c_str(), 0702);
  EXPECT_FALSE(resolver(execProvider(cmd)).resolve(ref("exec", "vault", "openai/apiKey")));
  ::chmod(cmd.c_str(), 0700);
  fs::create_symlink(cmd, dir.path() / "link.sh");
  auto link = resolver(execProvider(dir.path() / "link.sh")).resolve(ref("exec", "vault", "openai/apiKey"));
  ASSERT_FALSE(link);
  EXPECT_NE(link.error().message.find("symlink"), std::string::npos);
  auto relative = resolver(execProvider("resolver.sh")).resolve(ref("exec", "vault", "openai/apiKey"));
  ASSERT_FALSE(relative);
  EXPECT_EQ(relative.error().code, ErrorCode::kConfigInvalid);
  auto s = execProvider(cmd);
  s.providers["vault"].trustedDirs = {"/usr/local/bin"};
  auto untrustedDir = resolver(s).resolve(ref("exec", "vault", "openai/apiKey"));
  ASSERT_FALSE(untrustedDir);
  EXPECT_NE(untrustedDir.error().message.find("trustedDirs"), std::string::npos);
  s.providers["vault"].trustedDirs = {dir.path().string()};
  EXPECT_TRUE(resolver(s).resolve(ref("exec", "vault", "openai/apiKey")));
}

TEST_F(SecretResolverTest, ResolveConfigSecretsFillsKeysAndReportsFailuresByRef) {
  auto f = writeFile(dir.path() / "s.json", R"({"gw":"tok-1","key":"canary-7f3e-file-secret"})", 0600);
  config::TalonConfig c;
  c.secrets = fileProvider(f);
  c.gateway.auth.mode = "token";
  c.gateway.auth.tokenRef = config::SecretRef{"file", "filemain", "/gw", "gateway.auth.token"};
  config::ProviderConfig good;
  good.id = "good";
  good.apiKeyRef = config::SecretRef{"file", "filemain", "/key", "models.providers.good.apiKey"};
  good.headerRefs["X-Key"] = config::SecretRef{"file", "filemain", "/key", "models.providers.good.headers.X-Key"};
  config::ProviderConfig bad;
  bad.id = "bad";
  bad.apiKeyRef = config::SecretRef{"file", "filemain", "/none", "models.providers.bad.apiKey"};
  c.providers = {good, bad};
  resolveConfigSecrets(c, resolver(c.secrets));
  EXPECT_EQ(c.gateway.auth.token, "tok-1");
  EXPECT_TRUE(c.gateway.auth.secretUnavailable.empty());
  EXPECT_EQ(c.providers[0].apiKey, kResolverCanary);
  EXPECT_EQ(c.providers[0].headers.at("X-Key"), kResolverCanary);
  EXPECT_TRUE(c.providers[1].apiKey.empty());
  EXPECT_NE(c.providers[1].apiKeyUnavailable.find("models.providers.bad.apiKey"), std::string::npos);

  config::TalonConfig d;
  d.secrets = c.secrets;
  d.gateway.auth.tokenRef = config::SecretRef{"file", "filemain", "/none", "gateway.auth.token"};
  resolveConfigSecrets(d, resolver(d.secrets));
  EXPECT_EQ(d.gateway.auth.secretPath, "gateway.auth.token");
  EXPECT_NE(d.gateway.auth.secretUnavailable.find("filemain:/none"), std::string::npos);
}

TEST_F(SecretResolverTest, ResolveConfigSecretsFillsTheCronWebhookToken) {
  auto f = writeFile(dir.path() / "s.json", R"({"cron":"canary-7f3e-file-secret"})", 0600);
  config::TalonConfig c;
  c.secrets = fileProvider(f);
  c.cron.webhookTokenRef = config::SecretRef{"file", "filemain", "/cron", "cron.webhookToken"};
  EXPECT_TRUE(configUsesSecretSource(c, "file"));
  resolveConfigSecrets(c, resolver(c.secrets));
  EXPECT_EQ(c.cron.webhookToken, kResolverCanary);
  EXPECT_TRUE(c.cron.webhookTokenUnavailable.empty());

  config::TalonConfig d;
  d.secrets = c.secrets;
  d.cron.webhookTokenRef = config::SecretRef{"file", "filemain", "/none", "cron.webhookToken"};
  resolveConfigSecrets(d, resolver(d.secrets));
  EXPECT_TRUE(d.cron.webhookToken.empty());
  EXPECT_NE(d.cron.webhookTokenUnavailable.find("filemain:/none"), std::string::npos);
}

TEST_F(SecretResolverTest, ResolveConfigSecretsFillsAuthProfileCredentials) {
  auto f = writeFile(dir.path() / "s.json", R"({"work":"canary-7f3e-file-secret"})", 0600);
  config::TalonConfig c;
  c.secrets = fileProvider(f);
  config::AuthProfileConfig work;
  work.id = "anthropic:work";
  work.provider = "anthropic";
  work.mode = "api_key";
  work.secretRef = config::SecretRef{"file", "filemain", "/work", "auth.profiles.anthropic:work.apiKey"};
  config::AuthProfileConfig gone = work;
  gone.id = "anthropic:gone";
  gone.secretRef = config::SecretRef{"file", "filemain", "/gone", "auth.profiles.anthropic:gone.apiKey"};
  c.auth.profiles = {work, gone};
  EXPECT_TRUE(configUsesSecretSource(c, "file"));
  resolveConfigSecrets(c, resolver(c.secrets));
  EXPECT_EQ(c.auth.profiles[0].secret, kResolverCanary);
  EXPECT_TRUE(c.auth.profiles[0].unavailable.empty());
  EXPECT_TRUE(c.auth.profiles[1].secret.empty());
  EXPECT_NE(c.auth.profiles[1].unavailable.find("filemain:/gone"), std::string::npos);
  EXPECT_EQ(c.auth.profiles[1].unavailable.find(kResolverCanary), std::string::npos);
}

TEST(AgentsUsingProvider, FollowsOwnAndInheritedModels) {
  config::TalonConfig c;
  c.agents.defaults.model.primary = "openai/gpt";
  c.agents.entries = {
      {"main", "", "", {}}, {"ops", "", "", {"local/llama", {"openai/gpt"}}}, {"x", "", "", {"l/m", {}}}};
  EXPECT_EQ(agentsUsingProvider(c, "openai"), (std::vector<std::string>{"main", "ops"}));
  EXPECT_EQ(agentsUsingProvider(c, "local"), (std::vector<std::string>{"ops"}));
  EXPECT_TRUE(agentsUsingProvider(c, "open").empty());
}

}  // namespace
}  // namespace talon::security
