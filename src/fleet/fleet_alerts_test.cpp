#include "fleet/fleet_alerts.h"

#include <gtest/gtest.h>

#include "base/clock.h"
#include "fleet/fleet_test_util.h"
#include "fleet/inventory.h"
#include "security/webhook_signature.h"
#include "support/scripted_peer.h"

namespace talon::fleet {
namespace {

using talon::testing::PeerReply;
using talon::testing::ScriptedPeer;

FleetAlertSettings fleetAlertsTestSettings(const std::string& url) {
  FleetAlertSettings s;
  s.targets.push_back(FleetAlertTarget{"pager", url, "FLEET_ALERT_SECRET", {}});
  return s;
}

FleetAlerts::EnvironmentLookup fleetAlertsTestEnv(std::optional<std::string> secret) {
  return [secret](const std::string& name) -> std::optional<std::string> {
    return name == "FLEET_ALERT_SECRET" ? secret : std::nullopt;
  };
}

FleetAlert fleetAlertsTestDrift() {
  FleetAlert a;
  a.key = "fleet:drift/gw-a";
  a.title = "gateway gw-a drifted (hash)";
  a.text = "the running config differs";
  a.fields = {{"gateway", "gw-a"}};
  a.ts = 1'800'000'000'000;
  return a;
}

TEST(FleetAlertsTest, AnAlertIsASignedJsonPostSentOnceWhenItFiresAndOnceWhenItResolves) {
  ScriptedPeer peer({PeerReply::whole(204, "")});
  std::vector<std::chrono::milliseconds> sleeps;
  FleetAlerts alerts(fleetAlertsTestSettings(peer.origin() + "/hooks/fleet"), fleetAlertsTestEnv("whsec-fleet"),
                     [&](std::chrono::milliseconds d) { sleeps.push_back(d); });
  auto sent = alerts.fire(fleetAlertsTestDrift());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].delivered) << sent[0].error;
  EXPECT_EQ(sent[0].status, 204);
  EXPECT_TRUE(alerts.fire(fleetAlertsTestDrift()).empty());  // open already: not sent again
  EXPECT_EQ(alerts.open(), (std::set<std::string>{"fleet:drift/gw-a"}));
  auto resolved = alerts.resolve("fleet:drift/gw-a", "gateway gw-a is in sync again", "ok", 1'800'000'060'000);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_TRUE(resolved[0].delivered);
  EXPECT_TRUE(alerts.resolve("fleet:drift/gw-a", "t", "x", 0).empty());
  EXPECT_TRUE(sleeps.empty());

  auto reqs = peer.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/hooks/fleet");
  EXPECT_EQ(reqs[0].header("content-type"), "application/json");
  security::WebhookVerifier verifier(security::Secret("whsec-fleet"), 300, SystemClock::instance());
  EXPECT_EQ(verifier.verify(reqs[0].header("x-talon-timestamp"), reqs[0].header("x-talon-signature"), reqs[0].body),
            security::SignatureCheck::kValid);
  auto body = parseJson(reqs[0].body);
  ASSERT_TRUE(body && body->is_object());
  EXPECT_EQ(body->at("type"), "alert.firing");
  EXPECT_EQ(body->at("key"), "fleet:drift/gw-a");
  EXPECT_EQ(body->at("severity"), "critical");
  EXPECT_EQ(body->at("fields").at("gateway"), "gw-a");
  EXPECT_EQ(body->at("ts"), 1'800'000'000'000);
  auto second = parseJson(reqs[1].body);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->at("type"), "alert.resolved");
  EXPECT_EQ(second->at("title"), "gateway gw-a is in sync again");
}

