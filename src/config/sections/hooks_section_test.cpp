#include <gtest/gtest.h>

#include "config/config_test_util.h"
#include "config/config_validator.h"
#include "config/json5.h"

namespace talon::config {
namespace {

using testing::validate;

using testing::messages;

TEST(HooksSection, ReadsOpenClawKeys) {
  ValidationResult r = validate(R"({
    hooks: {
      enabled: true,
      token: "hook-secret-0123456789",
      path: "webhooks/",
      allowedAgentIds: ["Main", "ops"],
      defaultSessionKey: "hook:ingress",
      allowRequestSessionKey: true,
      allowedSessionKeyPrefixes: ["Hook:", " ", "hook:"],
      mappings: [
        {match: {path: "/github/", source: "gh"}, agentId: "ops", sessionKey: "hook:gh:{{payload.id}}",
         sessionMode: "persistent", messageTemplate: "PR {{pull.title}}", name: "GitHub", timeoutSeconds: 30,
         wakeMode: "now"},
        {id: "second", action: "agent", messageTemplate: "x"},
      ],
    },
  })");
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  const HooksConfig& h = r.config.hooks;
  EXPECT_TRUE(h.enabled);
  EXPECT_EQ(h.token, "hook-secret-0123456789");
  EXPECT_EQ(h.path, "/webhooks");
  ASSERT_TRUE(h.allowedAgentIds);
  EXPECT_EQ(*h.allowedAgentIds, (std::vector<std::string>{"main", "ops"}));
  EXPECT_EQ(h.defaultSessionKey, "hook:ingress");
  EXPECT_TRUE(h.allowRequestSessionKey);
  EXPECT_EQ(h.allowedSessionKeyPrefixes, (std::vector<std::string>{"hook:"}));
  ASSERT_EQ(h.mappings.size(), 2u);
  EXPECT_EQ(h.mappings[0].id, "mapping-1");
  EXPECT_EQ(h.mappings[0].matchPath, "github");
  EXPECT_EQ(h.mappings[0].matchSource, "gh");
  EXPECT_EQ(h.mappings[0].agentId, "ops");
  EXPECT_EQ(h.mappings[0].sessionMode, "persistent");
  EXPECT_EQ(h.mappings[0].messageTemplate, "PR {{pull.title}}");
  EXPECT_EQ(h.mappings[0].timeoutSeconds, 30);
  EXPECT_EQ(h.mappings[1].id, "second");
  EXPECT_EQ(h.maxBodyBytes, 262144);
}

TEST(HooksSection, DefaultsWhenAbsent) {
  ValidationResult r = validate("{}");
  EXPECT_FALSE(r.config.hooks.enabled);
  EXPECT_EQ(r.config.hooks.path, "/hooks");
  EXPECT_FALSE(r.config.hooks.allowedAgentIds);
}

TEST(HooksSection, StarAllowsEveryAgentAndEmptyListDeniesAll) {
  EXPECT_FALSE(validate("{hooks: {allowedAgentIds: ['*']}}").config.hooks.allowedAgentIds);
  auto none = validate("{hooks: {allowedAgentIds: []}}").config.hooks.allowedAgentIds;
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(HooksSection, OpenClawStartupRulesAreConfigErrors) {
  EXPECT_NE(messages(validate("{hooks: {enabled: true}}")).find("hooks.enabled requires hooks.token"),
            std::string::npos);
  EXPECT_NE(messages(validate("{hooks: {path: '///'}}")).find("hooks.path may not be '/'"), std::string::npos);
  EXPECT_NE(messages(validate("{hooks: {defaultSessionKey: 'x:1', allowedSessionKeyPrefixes: ['hook:']}}"))
                .find("hooks.defaultSessionKey must match hooks.allowedSessionKeyPrefixes"),
            std::string::npos);
  EXPECT_NE(messages(validate("{hooks: {allowedSessionKeyPrefixes: ['gh:']}}"))
                .find("must include 'hook:' when hooks.defaultSessionKey is unset"),
            std::string::npos);
  EXPECT_NE(messages(validate("{hooks: {mappings: [{sessionKey: 'hook:{{id}}', messageTemplate: 'x'}]}}"))
                .find("hooks.allowedSessionKeyPrefixes is required when a hook mapping sessionKey uses templates"),
            std::string::npos);
  // A templated key behind a catch-all mapping is shadowed: OpenClaw does not count it.
  EXPECT_TRUE(
      validate("{hooks: {mappings: [{messageTemplate: 'a'}, {sessionKey: 'hook:{{id}}'}]}}").diagnostics.empty());
}

TEST(HooksSection, KeysTalonDoesNotImplementAreRefusedNotIgnored) {
  ValidationResult r = validate(R"({hooks: {
    gmail: {account: "a@b.c"},
    presets: ["gmail"],
    transformsDir: "x",
    mappings: [{messageTemplate: "m", deliver: false, forEach: "items", action: "wake", wakeMode: "next-heartbeat"}],
  }})");
  std::string all = messages(r);
  for (std::string_view key : {"\"gmail\"", "\"presets\"", "\"transformsDir\"", "\"deliver\"", "\"forEach\""}) {
    EXPECT_NE(all.find(std::string("OpenClaw key ") + std::string(key) + " is not supported by Talon yet"),
              std::string::npos)
        << key << "\n"
        << all;
  }
  EXPECT_NE(all.find("\"wake\" is not supported by Talon yet"), std::string::npos) << all;
  EXPECT_NE(all.find("\"next-heartbeat\" is not supported by Talon yet"), std::string::npos) << all;
}

TEST(HooksSection, SigningIsTalonsOwnKey) {
  Environment env{{"HOOK_SIGNING", "sign-me"}};
  ValidationResult r =
      validate("{hooks: {signing: {secret: '${HOOK_SIGNING}', required: true, toleranceSeconds: 60}}}", env);
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  EXPECT_EQ(r.config.hooks.signing.secret, "sign-me");
  EXPECT_TRUE(r.config.hooks.signing.required);
  EXPECT_EQ(r.config.hooks.signing.toleranceSeconds, 60);
  EXPECT_NE(messages(validate("{hooks: {signing: {required: true}}}")).find("hooks.signing.required needs"),
            std::string::npos);
  EXPECT_NE(messages(validate("{hooks: {signing: {bogus: 1}}}")).find("Unrecognized key: \"bogus\""),
            std::string::npos);
}

TEST(HooksSection, TokenSecretIsNeverEchoed) {
  ValidationResult r = validate("{hooks: {token: 12345678}}");
  EXPECT_EQ(messages(r).find("12345678"), std::string::npos) << messages(r);
}

}  // namespace
}  // namespace talon::config
