#include "config/channel_transports.h"

#include <gtest/gtest.h>

#include <string>

#include "config/config_test_util.h"
#include "config/config_validator.h"
#include "config/json5.h"
#include "config/openclaw_key_paths.h"

namespace talon::config {
namespace {

using testing::messages;
using testing::validate;

TEST(ChannelTransports, OpenClawChannelsOnlyDeclareOpenClawKeys) {
  for (const auto& t : channelTransports()) {
    EXPECT_EQ(findChannelTransport(t.provider), &t);
    if (t.talonOnly) continue;
    const std::string base = "channels." + std::string(t.provider);
    EXPECT_TRUE(isOpenClawKeyPath(base)) << base;
    for (const auto& s : t.settings) {
      EXPECT_TRUE(isOpenClawKeyPath(base + "." + std::string(s.key))) << base << "." << s.key;
      EXPECT_TRUE(isOpenClawKeyPath(base + ".accounts.*." + std::string(s.key))) << base << ".accounts.*." << s.key;
    }
  }
  EXPECT_EQ(findChannelTransport("no-such-channel"), nullptr);
}

TEST(ChannelTransports, CommonKeysAreKeptForTheAdapter) {
  ValidationResult r = validate(R"({
    channels: { loopback: { enabled: true, name: "Lab", defaultAccount: "b",
                            accounts: { a: { enabled: false }, b: { name: "Bee" } } } },
  })");
  ASSERT_TRUE(r.valid()) << messages(r);
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  const ChannelConfig& c = r.config.channels.entries.at(0);
  EXPECT_EQ(c.defaultAccount, "b");
  EXPECT_EQ(c.settings.values.at("enabled"), json::value(true));
  EXPECT_EQ(c.settings.values.at("name"), json::value("Lab"));
  EXPECT_EQ(c.accountSettings.at("a").values.at("enabled"), json::value(false));
  EXPECT_EQ(c.accountSettings.at("b").values.at("name"), json::value("Bee"));
  EXPECT_EQ(c.accounts.size(), 2u);
}

TEST(ChannelTransports, WrongTypesAndUnknownDefaultAccountAreErrors) {
  ValidationResult r = validate(R"({
    channels: { loopback: { enabled: "yes", defaultAccount: "zz", accounts: { a: {} } } },
  })");
  EXPECT_FALSE(r.valid());
  const std::string m = messages(r);
  EXPECT_NE(m.find("channels.loopback.enabled"), std::string::npos) << m;
  EXPECT_NE(m.find("channels.loopback.defaultAccount: names no account of channels.loopback.accounts: \"zz\""),
            std::string::npos)
      << m;
}

TEST(ChannelTransports, TransportKeysWithoutAnAdapterAreNotSupported) {
  // Telegram has no adapter row yet in this table or has one: either way an unknown key is refused.
  ValidationResult r = validate(R"({ channels: { loopback: { botToken: "x" } } })");
  EXPECT_FALSE(r.valid());
  EXPECT_NE(messages(r).find("botToken"), std::string::npos) << messages(r);
}

TEST(ChannelTransports, AChannelWithoutAnAdapterIsRefused) {
  // Discord is one of OpenClaw's channels; Talon has no adapter for it, so the gateway could not run it.
  ValidationResult r = validate(R"({ channels: { discord: { dmPolicy: "pairing" } } })");
  ASSERT_EQ(findChannelTransport("discord"), nullptr);
  EXPECT_FALSE(r.valid());
  EXPECT_NE(messages(r).find(
                R"(channels.discord: OpenClaw channel "discord" is not supported by Talon yet (no channel adapter))"),
            std::string::npos)
      << messages(r);
}

}  // namespace
}  // namespace talon::config
