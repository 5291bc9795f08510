#include "config/model_selection.h"

#include <gtest/gtest.h>

namespace talon::config {
namespace {

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

}  // namespace
}  // namespace talon::config
