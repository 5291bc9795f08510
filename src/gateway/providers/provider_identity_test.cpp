#include "gateway/providers/provider_identity.h"

#include <gtest/gtest.h>

namespace talon::gateway {
namespace {

TEST(ProviderIdentityTest, TheOriginKeepsSchemeHostAndPortOnly) {
  EXPECT_EQ(urlOrigin("https://api.openai.com/v1"), "https://api.openai.com");
  EXPECT_EQ(urlOrigin("HTTP://LocalHost:11434/v1?x=1#f"), "http://localhost:11434");
  EXPECT_EQ(urlOrigin("https://user:secret@proxy.example:8443/v1"), "https://proxy.example:8443");  // no credentials
  EXPECT_EQ(urlOrigin("http://[::1]:8000/v1"), "http://[::1]:8000");
  EXPECT_EQ(urlOrigin(""), "");
  EXPECT_EQ(urlOrigin("not a url"), "");
}

TEST(ProviderIdentityTest, IdentityAndCostComeFromTheProviderConfig) {
  config::ProviderConfig p;
  p.id = "local";
  p.api = "openai-completions";
  p.baseUrl = "http://127.0.0.1:4000/v1";
  p.apiKey = "sk-secret";
  config::ProviderModelConfig m;
  m.id = "m";
  m.cost = config::ModelCost{1.0, 4.0, 0, 0};
  p.models.push_back(m);
  ProviderIdentity id = providerIdentity(p);
  EXPECT_EQ(id.api, "openai-completions");
  EXPECT_EQ(id.baseUrlOrigin, "http://127.0.0.1:4000");
  ASSERT_EQ(id.costs.count("m"), 1u);
  EXPECT_DOUBLE_EQ(usageCostUsd(id.costs.at("m"), 1'000'000, 500'000), 1.0 + 2.0);
}

}  // namespace
}  // namespace talon::gateway
