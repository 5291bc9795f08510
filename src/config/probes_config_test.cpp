// `gateway.probes` (sections/gateway_section.cpp): Talon's synthetic probes (docs/probes.md).
#include <gtest/gtest.h>

#include "config/config_test_util.h"
#include "config/config_validator.h"
#include "config/json5.h"

namespace talon::config {
namespace {

using testing::messages;
using testing::validate;

TEST(ProbesConfig, NoneByDefault) {
  auto r = validate("{}");
  ASSERT_TRUE(r.diagnostics.empty()) << messages(r);
  EXPECT_TRUE(r.config.gateway.probes.empty());
}

TEST(ProbesConfig, ProviderAndCronProbesAreReadWithTheirDefaults) {
  auto r = validate(R"({gateway: {probes: [
    {name: "llm", kind: "provider", model: "openai/gpt-4o-mini", intervalSeconds: 120, timeoutSeconds: 15,
     prompt: "Say OK", alertAfter: 5},
    {name: "scheduler", kind: "cron"},
  ]}})");
  ASSERT_TRUE(r.diagnostics.empty()) << messages(r);
  ASSERT_EQ(r.config.gateway.probes.size(), 2u);
  const auto& llm = r.config.gateway.probes[0];
  EXPECT_EQ(llm.name, "llm");
  EXPECT_EQ(llm.kind, "provider");
  EXPECT_EQ(llm.model, "openai/gpt-4o-mini");
  EXPECT_EQ(llm.prompt, "Say OK");
  EXPECT_EQ(llm.intervalSeconds, 120);
  EXPECT_EQ(llm.timeoutSeconds, 15);
  EXPECT_EQ(llm.alertAfter, 5);
  const auto& cron = r.config.gateway.probes[1];
  EXPECT_EQ(cron.kind, "cron");
  EXPECT_EQ(cron.intervalSeconds, 300);
  EXPECT_EQ(cron.timeoutSeconds, 30);
  EXPECT_EQ(cron.alertAfter, 2);
}

TEST(ProbesConfig, AChannelProbeIsReadAndItsAccountDefaultsToTheChannelsDefaultAccount) {
  auto r = validate(R"({
    channels: { loopback: {}, irc: { host: "irc.example.net", nick: "talonbot",
                                     accounts: { work: { nick: "w" }, ops: { nick: "o" } }, defaultAccount: "ops" } },
    gateway: { probes: [
      {name: "loop", kind: "channel", channel: "loopback", to: "user:echo"},
      {name: "irc-work", kind: "channel", channel: "irc", accountId: "work", to: "channel:#probe",
       text: "ping", expect: "pong", intervalSeconds: 60, timeoutSeconds: 5, alertAfter: 1},
      {name: "irc-default", kind: "channel", channel: "irc", to: "echo"},
    ] } })");
  ASSERT_TRUE(r.valid()) << messages(r);
  ASSERT_EQ(r.config.gateway.probes.size(), 3u);
  const auto& loop = r.config.gateway.probes[0];
  EXPECT_EQ(loop.kind, "channel");
  EXPECT_EQ(loop.channel, "loopback");
  EXPECT_EQ(loop.accountId, "default");
  EXPECT_EQ(loop.to, "user:echo");
  EXPECT_EQ(loop.text, "talon-probe");
  EXPECT_EQ(loop.expect, "");
  const auto& work = r.config.gateway.probes[1];
  EXPECT_EQ(work.accountId, "work");
  EXPECT_EQ(work.to, "channel:#probe");
  EXPECT_EQ(work.text, "ping");
  EXPECT_EQ(work.expect, "pong");
  EXPECT_EQ(work.timeoutSeconds, 5);
  EXPECT_EQ(r.config.gateway.probes[2].accountId, "ops") << "the channel's defaultAccount";
}

TEST(ProbesConfig, AChannelProbeOfAnUnknownChannelOrAccountIsAnErrorNamingItsKeyPath) {
  const std::pair<const char*, const char*> cases[] = {
      {"{gateway: {probes: [{name: 'a', kind: 'cron'}, {name: 'b', kind: 'channel', channel: 'irc', to: 'echo'}]}}",
       "gateway.probes[1].channel: \"irc\": channel of probe \"b\" is not configured (channels.irc)"},
      {"{channels: {loopback: {}}, gateway: {probes: [{name: 'b', kind: 'channel', channel: 'loopback', "
       "accountId: 'work', to: 'echo'}]}}",
       "gateway.probes[0].accountId: \"work\": not an account of channels.loopback (its accounts: \"default\")"},
      {"{channels: {loopback: {}}, gateway: {probes: [{name: 'b', kind: 'channel', channel: 'loopback'}]}}",
       "gateway.probes[0].to: required"},
      {"{gateway: {probes: [{name: 'b', kind: 'channel', to: 'echo'}]}}", "gateway.probes[0].channel: required"},
      {"{channels: {loopback: {}}, gateway: {probes: [{name: 'b', kind: 'channel', channel: 'loopback', to: 'x', "
       "model: 'openai/x'}]}}",
       "a channel probe calls no model"},
      {"{gateway: {probes: [{name: 'a', kind: 'cron', to: 'echo'}]}}",
       "gateway.probes[0].to: a cron probe sends on no channel"},
      {"{channels: {loopback: {}}, gateway: {probes: [{name: 'b', kind: 'channel', channel: 'loopback', to: 'x', "
       "text: ''}]}}",
       "gateway.probes[0].text"},
  };
  for (const auto& [text, expected] : cases) {
    auto r = validate(text);
    EXPECT_NE(messages(r).find(expected), std::string::npos) << text << "\n" << messages(r);
    EXPECT_FALSE(r.valid()) << text;
  }
}

TEST(ProbesConfig, BadProbesAreErrorsNamingTheirKeyPath) {
  const std::pair<const char*, const char*> cases[] = {
      {"{gateway: {probes: [{kind: 'cron'}]}}", "gateway.probes[0].name: required"},
      {"{gateway: {probes: [{name: 'a', kind: 'ping'}]}}", "gateway.probes[0].kind: expected one of"},
      {"{gateway: {probes: [{name: 'a', kind: 'provider'}]}}", "required for a provider probe"},
      {"{gateway: {probes: [{name: 'a', kind: 'provider', model: 'gpt'}]}}", "expected \"provider/model\""},
      {"{gateway: {probes: [{name: 'a', kind: 'cron', model: 'openai/x'}]}}", "a cron probe calls no model"},
      {"{gateway: {probes: [{name: 'a', kind: 'cron'}, {name: 'a', kind: 'cron'}]}}", "another probe has this name"},
      {"{gateway: {probes: [{name: 'a b', kind: 'cron'}]}}", "expected letters, digits"},
      {"{gateway: {probes: [{name: 'a', kind: 'cron', intervalSeconds: 5}]}}", "10..86400"},
      {"{gateway: {probes: [{name: 'a', kind: 'cron', alertAfter: 0}]}}", "1..100"},
      {"{gateway: {probes: [{name: 'a', kind: 'cron', every: 5}]}}", "Unrecognized key: \"every\""},
      {"{gateway: {probes: {name: 'a'}}}", "expected array of probes"},
  };
  for (const auto& [text, expected] : cases) {
    auto r = validate(text);
    EXPECT_NE(messages(r).find(expected), std::string::npos) << text << "\n" << messages(r);
    EXPECT_FALSE(r.valid()) << text;
  }
}

}  // namespace
}  // namespace talon::config
