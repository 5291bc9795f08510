// The IRC channel's transport keys in config (the `irc` row of config/sections/channel_transports.cpp):
// OpenClaw's `channels.irc` keys Talon implements load, typed, for the adapter; the others are refused.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "config/channel_transports.h"
#include "config/config_test_util.h"
#include "config/config_validator.h"
#include "config/json5.h"

namespace talon::config {
namespace {

using testing::messages;
using testing::validate;

TEST(IrcTransportKeys, OpenClawsIrcKeysLoadForTheAdapter) {
  ValidationResult r = validate(R"({
    channels: { irc: {
      host: "irc.example.net", port: 6697, tls: true, nick: "talon", username: "talon", realname: "Talon",
      password: "server-pass", passwordFile: "/run/irc-pass", textChunkLimit: 300, channels: ["#ops", "#dev"],
      nickserv: { enabled: true, service: "NickServ", password: "ns-pass" },
      dmPolicy: "pairing", groupPolicy: "allowlist", groups: { "#ops": { requireMention: false } },
      accounts: { work: { nick: "talon-work", channels: ["#work"] } },
    } },
  })");
  ASSERT_TRUE(r.valid()) << messages(r);
  const ChannelConfig& c = r.config.channels.entries.at(0);
  EXPECT_EQ(c.id, "irc");
  EXPECT_EQ(c.settings.values.at("host"), json::value("irc.example.net"));
  EXPECT_EQ(c.settings.values.at("port"), json::value(6697));
  EXPECT_EQ(c.settings.values.at("tls"), json::value(true));
  EXPECT_EQ(c.settings.values.at("password"), json::value("server-pass"));
  EXPECT_EQ(c.settings.values.at("passwordFile"), json::value("/run/irc-pass"));
  EXPECT_EQ(c.settings.values.at("textChunkLimit"), json::value(300));
  EXPECT_EQ(c.settings.values.at("channels"), (json::value{"#ops", "#dev"}));
  EXPECT_TRUE(c.settings.values.at("nickserv").is_object());
  EXPECT_EQ(c.accountSettings.at("work").values.at("nick"), json::value("talon-work"));
}

TEST(IrcTransportKeys, KeysTalonDoesNotImplementAreRefused) {
  for (const char* key : {"streaming: { chunkMode: \"newline\" }", "responsePrefix: \"bot\"", "replyToMode: \"off\""}) {
    ValidationResult r = validate(std::string(R"({ channels: { irc: { host: "h", nick: "n", )") + key + " } } }");
    EXPECT_FALSE(r.valid()) << key;
    const std::string m = messages(r);
    const std::string name = std::string(key).substr(0, std::string(key).find(':'));
    EXPECT_NE(m.find("channels.irc." + name), std::string::npos) << m;
  }
  ValidationResult wrongType = validate(R"({ channels: { irc: { host: "h", nick: "n", port: "6667" } } })");
  EXPECT_FALSE(wrongType.valid());
  EXPECT_NE(messages(wrongType).find("channels.irc.port"), std::string::npos) << messages(wrongType);
}

TEST(IrcTransportKeys, TheDocsExampleIsValid) {
  std::ifstream in(std::string(TALON_SOURCE_DIR) + "/docs/channels.md");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const auto section = doc.find("## IRC");
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
