// Model discovery against a scripted Ollama peer (GET /api/tags, Ollama API reference "List Local
// Models"), on a simulated clock: which providers discover, the cache, a failed query answering the last
// inventory, an empty answer clearing it, and a change of credentials asking again.
#include "gateway/providers/model_discovery.h"

#include <gtest/gtest.h>

#include <future>

#include "support/io_thread.h"
#include "support/scripted_peer.h"

namespace talon::gateway {
namespace {

using talon::testing::PeerReply;
using talon::testing::ScriptedPeer;

const std::string kTwoModels = R"({"models":[{"name":"qwen3:latest","model":"qwen3:latest"},{"name":"llama3.2:3b"}]})";

config::ProviderConfig ollamaProvider(std::string id, std::string baseUrl) {
  config::ProviderConfig p;
  p.id = std::move(id);
  p.api = "ollama";
  p.baseUrl = std::move(baseUrl);
  return p;
}

class ModelDiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override { io_.start(); }

  std::vector<DiscoveredModels> inventories(std::vector<config::ProviderConfig> providers) {
    std::promise<std::vector<DiscoveredModels>> promise;
    discovery_->inventories(std::move(providers), std::chrono::milliseconds(10'000),
                            [&](std::vector<DiscoveredModels> found) { promise.set_value(std::move(found)); });
    return promise.get_future().get();
  }

  talon::testing::IoThread io_;
  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  std::shared_ptr<ModelDiscovery> discovery_ =
      std::make_shared<ModelDiscovery>(net::HttpClient::create(io_.io()), clock_);
};

TEST_F(ModelDiscoveryTest, OnlyOllamaProvidersWithoutModelsOffTheHostedServiceDiscover) {
  EXPECT_TRUE(ModelDiscovery::discovers(ollamaProvider("ollama", "")));
  EXPECT_TRUE(ModelDiscovery::discovers(ollamaProvider("ollama", "http://10.0.0.7:11434/v1")));
  EXPECT_FALSE(ModelDiscovery::discovers(ollamaProvider("ollama-cloud", "https://ollama.com")));
  EXPECT_FALSE(ModelDiscovery::discovers(ollamaProvider("ollama-cloud", "https://ollama.com/")));
  auto manual = ollamaProvider("ollama", "");
  manual.models.push_back(config::ProviderModelConfig{});
  EXPECT_FALSE(ModelDiscovery::discovers(manual));
  auto openai = ollamaProvider("openai", "https://api.openai.com/v1");
  openai.api = "openai-completions";
  EXPECT_FALSE(ModelDiscovery::discovers(openai));
}

TEST_F(ModelDiscoveryTest, CachesAnInventoryForAMinuteAndAnswersTheLastOneWhenAQueryFails) {
  ScriptedPeer peer({PeerReply::whole(200, kTwoModels), PeerReply::whole(503, R"({"error":"loading"})"),
                     PeerReply::whole(200, R"({"models":[]})")});
  auto provider = ollamaProvider("ollama", peer.origin());
  auto manual = provider;
  manual.id = "manual";
  manual.models.push_back(config::ProviderModelConfig{});

  auto first = inventories({provider, manual});
  ASSERT_EQ(first.size(), 1u);  // the provider with a models list is not asked
  EXPECT_EQ(first[0].provider, "ollama");
  EXPECT_EQ(first[0].models, (std::vector<std::string>{"qwen3:latest", "llama3.2:3b"}));
  EXPECT_FALSE(first[0].error);
  EXPECT_EQ(first[0].fetchedAtMs, clock_->nowMs());
  ASSERT_EQ(peer.requests().size(), 1u);
  EXPECT_EQ(peer.requests()[0].target, "/api/tags");

  clock_->advance(59'000);
  EXPECT_EQ(inventories({provider})[0].models.size(), 2u);
  EXPECT_EQ(peer.requests().size(), 1u);  // from the cache

  clock_->advance(1'000);
  auto failed = inventories({provider});
  EXPECT_EQ(peer.requests().size(), 2u);
  ASSERT_TRUE(failed[0].error);
  EXPECT_EQ(failed[0].models.size(), 2u);  // the last successful inventory
  EXPECT_EQ(failed[0].fetchedAtMs, clock_->nowMs() - 60'000);

  auto emptied = inventories({provider});  // a failure is not cached: asked again
  EXPECT_EQ(peer.requests().size(), 3u);
  EXPECT_FALSE(emptied[0].error);
  EXPECT_TRUE(emptied[0].models.empty());  // a successful empty answer clears it
}

TEST_F(ModelDiscoveryTest, OtherCredentialsAreAnotherInventoryAndAFirstFailureHasNone) {
  ScriptedPeer peer({PeerReply::whole(200, kTwoModels), PeerReply::whole(401, R"({"error":"unauthorized"})")});
  auto provider = ollamaProvider("ollama", peer.origin());
  EXPECT_EQ(inventories({provider})[0].models.size(), 2u);
  provider.apiKey = "other-key";
  auto refused = inventories({provider});
  ASSERT_EQ(peer.requests().size(), 2u);
  EXPECT_EQ(peer.requests()[1].header("Authorization"), "Bearer other-key");
  ASSERT_TRUE(refused[0].error);
  EXPECT_EQ(refused[0].error->code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(refused[0].models.empty());
  EXPECT_EQ(refused[0].fetchedAtMs, 0);
  EXPECT_EQ(refused[0].error->message.find("other-key"), std::string::npos);
}

}  // namespace
}  // namespace talon::gateway
