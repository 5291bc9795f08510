// `models.providers.<id>.api`: the provider APIs Talon speaks are accepted, OpenClaw's bundled
// "anthropic" and "ollama" default to their native APIs, and the APIs Talon lacks are still refused.
#include <gtest/gtest.h>

#include "config/config_test_util.h"
#include "config/config_validator.h"
#include "config/json5.h"

namespace talon::config {
namespace {

using testing::messages;
using testing::validate;

TEST(ModelsProviderApi, NativeApisAreAcceptedAndBundledProvidersDefaultToThem) {
  ValidationResult r = validate(R"({ models: { providers: {
    anthropic: { apiKey: 'k' },
    ollama: { baseUrl: 'http://127.0.0.1:11434' },
    claude: { baseUrl: 'https://proxy.example', api: 'anthropic-messages', models: [] },
    oai: { baseUrl: 'https://api.openai.com/v1', api: 'openai-responses', models: [] },
    gemini: { baseUrl: 'https://generativelanguage.googleapis.com/v1beta', api: 'google-generative-ai', models: [] },
    box: { baseUrl: 'http://box:11434', api: 'ollama', models: [] },
  } } })");
  ASSERT_TRUE(r.valid()) << messages(r);
  ASSERT_EQ(r.config.providers.size(), 6u);
  EXPECT_EQ(r.config.providers[0].api, "anthropic-messages");
  EXPECT_EQ(r.config.providers[1].api, "ollama");
  EXPECT_EQ(r.config.providers[2].api, "anthropic-messages");
  EXPECT_EQ(r.config.providers[3].api, "openai-responses");
  EXPECT_EQ(r.config.providers[4].api, "google-generative-ai");
  EXPECT_EQ(r.config.providers[5].api, "ollama");
}

TEST(ModelsProviderApi, OtherOpenClawApisAreStillRefused) {
  ValidationResult r = validate(R"({ models: { providers: {
    v: { baseUrl: 'https://x.example', api: 'google-vertex', models: [] } } } })");
  EXPECT_FALSE(r.valid());
  EXPECT_NE(messages(r).find("\"google-vertex\" is not supported by Talon yet"), std::string::npos) << messages(r);
}

}  // namespace
}  // namespace talon::config
