// config.patch / config.apply / config.set through the method registry over real components, and the
// file watcher (LiveConfig::poll) over a real temp config file. In simulated time; nothing sleeps.
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>

#include "base/file_io.h"
#include "config/config_writer.h"
#include "gateway/live_config.h"
#include "support/method_harness.h"

namespace talon::gateway::methods {
namespace {

using talon::testing::GatewayComponents;
using talon::testing::GatewayComponentsOptions;
using talon::testing::MethodHarness;

constexpr std::string_view kCanary = "canary-token-5d1f0c";

std::string baseConfig() {
  return R"({
  gateway: { mode: "local", port: 18789, auth: { mode: "token", token: ")" +
         std::string(kCanary) + R"(" } },
  logging: { level: "info" },
  bindings: [ { agentId: "main", match: { channel: "telegram" } } ],
  models: { providers: { local: { baseUrl: "http://127.0.0.1:1/v1", models: [ { id: "a", name: "A" } ] } } },
})";
}

GatewayComponentsOptions withConfig(std::string text) {
  GatewayComponentsOptions o;
  o.configText = std::move(text);
  return o;
}

json::value obj(json::object o) { return o; }

class ConfigWriteTest : public ::testing::Test {
 protected:
  explicit ConfigWriteTest(std::string config = baseConfig()) : gw_(withConfig(std::move(config))) {}
  void SetUp() override {
    ASSERT_TRUE(harness_.ok());
    gw_.bus.subscribe([this](const GatewayEvent& e) {
      if (e.name != "config.changed") return;
      std::lock_guard lock(mu_);
      changed_.push_back(parseJson(*e.payloadJson).value().as_object());
    });
  }
  std::string hash() {
    auto got = harness_.call("config.get");
    EXPECT_TRUE(got.ok);
    return std::string(got.payload.as_object().at("hash").as_string());
  }
  std::filesystem::path path() const { return gw_.dir / "talon.json"; }
  std::string file() const { return readFile(path()).value(); }
  talon::testing::RecordedAnswer patch(std::string raw, std::optional<std::string> baseHash,
                                       std::vector<std::string> replacePaths = {}) {
    json::object p{{"raw", raw}};
    if (baseHash) p["baseHash"] = *baseHash;
    if (!replacePaths.empty()) {
      json::array a;
      for (auto& r : replacePaths) a.emplace_back(r);
      p["replacePaths"] = std::move(a);
    }
    return harness_.call("config.patch", p);
  }
  std::string errorText(const talon::testing::RecordedAnswer& a) {
    return a.error ? a.error->publicMessage() : std::string("<ok>");
  }

  GatewayComponents gw_;
  MethodHarness harness_{gw_};
  std::mutex mu_;
  std::vector<json::object> changed_;
};

TEST_F(ConfigWriteTest, BaseHashIsRequiredAndMustBeCurrent) {
  auto missing = patch(R"({"logging":{"level":"debug"}})", std::nullopt);
  ASSERT_FALSE(missing.ok);
  EXPECT_EQ(errorText(missing), "config base hash required; re-run config.get and retry");
  auto stale = patch(R"({"logging":{"level":"debug"}})", std::string(64, '0'));
  ASSERT_FALSE(stale.ok);
  EXPECT_EQ(errorText(stale), "config changed since last load; re-run config.get and retry");
  EXPECT_EQ(file(), baseConfig());
  // Both refusals are audited as denied.
  auto audited = gw_.audit.ofKind("config.write");
  ASSERT_EQ(audited.size(), 2u);
  EXPECT_EQ(audited[0].outcome, security::AuditOutcome::kDenied);
}

