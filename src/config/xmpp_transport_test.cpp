// The XMPP channel's keys in config (the `xmpp` row of config/sections/channel_transports.cpp and the
// formats of config/xmpp_settings.h): Talon's own channel, every key checked with file:line:path.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "config/config_test_util.h"
#include "config/config_validator.h"
#include "config/json5.h"
#include "config/xmpp_settings.h"

namespace talon::config {
namespace {

using testing::messages;
using testing::validate;

TEST(XmppTransportKeys, AnAccountLoadsForTheAdapter) {
  ValidationResult r = validate(R"({
    channels: { xmpp: {
      dmPolicy: "allowlist", allowFrom: ["alice@example.org"],
      groups: { "ops@conference.example.org": { requireMention: false } },
      accounts: { work: {
        jid: "talon@example.org", password: "pw", resource: "gw1", server: "xmpp.example.org", port: 5223,
        caFile: "/etc/ssl/certs/ca.pem", nick: "Talon",
        rooms: [ "ops@conference.example.org", { jid: "dev@conference.example.org", nick: "bot" } ],
      } },
    } },
  })");
  ASSERT_TRUE(r.valid()) << messages(r);
  const ChannelConfig& c = r.config.channels.entries.at(0);
  EXPECT_EQ(c.id, "xmpp");
  const auto& s = c.accountSettings.at("work").values;
  EXPECT_EQ(s.at("jid"), json::value("talon@example.org"));
  EXPECT_EQ(s.at("port"), json::value(5223));
  EXPECT_TRUE(s.at("rooms").is_array());
}

TEST(XmppTransportKeys, BadValuesNameTheirFileLineAndPath) {
  struct Case {
    const char* member;
    const char* path;
  };
  const Case cases[] = {
      {R"(jid: "example.org")", "channels.xmpp.accounts.a.jid"},
      {R"(jid: "talon@example.org/res")", "channels.xmpp.accounts.a.jid"},
      {R"(jid: "@example.org")", "channels.xmpp.accounts.a.jid"},
      {R"(jid: "talon@exa mple.org")", "channels.xmpp.accounts.a.jid"},
      {R"(port: 0)", "channels.xmpp.accounts.a.port"},
      {R"(port: 70000)", "channels.xmpp.accounts.a.port"},
      {R"(allowPlaintext: "yes")", "channels.xmpp.accounts.a.allowPlaintext"},
      {R"(nick: "")", "channels.xmpp.accounts.a.nick"},
      {R"(rooms: "ops@conference.example.org")", "channels.xmpp.accounts.a.rooms"},
      {R"(rooms: ["conference.example.org"])", "channels.xmpp.accounts.a.rooms[0]"},
      {R"(rooms: [{ nick: "x" }])", "channels.xmpp.accounts.a.rooms[0].jid"},
      {R"(rooms: [{ jid: "a@c.example.org", nick: "" }])", "channels.xmpp.accounts.a.rooms[0].nick"},
      {R"(rooms: [{ jid: "a@c.example.org", password: "x" }])", "channels.xmpp.accounts.a.rooms[0].password"},
      {R"(rooms: ["a@c.example.org", "A@C.example.org"])", "channels.xmpp.accounts.a.rooms[1]"},
      {R"(tls: false)", "channels.xmpp.accounts.a: Unrecognized key: \"tls\""},
  };
  for (const auto& c : cases) {
    ValidationResult r =
        validate(std::string("{\n channels: { xmpp: { accounts: { a: {\n  ") + c.member + ",\n } } } },\n}");
    EXPECT_FALSE(r.valid()) << c.member;
    const std::string m = messages(r);
    EXPECT_NE(m.find(std::string("/c/talon.json:3:")), std::string::npos) << c.member << "\n" << m;
    const std::string path(c.path);
    EXPECT_NE(m.find(path.back() == '"' ? path : path + ":"), std::string::npos) << c.member << "\n" << m;
  }
}

TEST(XmppJids, PartsAreSplitAndTheDomainLowerCased) {
  auto full = parseXmppJid("Alice@Example.ORG/Phone Home");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->local, "alice");
  EXPECT_EQ(full->domain, "example.org");
  EXPECT_EQ(full->resource, "Phone Home");
  EXPECT_EQ(full->bare(), "alice@example.org");
  auto server = parseXmppJid("example.org");
  ASSERT_TRUE(server);
  EXPECT_EQ(server->bare(), "example.org");
  EXPECT_TRUE(parseXmppJid("room@conference.localhost/nick/with/slashes"));
  EXPECT_TRUE(parseXmppJid("u@[::1]"));
  for (const char* bad : {"", "@d", "u@", "u@d/", "u v@d", "u@d..e", "u@-d", "u@d\x01", "u@d/\x01"}) {
    EXPECT_FALSE(parseXmppJid(bad)) << bad;
  }
  EXPECT_FALSE(parseXmppAccountJid("example.org"));
  EXPECT_FALSE(parseXmppAccountJid("u@example.org/r"));
}

TEST(XmppLoopback, OnlyThisMachinesLoopbackCounts) {
  for (const char* ok : {"localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]"}) {
    EXPECT_TRUE(isLoopbackHost(ok)) << ok;
  }
  for (const char* bad :
       {"", "example.org", "10.0.0.1", "127.0.0", "127.0.0.1.example.org", "localhost.example.org", "128.0.0.1"}) {
    EXPECT_FALSE(isLoopbackHost(bad)) << bad;
  }
}

TEST(XmppTransportKeys, TheDocsExampleIsValid) {
  std::ifstream in(std::string(TALON_SOURCE_DIR) + "/docs/channels.md");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const auto section = doc.find("## XMPP");
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
