#include "config/model_selection.h"

#include <gtest/gtest.h>

#include "config/config_test_util.h"
#include "config/config_validator.h"
#include "config/json5.h"

namespace talon::config {
namespace {

using testing::validate;

using testing::messages;

TalonConfig withDefaults() {
  TalonConfig c;
  c.agents.defaults.model.primary = "openai/gpt-4o";
  c.agents.defaults.model.fallbacks = {"local/a", "local/b"};
  c.agents.defaults.model.fallbacksSet = true;
  return c;
}

TEST(ModelSelectionTest, TheConfiguredDefaultUsesTheDefaultFallbacks) {
  TalonConfig c = withDefaults();
  auto s = agentModelSelection(c, "main");
  EXPECT_EQ(s.primary, "openai/gpt-4o");
  EXPECT_EQ(s.fallbacks, (std::vector<std::string>{"local/a", "local/b"}));
  EXPECT_EQ(s.source, "defaults");
  EXPECT_EQ(s.fallbackSource, "defaults");
}

TEST(ModelSelectionTest, AnAgentPrimaryIsStrictUnlessItHasItsOwnFallbacks) {
  TalonConfig c = withDefaults();
  AgentEntryConfig strict;
  strict.id = "strict";
  strict.model.primary = "openai/gpt-4.1";
  AgentEntryConfig own;
  own.id = "own";
  own.model.primary = "openai/gpt-4.1";
  own.model.fallbacks = {"local/c"};
  own.model.fallbacksSet = true;
  AgentEntryConfig none;
  none.id = "none";
  none.model.primary = "openai/gpt-4.1";
  none.model.fallbacksSet = true;  // fallbacks: []
  c.agents.entries = {strict, own, none};

  auto s = agentModelSelection(c, "strict");
  EXPECT_EQ(s.primary, "openai/gpt-4.1");
  EXPECT_TRUE(s.fallbacks.empty());
  EXPECT_EQ(s.fallbackSource, "strict");
  s = agentModelSelection(c, "own");
  EXPECT_EQ(s.fallbacks, (std::vector<std::string>{"local/c"}));
  EXPECT_EQ(s.fallbackSource, "agent");
  s = agentModelSelection(c, "none");
  EXPECT_TRUE(s.fallbacks.empty());
  EXPECT_EQ(s.fallbackSource, "agent");
}

TEST(ModelSelectionTest, AnAgentWithFallbacksOnlyKeepsTheSharedPrimary) {
  TalonConfig c = withDefaults();
  AgentEntryConfig e;
  e.id = "ops";
  e.model.fallbacks = {"local/z"};
  e.model.fallbacksSet = true;
  c.agents.entries = {e};
  auto s = agentModelSelection(c, "ops");
  EXPECT_EQ(s.primary, "openai/gpt-4o");
  EXPECT_EQ(s.source, "defaults");
  EXPECT_EQ(s.fallbacks, (std::vector<std::string>{"local/z"}));
  EXPECT_EQ(s.fallbackSource, "agent");
}

}  // namespace
}  // namespace talon::config