TEST_F(ConfigWriteTest, HotPatchIsWrittenAppliedAnnouncedAndAudited) {
  auto before = hash();
  auto res = patch(R"({"logging":{"level":"debug"}})", before);
  ASSERT_TRUE(res.ok) << errorText(res);
  const auto& p = res.payload.as_object();
  EXPECT_EQ(p.at("changedPaths"), json::array{"logging.level"});
  EXPECT_EQ(p.at("applied"), true);
  EXPECT_EQ(p.at("restartRequired"), false);
  std::string after(p.at("hash").as_string());
  EXPECT_NE(after, before);
  // The file is the new config (JSON, secrets kept), the old one is the newest backup.
  auto written = parseJson(file()).value();
  EXPECT_EQ(written.at("logging").at("level"), "debug");
  EXPECT_EQ(written.at("gateway").at("auth").at("token").as_string(), kCanary);
  EXPECT_EQ(readFile(config::configBackupPath(path(), 0)).value(), baseConfig());
  EXPECT_TRUE(std::filesystem::exists(config::lastKnownGoodPath(path())));
  // config.get shows it, and the running config is it.
  auto got = harness_.call("config.get").payload.as_object();
  EXPECT_EQ(got.at("hash").as_string(), after);
  EXPECT_EQ(got.at("appliedConfigHash").as_string(), after);
  EXPECT_EQ(gw_.liveConfig->running()->config.logging.level, "debug");
  // config.changed {path, hash, ts}.
  {
    std::lock_guard lock(mu_);
    ASSERT_EQ(changed_.size(), 1u);
    EXPECT_EQ(changed_[0].at("hash").as_string(), after);
    EXPECT_EQ(changed_[0].at("path").as_string(), path().string());
    EXPECT_TRUE(changed_[0].at("ts").is_int64());
  }
  // Audited with the diff; never the secret.
  auto audited = gw_.audit.ofKind("config.write");
  ASSERT_EQ(audited.size(), 1u);
  EXPECT_EQ(audited[0].outcome, security::AuditOutcome::kAllowed);
  EXPECT_EQ(audited[0].details.at("method"), "config.patch");
  auto diff = audited[0].details.at("diff").as_array();
  ASSERT_EQ(diff.size(), 1u);
  EXPECT_EQ(diff[0].at("path"), "logging.level");
  EXPECT_EQ(diff[0].at("before"), "info");
  EXPECT_EQ(diff[0].at("after"), "debug");
  EXPECT_EQ(json::serialize(audited[0].details).find(kCanary), std::string::npos);
  EXPECT_EQ(res.payload.as_object().at("config").at("gateway").at("auth").at("token"), "__OPENCLAW_REDACTED__");
}

TEST_F(ConfigWriteTest, RestartClassPatchIsWrittenButNotApplied) {
  auto before = hash();
  auto res = patch(R"({"gateway":{"port":19999}})", before);
  ASSERT_TRUE(res.ok) << errorText(res);
  EXPECT_EQ(res.payload.at("applied"), false);
  EXPECT_EQ(res.payload.at("restartRequired"), true);
  EXPECT_EQ(res.payload.at("restartReasons"), json::array{"gateway.port"});
  auto got = harness_.call("config.get").payload.as_object();
  EXPECT_EQ(got.at("hash"), res.payload.at("hash"));
  EXPECT_EQ(got.at("appliedConfigHash").as_string(), before);
  EXPECT_EQ(gw_.liveConfig->running()->config.gateway.port, 18789);
  auto record = gw_.healthRecords.get("config", "restart");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, health::HealthState::kDegraded);
  EXPECT_NE(record->detail.find("gateway.port"), std::string::npos);
}

TEST_F(ConfigWriteTest, ArraysOfObjectsMergeByIdAndRemovalsNeedReplacePaths) {
  auto res = patch(R"({"models":{"providers":{"local":{"models":[{"id":"b","name":"B"}]}}}})", hash());
  ASSERT_TRUE(res.ok) << errorText(res);
  auto models = parseJson(file()).value().at("models").at("providers").at("local").at("models").as_array();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].at("id"), "a");
  EXPECT_EQ(models[1].at("id"), "b");

  auto drop = patch(R"({"bindings":[]})", hash());
  ASSERT_FALSE(drop.ok);
  EXPECT_EQ(errorText(drop),
            "config.patch would remove entries from array path(s): bindings. Pass replacePaths with the exact path(s) "
            "when this is intentional, or use config.apply for full-config replacement.");
  auto replaced = patch(R"({"bindings":[]})", hash(), {"bindings"});
  ASSERT_TRUE(replaced.ok) << errorText(replaced);
  EXPECT_TRUE(parseJson(file()).value().at("bindings").as_array().empty());
}

