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
