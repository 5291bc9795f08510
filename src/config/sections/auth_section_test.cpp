#include <gtest/gtest.h>

#include "config/config_test_util.h"
#include "config/config_validator.h"
#include "config/json5.h"

namespace talon::config {
namespace {

using testing::validate;

using testing::messages;

TEST(AuthSection, ReadsOpenClawProfilesAndOrderWithTalonCredentials) {
  Environment env{{"ANTHROPIC_WORK_KEY", "sk-ant-work-0123"}};
  ValidationResult r = validate(R"({
    auth: {
      profiles: {
        "anthropic:default": { provider: "anthropic", mode: "api_key" },
        "anthropic:work": { provider: "Anthropic", mode: "api_key", apiKey: "${ANTHROPIC_WORK_KEY}",
                            email: "ops@example.com", displayName: "Work" },
        "anthropic:vault": { provider: "anthropic", mode: "token",
                             token: { source: "store", provider: "default", id: "ANTHROPIC_TOKEN" } },
      },
      order: { anthropic: ["anthropic:work", "anthropic:default"] },
    },
  })",
                                env);
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  const AuthConfig& a = r.config.auth;
  ASSERT_EQ(a.profiles.size(), 3u);
  EXPECT_EQ(a.profiles[0].id, "anthropic:default");
  EXPECT_FALSE(a.profiles[0].hasSecret);
  EXPECT_EQ(a.profiles[1].provider, "anthropic");
  EXPECT_EQ(a.profiles[1].secret, "sk-ant-work-0123");
  EXPECT_EQ(a.profiles[1].email, "ops@example.com");
  EXPECT_EQ(a.profiles[1].displayName, "Work");
  EXPECT_EQ(a.profiles[2].mode, "token");
  ASSERT_TRUE(a.profiles[2].secretRef);
  EXPECT_EQ(a.profiles[2].secretRef->id, "ANTHROPIC_TOKEN");
  EXPECT_EQ(a.order.at("anthropic"), (std::vector<std::string>{"anthropic:work", "anthropic:default"}));
}

TEST(AuthSection, RefusesWhatTalonCannotUseAndSaysWhy) {
  ValidationResult r = validate(R"({
    auth: {
      profiles: {
        "openai:me@example.com": { provider: "openai", mode: "oauth" },
        "openai:token": { provider: "openai", mode: "token" },
        "openai:mixed": { provider: "openai", mode: "token", apiKey: "sk-1" },
        "openai:nomode": { provider: "openai" },
        "openai:extra": { provider: "openai", mode: "api_key", refresh: "x" },
      },
      order: { anthropic: ["openai:token"], openai: ["openai:stored"] },
    },
  })");
  std::string m = messages(r);
  EXPECT_NE(m.find("auth.profiles[\"openai:me@example.com\"].mode"), std::string::npos) << m;
  EXPECT_NE(m.find("not supported by Talon yet"), std::string::npos) << m;
  EXPECT_NE(m.find("a token profile needs `token` in Talon"), std::string::npos) << m;
  EXPECT_NE(m.find("apiKey does not apply to mode \"token\""), std::string::npos) << m;
  EXPECT_NE(m.find("auth.profiles.openai:nomode.mode: required"), std::string::npos) << m;
  EXPECT_NE(m.find("\"refresh\""), std::string::npos) << m;
  EXPECT_NE(m.find("auth profile \"openai:token\" belongs to provider \"openai\", not \"anthropic\""),
            std::string::npos)
      << m;
  // An id that is not a profile is only a warning: it is skipped (Talon has no stored profiles).
  bool warned = false;
  for (const auto& d : r.diagnostics) {
    if (d.message.find("\"openai:stored\" is not in auth.profiles") != std::string::npos) warned = !d.isError();
  }
  EXPECT_TRUE(warned) << m;
}

TEST(AuthSection, AnUnsetVariableLeavesTheProfileUnavailableWithoutItsValue) {
  ValidationResult r = validate(R"({auth: {profiles: {"groq:b": {provider: "groq", mode: "api_key",
                                   apiKey: "${GROQ_B_KEY}"}}}})");
  ASSERT_EQ(r.config.auth.profiles.size(), 1u);
  EXPECT_TRUE(r.config.auth.profiles[0].secret.empty());
  EXPECT_NE(r.config.auth.profiles[0].unavailable.find("GROQ_B_KEY"), std::string::npos);
}

}  // namespace
}  // namespace talon::config