TEST_F(ConfigWriteTest, InvalidResultIsRefusedAndTheFileStays) {
  auto res = patch(R"({"gateway":{"bogus":1}})", hash());
  ASSERT_FALSE(res.ok);
  EXPECT_EQ(errorText(res), R"(invalid config: gateway: Unrecognized key: "bogus")");
  EXPECT_EQ(res.error->details.at("issues").as_array().size(), 1u);
  EXPECT_EQ(file(), baseConfig());
  auto notObject = patch("[1]", hash());
  EXPECT_EQ(errorText(notObject), "config.patch raw must be an object");
  auto noop = patch(R"({"logging":{"level":"info"}})", hash());
  ASSERT_TRUE(noop.ok);
  EXPECT_EQ(noop.payload.at("noop"), true);
}

TEST_F(ConfigWriteTest, ApplyRestoresRedactedSecretsAndRefusesAClobber) {
  auto got = harness_.call("config.get").payload.as_object();
  std::string raw(got.at("raw").as_string());
  ASSERT_NE(raw.find("__OPENCLAW_REDACTED__"), std::string::npos);
  // The shown config written back (with one change) keeps the real token in the file.
  auto edited = parseJson(raw).value();
  edited.as_object()["session"] = json::object{{"dmScope", "per-peer"}};
  auto res =
      harness_.call("config.apply", obj(json::object{{"raw", json::serialize(edited)}, {"baseHash", got.at("hash")}}));
  ASSERT_TRUE(res.ok) << errorText(res);
  EXPECT_EQ(parseJson(file()).value().at("gateway").at("auth").at("token").as_string(), kCanary);
  EXPECT_FALSE(res.payload.as_object().contains("changedPaths"));

  // Dropping gateway.mode is a clobber: refused, the payload kept aside.
  auto clobber = edited;
  clobber.as_object()["gateway"].as_object().erase("mode");
  auto refused =
      harness_.call("config.apply", obj(json::object{{"raw", json::serialize(clobber)}, {"baseHash", hash()}}));
  ASSERT_FALSE(refused.ok);
  EXPECT_TRUE(errorText(refused).starts_with("Config write rejected: " + path().string() + " (gateway-mode-removed)"))
      << errorText(refused);
  EXPECT_EQ(parseJson(file()).value().at("gateway").at("mode"), "local");
}

TEST_F(ConfigWriteTest, ConfigSetWritesAndAnswersWithoutRestartFields) {
  auto got = harness_.call("config.get").payload.as_object();
  auto edited = parseJson(std::string(got.at("raw").as_string())).value();
  edited.as_object()["logging"] = json::object{{"level", "warn"}};
  auto res =
      harness_.call("config.set", obj(json::object{{"raw", json::serialize(edited)}, {"baseHash", got.at("hash")}}));
  ASSERT_TRUE(res.ok) << errorText(res);
  EXPECT_EQ(res.payload.at("ok"), true);
  EXPECT_FALSE(res.payload.as_object().contains("restartRequired"));
  EXPECT_EQ(gw_.liveConfig->running()->config.logging.level, "warn");
}