TEST(FleetAlertsTest, ServerErrorsAreRetriedWithBackoffAndClientErrorsAreFinal) {
  ScriptedPeer flaky({PeerReply::whole(503, "{}"), PeerReply::whole(502, "{}"), PeerReply::whole(200, "{}")});
  std::vector<std::chrono::milliseconds> sleeps;
  FleetAlerts alerts(fleetAlertsTestSettings(flaky.origin() + "/a"), fleetAlertsTestEnv("s"),
                     [&](std::chrono::milliseconds d) { sleeps.push_back(d); });
  auto sent = alerts.send(fleetAlertsTestDrift());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].delivered);
  EXPECT_EQ(sent[0].attempts, 3);
  EXPECT_EQ(sleeps,
            (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(1000), std::chrono::milliseconds(2000)}));
  auto reqs = flaky.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].header("x-talon-delivery"), reqs[2].header("x-talon-delivery"));

  ScriptedPeer refusing({PeerReply::whole(403, "{}")});
  FleetAlerts refused(fleetAlertsTestSettings(refusing.origin() + "/a"), fleetAlertsTestEnv("s"),
                      [](std::chrono::milliseconds) {});
  auto r = refused.send(fleetAlertsTestDrift());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].delivered);
  EXPECT_EQ(r[0].attempts, 1);
  EXPECT_EQ(r[0].error, "the target answered 403");
}

TEST(FleetAlertsTest, AnUnsetSecretIsNeverSentUnsigned) {
  ScriptedPeer peer({PeerReply::whole(204, "")});
  FleetAlerts alerts(fleetAlertsTestSettings(peer.origin() + "/a"), fleetAlertsTestEnv(std::nullopt),
                     [](std::chrono::milliseconds) {});
  auto sent = alerts.fire(fleetAlertsTestDrift());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_FALSE(sent[0].delivered);
  EXPECT_NE(sent[0].error.find("FLEET_ALERT_SECRET is not set"), std::string::npos) << sent[0].error;
  EXPECT_TRUE(peer.requests().empty());
}

TEST(FleetAlertsTest, TheAlertsSectionIsValidated) {
  testing::TempDir dir;
  const std::string head =
      "{ organisation: { id: \"o\", slug: \"o\", displayName: \"O\" },\n"
      "  gateways: { g: { port: 18789, stateDir: \"/tmp/s\", workspaceRoot: \"/tmp/w\" } },\n";
  dir.write("fleet.json5", head +
                               "  alerts: { targets: [ { kind: \"webhook\", url: \"https://ops.example/h\", secret: "
                               "\"${OPS_SECRET}\" },\n    { id: \"b\", kind: \"webhook\", url: \"http://x/y\", secret: "
                               "{ source: \"env\", provider: \"default\", id: \"B_SECRET\" } } ] },\n}\n");
  auto inv = Inventory::load(dir.path() / "fleet.json5");
  ASSERT_TRUE(inv) << inv.error().message;
  ASSERT_TRUE((*inv)->alerts().has_value());
  const auto& targets = (*inv)->alerts()->targets;
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].id, "webhook-0");
  EXPECT_EQ(targets[0].secretVariable, "OPS_SECRET");
  EXPECT_EQ(targets[1].id, "b");
  EXPECT_EQ(targets[1].secretVariable, "B_SECRET");

  dir.write("fleet.json5", head +
                               "  alerts: { targets: [\n    { kind: \"email\", url: \"ftp://x\", secret: "
                               "\"${S}\" } ] },\n}\n");
  auto bad = Inventory::load(dir.path() / "fleet.json5");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("fleet.json5:4:"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("alerts.targets[0].kind: \"email\" is not one of \"webhook\""), std::string::npos)
      << bad.error().message;

  dir.write("fleet.json5",
            head +
                "  alerts: { targets: [\n    { kind: \"webhook\", url: \"ftp://x\", secret: \"${S}\" },\n"
                "    { id: \"webhook-0\", kind: \"webhook\", url: \"http://x\", secret: \"${S}\" } ] },\n}\n");
  auto worse = Inventory::load(dir.path() / "fleet.json5");
  ASSERT_FALSE(worse);
  EXPECT_NE(worse.error().message.find("fleet.json5:4:"), std::string::npos) << worse.error().message;
  EXPECT_NE(worse.error().message.find("alerts.targets[0].url: \"ftp://x\" is not an http(s) URL"), std::string::npos)
      << worse.error().message;
  EXPECT_NE(worse.error().message.find("alerts.targets[1].id: the id \"webhook-0\" is used twice"), std::string::npos)
      << worse.error().message;
}

}  // namespace
}  // namespace talon::fleet
