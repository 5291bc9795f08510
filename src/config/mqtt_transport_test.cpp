// The MQTT channel's keys in config (the `mqtt` row of config/sections/channel_transports.cpp and the
// formats of config/mqtt_settings.h): Talon's own channel, every key checked with file:line:path.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "config/config_test_util.h"
#include "config/config_validator.h"
#include "config/json5.h"
#include "config/mqtt_settings.h"

namespace talon::config {
namespace {

using testing::messages;
using testing::validate;

TEST(MqttTransportKeys, AnAccountLoadsForTheAdapter) {
  ValidationResult r = validate(R"({
    channels: { mqtt: {
      dmPolicy: "allowlist", allowFrom: ["alice"],
      accounts: { home: {
        url: "mqtts://broker.example.net:8883", clientId: "talon-home", username: "talon", password: "pw",
        caFile: "/etc/ssl/certs/ca.pem", qos: 2, keepaliveSeconds: 30, replyTopic: "home/{peer}/reply",
        replyFormat: "json", probeTopic: "home/probe",
        subscriptions: [ { topic: "home/+/ask", senderLevel: 1 }, { topic: "sensors/#", qos: 0, session: "topic" } ],
      } },
    } },
  })");
  ASSERT_TRUE(r.valid()) << messages(r);
  const ChannelConfig& c = r.config.channels.entries.at(0);
  EXPECT_EQ(c.id, "mqtt");
  const auto& s = c.accountSettings.at("home").values;
  EXPECT_EQ(s.at("url"), json::value("mqtts://broker.example.net:8883"));
  EXPECT_EQ(s.at("qos"), json::value(2));
  EXPECT_TRUE(s.at("subscriptions").is_array());
  EXPECT_EQ(c.access.dmPolicy, std::optional<std::string>("allowlist"));
}

TEST(MqttTransportKeys, BadValuesNameTheirFileLineAndPath) {
  struct Case {
    const char* member;
    const char* path;
  };
  const Case cases[] = {
      {R"(url: "http://broker")", "channels.mqtt.accounts.a.url"},
      {R"(url: "mqtt://broker:0")", "channels.mqtt.accounts.a.url"},
      {R"(qos: 3)", "channels.mqtt.accounts.a.qos"},
      {R"(keepaliveSeconds: 1)", "channels.mqtt.accounts.a.keepaliveSeconds"},
      {R"(replyTopic: "out/#")", "channels.mqtt.accounts.a.replyTopic"},
      {R"(replyTopic: "out/{sender}")", "channels.mqtt.accounts.a.replyTopic"},
      {R"(replyFormat: "xml")", "channels.mqtt.accounts.a.replyFormat"},
      {R"(probeTopic: "p/+")", "channels.mqtt.accounts.a.probeTopic"},
      {R"(subscriptions: "in/#")", "channels.mqtt.accounts.a.subscriptions"},
      {R"(subscriptions: [{ topic: "in/#/x" }])", "channels.mqtt.accounts.a.subscriptions[0].topic"},
      {R"(subscriptions: [{ topic: "in/+", qos: 5 }])", "channels.mqtt.accounts.a.subscriptions[0].qos"},
      {R"(subscriptions: [{ topic: "in/+" }, { qos: 1 }])", "channels.mqtt.accounts.a.subscriptions[1].topic"},
      {R"(subscriptions: [{ topic: "in/+", senderLevel: 2 }])",
       "channels.mqtt.accounts.a.subscriptions[0].senderLevel"},
      {R"(subscriptions: [{ topic: "in/x", senderLevel: 1 }])",
       "channels.mqtt.accounts.a.subscriptions[0].senderLevel"},
      {R"(subscriptions: [{ topic: "in/+", session: "peer" }])", "channels.mqtt.accounts.a.subscriptions[0].session"},
      {R"(subscriptions: [{ topic: "in/+", agent: "main" }])", "channels.mqtt.accounts.a.subscriptions[0].agent"},
      {R"(retain: true)", "channels.mqtt.accounts.a: Unrecognized key: \"retain\""},
  };
  for (const auto& c : cases) {
    ValidationResult r =
        validate(std::string("{\n channels: { mqtt: { accounts: { a: {\n  ") + c.member + ",\n } } } },\n}");
    EXPECT_FALSE(r.valid()) << c.member;
    const std::string m = messages(r);
    EXPECT_NE(m.find(std::string("/c/talon.json:3:")), std::string::npos) << c.member << "\n" << m;
    const std::string path(c.path);
    EXPECT_NE(m.find(path.back() == '"' ? path : path + ":"), std::string::npos) << c.member << "\n" << m;
  }
}

TEST(MqttTopics, FiltersNamesAndMatchesFollowTheSpec) {
  for (const char* ok : {"a", "a/b", "+", "#", "a/+/c", "a/#", "/", "a//b", "+/+"}) {
    EXPECT_TRUE(isMqttTopicFilter(ok)) << ok;
  }
  for (const char* bad : {"", "a/#/b", "a#", "a/b+", "a/+b", "##"}) EXPECT_FALSE(isMqttTopicFilter(bad)) << bad;
  EXPECT_TRUE(isMqttTopicName("a/b"));
  EXPECT_FALSE(isMqttTopicName("a/+"));
  EXPECT_FALSE(isMqttTopicName("a/#"));
  EXPECT_FALSE(isMqttTopicName(std::string_view("a\0b", 3)));

  EXPECT_TRUE(mqttTopicMatches("a/+/c", "a/b/c"));
  EXPECT_FALSE(mqttTopicMatches("a/+/c", "a/b/d"));
  EXPECT_FALSE(mqttTopicMatches("a/+", "a/b/c"));
  EXPECT_TRUE(mqttTopicMatches("a/#", "a"));
  EXPECT_TRUE(mqttTopicMatches("a/#", "a/b/c"));
  EXPECT_TRUE(mqttTopicMatches("#", "x/y"));
  EXPECT_FALSE(mqttTopicMatches("#", "$SYS/broker"));
  EXPECT_FALSE(mqttTopicMatches("+/broker", "$SYS/broker"));
  EXPECT_TRUE(mqttTopicMatches("$SYS/#", "$SYS/broker"));
}

TEST(MqttUrls, SchemesPortsAndRefusals) {
  auto plain = parseMqttUrl("mqtt://broker.local");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "broker.local");
  EXPECT_EQ(plain->port, 1883);
  EXPECT_FALSE(plain->tls);
  auto tls = parseMqttUrl("mqtts://broker.local/");
  ASSERT_TRUE(tls);
  EXPECT_EQ(tls->port, 8883);
  EXPECT_TRUE(tls->tls);
  auto v6 = parseMqttUrl("mqtt://[::1]:18830");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 18830);
  for (const char* bad : {"tcp://h", "mqtt://", "mqtt://h:", "mqtt://h:70000", "mqtt://u:p@h", "mqtt://h/topic",
                          "mqtt://h?x=1", "mqtt://[::1"}) {
    EXPECT_FALSE(parseMqttUrl(bad)) << bad;
  }
}

TEST(MqttReplyTopics, ThePeerPlaceholderIsFilledEverywhere) {
  EXPECT_EQ(expandMqttReplyTopic("out/{peer}/reply/{peer}", "alice"), "out/alice/reply/alice");
  EXPECT_EQ(expandMqttReplyTopic("out/fixed", "alice"), "out/fixed");
  EXPECT_TRUE(checkMqttReplyTopic("out/{peer}"));
  EXPECT_TRUE(checkMqttReplyTopic("out"));
  EXPECT_FALSE(checkMqttReplyTopic("out/{topic}"));
  EXPECT_FALSE(checkMqttReplyTopic("out/+"));
  EXPECT_FALSE(checkMqttReplyTopic(""));
}

TEST(MqttTransportKeys, TheDocsExampleIsValid) {
  std::ifstream in(std::string(TALON_SOURCE_DIR) + "/docs/channels.md");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const auto section = doc.find("## MQTT");
  ASSERT_NE(section, std::string::npos);
  const auto begin = doc.find("```json5\n", section);
  ASSERT_NE(begin, std::string::npos);
  const auto end = doc.find("```", begin + 8);
  ASSERT_NE(end, std::string::npos);
  ValidationResult r = validate(doc.substr(begin + 8, end - begin - 8));
  EXPECT_TRUE(r.valid()) << messages(r);
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
}

}  // namespace
}  // namespace talon::config