TEST_F(ConfigWriteTest, ThirtyWritesAMinutePerMethodAndClient) {
  for (int i = 0; i < kConfigWritesPerWindow; ++i) {
    auto r = patch(R"({"logging":{"level":"debug"}})", std::nullopt);
    EXPECT_EQ(errorText(r), "config base hash required; re-run config.get and retry");
  }
  auto limited = patch(R"({"logging":{"level":"debug"}})", std::nullopt);
  ASSERT_FALSE(limited.ok);
  EXPECT_EQ(errorText(limited), "rate limit exceeded for config.patch; retry after 60s");
  EXPECT_EQ(limited.error->code, ErrorCode::kUnavailable);
  EXPECT_EQ(limited.error->retryAfterMs, 60'000);
  // Another method has its own budget; the window ends after 60 s.
  auto apply = harness_.call("config.apply", obj(json::object{{"raw", "{}"}}));
  EXPECT_EQ(errorText(apply), "config base hash required; re-run config.get and retry");
  gw_.clock->advance(60'000);
  EXPECT_EQ(errorText(patch(R"({"logging":{"level":"debug"}})", std::nullopt)),
            "config base hash required; re-run config.get and retry");
}

// The included file must exist before the config that names it is loaded: the components start from an
// empty config, then the test writes both files and offers the loaded result, as the watcher would.
TEST(ConfigWriteIncludes, PatchesNeverFlattenAnInclude) {
  GatewayComponents probe(withConfig("{}"));
  std::ofstream(probe.dir / "session.json5") << R"({ dmScope: "per-peer" })";
  std::ofstream(probe.dir / "talon.json", std::ios::trunc)
      << R"({ gateway: { mode: "local" }, logging: { level: "info" }, session: { $include: "./session.json5" } })";
  auto loaded = config::loadConfig(probe.liveConfig->options().load);
  ASSERT_TRUE(loaded) << loaded.error().toString();
  ASSERT_EQ(loaded->includedFiles.size(), 1u);
  probe.liveConfig->offer(*loaded);
  MethodHarness harness(probe);
  auto hash = std::string(harness.call("config.get").payload.at("hash").as_string());

  auto into =
      harness.call("config.patch", obj(json::object{{"raw", R"({"session":{"dmScope":"main"}})"}, {"baseHash", hash}}));
  ASSERT_FALSE(into.ok);
  EXPECT_EQ(into.error->publicMessage(),
            "config.patch cannot change session: it comes from an $include file; edit that file instead (Talon never "
            "flattens $include files into the root config)");
  auto outside =
      harness.call("config.patch", obj(json::object{{"raw", R"({"logging":{"level":"debug"}})"}, {"baseHash", hash}}));
  ASSERT_TRUE(outside.ok) << outside.error->publicMessage();
  auto root = parseJson(readFile(probe.dir / "talon.json").value()).value();
  EXPECT_EQ(root.at("session").at("$include"), "./session.json5");
  auto apply = harness.call("config.apply", obj(json::object{{"raw", R"({"gateway":{"mode":"local"}})"},
                                                             {"baseHash", outside.payload.at("hash")}}));
  ASSERT_FALSE(apply.ok);
  EXPECT_NE(apply.error->publicMessage().find("$include"), std::string::npos);
}

TEST_F(ConfigWriteTest, WatcherAppliesAValidEditAndRejectsAnInvalidOne) {
  auto& live = *gw_.liveConfig;
  auto startHash = live.running()->hash;
  // An invalid edit: rejected after it held still for one step; the running config stays.
  std::ofstream(path(), std::ios::trunc) << R"({ gateway: { mode: "local", bogus: true } })";
  live.poll();
  EXPECT_EQ(gw_.healthRecords.get("config", "reload")->state, health::HealthState::kOk);  // not settled yet
  live.poll();
  auto record = gw_.healthRecords.get("config", "reload");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, health::HealthState::kFailed);
  EXPECT_TRUE(record->detail.starts_with("config reload skipped (invalid config): ")) << record->detail;
  EXPECT_EQ(live.running()->hash, startHash);
  EXPECT_EQ(live.file()->hash, startHash);
  auto status = live.healthStatus();
  EXPECT_EQ(status.at("hotReloadStatus"), "active");
  EXPECT_TRUE(status.at("lastError").as_string().starts_with("config reload skipped (invalid config): "));

  // A valid hot edit: applied, the failure cleared.
  std::string next = baseConfig();
  next.replace(next.find(R"(level: "info")"), 13, R"(level: "error")");
  std::ofstream(path(), std::ios::trunc) << next;
  live.poll();
  live.poll();
  EXPECT_EQ(gw_.healthRecords.get("config", "reload")->state, health::HealthState::kOk);
  EXPECT_EQ(live.running()->config.logging.level, "error");
  EXPECT_NE(live.running()->hash, startHash);

  // A restart-class edit with reload mode off: reported, not applied.
  std::string off = next;
  off.replace(off.find("port: 18789"), 11, R"(port: 18790, reload: { mode: "off" })");
  std::ofstream(path(), std::ios::trunc) << off;
  live.poll();
  live.poll();
  EXPECT_EQ(live.running()->config.gateway.port, 18789);
  EXPECT_EQ(live.file()->config.gateway.port, 18790);
  auto restart = gw_.healthRecords.get("config", "restart");
  ASSERT_TRUE(restart);
  EXPECT_EQ(restart->state, health::HealthState::kDegraded);
  EXPECT_NE(restart->detail.find("gateway.port"), std::string::npos);
  status = live.healthStatus();
  EXPECT_FALSE(status.contains("lastError"));
  EXPECT_EQ(status.at("restartRequired"), true);
  EXPECT_EQ(status.at("restartReasons"), json::array{"gateway.port"});
}

}  // namespace
}  // namespace talon::gateway::methods