namespace talon::config {
namespace {

TEST(ModelSelectionTest, RowsSayWhatEachAgentCanUseAndWhy) {
  TalonConfig c = withDefaults();
  ProviderConfig openai;
  openai.id = "openai";
  openai.apiKey = "sk-secret";
  openai.apiKeyEnv = "OPENAI_API_KEY";
  openai.source = "catalog";
  openai.baseUrl = "https://api.openai.com/v1";
  ProviderConfig local;
  local.id = "local";
  local.baseUrl = "http://127.0.0.1:8000/v1";
  local.models.push_back(ProviderModelConfig{"a", "A", {}, {}, {}, {}});
  local.models.push_back(ProviderModelConfig{"c", "C", {}, {}, {}, {}});
  c.providers = {openai, local};
  AgentEntryConfig main;
  main.id = "main";
  c.agents.entries = {main};
  auto rows = agentModelRows(c);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].ref, "openai/gpt-4o");
  EXPECT_EQ(rows[0].role, "primary");
  EXPECT_EQ(rows[0].why, "agents.defaults.model.primary");
  EXPECT_EQ(rows[0].providerSource, "catalog");
  EXPECT_EQ(rows[0].key, "env:OPENAI_API_KEY");  // never the key itself
  EXPECT_EQ(rows[1].ref, "local/a");
  EXPECT_EQ(rows[1].role, "fallback");
  EXPECT_EQ(rows[2].ref, "local/b");
  EXPECT_EQ(rows[3].ref, "local/c");
  EXPECT_EQ(rows[3].role, "configured");
  EXPECT_EQ(rows[3].key, "none");
  EXPECT_TRUE(rows[3].unavailable.empty());
}

TEST(ModelRefTest, AliasesResolveCaseInsensitivelyAndTheAgentsWin) {
  ValidationResult r = validate(R"({
    agents: {
      ownership: "explicit",
      defaults: {
        model: { primary: "Opus", fallbacks: ["fast"] },
        models: { "anthropic/claude-opus-4-6": { alias: "opus" }, "groq/llama-3.3-70b": { alias: "fast" } },
      },
      entries: {
        a: { model: "fast", models: { "openai/gpt-4.1-mini": { alias: "FAST" } } },
        b: {},
      },
    },
  })");
  ASSERT_TRUE(r.valid()) << messages(r);
  EXPECT_EQ(r.config.agents.defaults.model.primary, "anthropic/claude-opus-4-6");
  EXPECT_EQ(r.config.agents.defaults.model.fallbacks, (std::vector<std::string>{"groq/llama-3.3-70b"}));
  EXPECT_EQ(r.config.agents.entries[0].model.primary, "openai/gpt-4.1-mini");
  auto viaB = resolveModelRef(r.config, "b", "fast");
  ASSERT_TRUE(viaB);
  EXPECT_EQ(viaB->ref, "groq/llama-3.3-70b");
  EXPECT_EQ(viaB->how, "alias");
}

TEST(ModelRefTest, AnEmptyAliasDisablesOneAndBareIdsFindTheirProvider) {
  TalonConfig c;
  c.agents.defaults.models = {{"anthropic/claude-opus-4-6", std::string("opus"), {}}};
  AgentEntryConfig a;
  a.id = "a";
  a.models = {{"anthropic/claude-opus-4-6", std::string(""), {}}};
  c.agents.entries = {a};
  ProviderConfig local;
  local.id = "local";
  local.source = "config";
  local.models.push_back(ProviderModelConfig{});
  local.models.back().id = "qwen3:8b";
  c.providers = {local};
  EXPECT_EQ(resolveModelRef(c, "main", "opus")->ref, "anthropic/claude-opus-4-6");
  // Agent a disabled the alias: "opus" is then a bare id nothing lists.
  auto bare = resolveModelRef(c, "a", "opus");
  EXPECT_EQ(bare->ref, "openai/opus");
  EXPECT_EQ(bare->how, "default-provider");
  auto configured = resolveModelRef(c, "a", "qwen3:8b");
  EXPECT_EQ(configured->ref, "local/qwen3:8b");
  EXPECT_EQ(configured->how, "configured");
  // Split at the first "/", provider lower-cased.
  EXPECT_EQ(resolveModelRef(c, "a", "OpenRouter/moonshotai/kimi-k2")->ref, "openrouter/moonshotai/kimi-k2");
  EXPECT_FALSE(resolveModelRef(c, "a", "  "));
}

TEST(ModelRefTest, BareIdsOnlyTheDefaultProviderResolvesAreWarned) {
  ValidationResult r = validate(R"({ agents: { defaults: { model: "gpt-4o" } } })");
  ASSERT_TRUE(r.valid()) << messages(r);
  EXPECT_EQ(r.config.agents.defaults.model.primary, "openai/gpt-4o");
  EXPECT_NE(messages(r).find("deprecated"), std::string::npos) << messages(r);
}

TEST(ModelPolicyTest, AllowListsAliasesExactRefsAndSegmentWildcards) {
  TalonConfig c;
  c.agents.defaults.models = {{"anthropic/claude-opus-4-6", std::string("opus"), {}}};
  c.agents.defaults.modelPolicy.allowSet = true;
  c.agents.defaults.modelPolicy.allow = {"opus", "OpenAI/gpt-4.1", "openrouter/anthropic/*"};
  AgentEntryConfig open;
  open.id = "open";
  open.modelPolicy.allowSet = true;  // allow: [] -> any
  AgentEntryConfig own;
  own.id = "own";
  own.modelPolicy.allowSet = true;
  own.modelPolicy.allow = {"groq/*"};
  c.agents.entries = {open, own};

  EXPECT_TRUE(checkModelPolicy(c, "main", "anthropic/claude-opus-4-6").allowed);
  EXPECT_TRUE(checkModelPolicy(c, "main", "openai/gpt-4.1").allowed);
  EXPECT_TRUE(checkModelPolicy(c, "main", "openrouter/anthropic/claude-3").allowed);
  auto refused = checkModelPolicy(c, "main", "openrouter/openai/gpt-4o");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.message,
            "Model override \"openrouter/openai/gpt-4o\" is not allowed for agent \"main\" by "
            "agents.defaults.modelPolicy.allow. Add \"openrouter/openai/gpt-4o\" or \"openrouter/*\" to "
            "agents.defaults.modelPolicy.allow, or remove/empty the list to allow any model.");
  EXPECT_TRUE(checkModelPolicy(c, "open", "anything/at-all").allowed);
  EXPECT_TRUE(checkModelPolicy(c, "own", "groq/llama").allowed);
  EXPECT_FALSE(checkModelPolicy(c, "own", "openai/gpt-4.1").allowed);  // the agent's list replaces the defaults'
  EXPECT_FALSE(checkModelPolicy(c, "own", "groqx/llama").allowed);     // a wildcard matches at "/" only
  TalonConfig none;
  EXPECT_EQ(checkModelPolicy(none, "main", "x/y").by, "any (no modelPolicy)");
}

TEST(ModelParamsTest, MergeInOpenClawsOrderAndRefuseUnsupportedKeys) {
  ValidationResult r = validate(R"({
    agents: {
      defaults: {
        params: { temperature: 0.2, maxTokens: 1000 },
        models: { "openai/gpt-4.1": { params: { temperature: 0.5 } } },
      },
      entries: { main: { models: { "openai/gpt-4.1": { params: { maxTokens: 2000 } } }, params: { temperature: 0.9 } } },
    },
  })");
  ASSERT_TRUE(r.valid()) << messages(r);
  ModelParams p = effectiveModelParams(r.config, "main", "openai/gpt-4.1");
  EXPECT_EQ(p.temperature, 0.9);
  EXPECT_EQ(p.maxTokens, 2000);
  ModelParams other = effectiveModelParams(r.config, "main", "openai/gpt-4o");
  EXPECT_EQ(other.temperature, 0.9);
  EXPECT_EQ(other.maxTokens, 1000);

  ValidationResult bad =
      validate(R"({ agents: { defaults: { params: { cacheRetention: "long", temperature: 7 } } } })");
  EXPECT_FALSE(bad.valid());
  EXPECT_NE(messages(bad).find("OpenClaw model param \"cacheRetention\" is not supported by Talon yet"),
            std::string::npos)
      << messages(bad);
  EXPECT_NE(messages(bad).find("expected a number in 0..2"), std::string::npos) << messages(bad);
}

}  // namespace
}  // namespace talon::config
