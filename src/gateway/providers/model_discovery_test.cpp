// Model discovery against a scripted Ollama peer (GET /api/tags, Ollama API reference "List Local
// Models"; POST /api/show, "Show Model Information"), on a simulated clock: which providers discover,
// the cache, a failed query answering the last inventory, an empty answer clearing it, a change of
// credentials asking again, and the capability probe (context window, num_ctx, vision, thinking, tools,
// a failed show, an embedding-only model, the batches of 8, the 200-model limit, the show cache).
#include "gateway/providers/model_discovery.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>

#include "base/json.h"
#include "support/io_thread.h"
#include "support/scripted_peer.h"

namespace talon::gateway {
namespace {

using talon::testing::PeerReply;
using talon::testing::PeerRequest;
using talon::testing::ScriptedPeer;

const std::string kTwoModels =
    R"({"models":[{"name":"qwen3:latest","model":"qwen3:latest","digest":"d1"},{"name":"llama3.2:3b","digest":"d2"}]})";

config::ProviderConfig ollamaProvider(std::string id, std::string baseUrl) {
  config::ProviderConfig p;
  p.id = std::move(id);
  p.api = "ollama";
  p.baseUrl = std::move(baseUrl);
  return p;
}

/// An Ollama server: /api/tags answers the next of `tags` (the last one repeated), /api/show the
/// reply `shows` holds for the model named in the body (else 404 "model not found", as Ollama does).
class OllamaDiscoveryPeer {
 public:
  OllamaDiscoveryPeer(std::vector<PeerReply> tags, std::map<std::string, PeerReply> shows)
      : tags_(std::move(tags)), shows_(std::move(shows)), peer_([this](const PeerRequest& r) { return answer(r); }) {}

  std::string origin() const { return peer_.origin(); }
  std::vector<PeerRequest> requests() const { return peer_.requests(); }

  /// The models named by the /api/show requests so far, in arrival order.
  std::vector<std::string> shown() const {
    std::vector<std::string> out;
    for (const auto& r : peer_.requests()) {
      if (r.target != "/api/show") continue;
      auto body = parseJson(r.body);
      out.emplace_back(body && body->is_object() ? getString(body->get_object(), "model").value_or("?") : "?");
    }
    return out;
  }
  std::size_t tagsQueries() const {
    std::size_t n = 0;
    for (const auto& r : peer_.requests()) n += r.target == "/api/tags" ? 1 : 0;
    return n;
  }
  /// For each /api/show request, how many show answers had been given when it arrived.
  std::vector<std::size_t> answeredBeforeEachShow() const {
    std::lock_guard lock(mutex_);
    return answeredBefore_;
  }

 private:
  PeerReply answer(const PeerRequest& r) {
    std::lock_guard lock(mutex_);
    if (r.target == "/api/tags") return tags_[std::min(nextTags_++, tags_.size() - 1)];
    if (r.target != "/api/show") return PeerReply::whole(404, R"({"error":"not found"})");
    answeredBefore_.push_back(showsAnswered_++);
    auto body = parseJson(r.body);
    std::string model =
        body && body->is_object() ? std::string(getString(body->get_object(), "model").value_or("")) : "";
    auto it = shows_.find(model);
    if (it == shows_.end()) return PeerReply::whole(404, R"({"error":"model ')" + model + R"(' not found"})");
    return it->second;
  }

  std::vector<PeerReply> tags_;
  std::map<std::string, PeerReply> shows_;
  mutable std::mutex mutex_;
  std::size_t nextTags_ = 0;
  std::size_t showsAnswered_ = 0;
  std::vector<std::size_t> answeredBefore_;
  ScriptedPeer peer_;  // last: destroyed (joined) first
};

PeerReply completionShow() { return PeerReply::whole(200, R"({"capabilities":["completion","tools"]})"); }

std::vector<std::string> ids(const DiscoveredModels& found) {
  std::vector<std::string> out;
  for (const auto& m : found.models) out.push_back(m.id);
  return out;
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
  OllamaDiscoveryPeer peer({PeerReply::whole(200, kTwoModels), PeerReply::whole(503, R"({"error":"loading"})"),
                            PeerReply::whole(200, R"({"models":[]})")},
                           {{"qwen3:latest", completionShow()}, {"llama3.2:3b", completionShow()}});
  auto provider = ollamaProvider("ollama", peer.origin());
  auto manual = provider;
  manual.id = "manual";
  manual.models.push_back(config::ProviderModelConfig{});

  auto first = inventories({provider, manual});
  ASSERT_EQ(first.size(), 1u);  // the provider with a models list is not asked
  EXPECT_EQ(first[0].provider, "ollama");
  EXPECT_EQ(ids(first[0]), (std::vector<std::string>{"qwen3:latest", "llama3.2:3b"}));
  EXPECT_FALSE(first[0].error);
  EXPECT_EQ(first[0].fetchedAtMs, clock_->nowMs());
  EXPECT_EQ(peer.tagsQueries(), 1u);
  EXPECT_EQ(peer.shown().size(), 2u);

  clock_->advance(59'000);
  EXPECT_EQ(inventories({provider})[0].models.size(), 2u);
  EXPECT_EQ(peer.tagsQueries(), 1u);  // from the cache

  clock_->advance(1'000);
  auto failed = inventories({provider});
  EXPECT_EQ(peer.tagsQueries(), 2u);
  ASSERT_TRUE(failed[0].error);
  EXPECT_EQ(failed[0].models.size(), 2u);  // the last successful inventory
  EXPECT_EQ(failed[0].fetchedAtMs, clock_->nowMs() - 60'000);

  auto emptied = inventories({provider});  // a failure is not cached: asked again
  EXPECT_EQ(peer.tagsQueries(), 3u);
  EXPECT_FALSE(emptied[0].error);
  EXPECT_TRUE(emptied[0].models.empty());  // a successful empty answer clears it
  EXPECT_EQ(peer.shown().size(), 2u);      // the shows were cached by digest
}

TEST_F(ModelDiscoveryTest, OtherCredentialsAreAnotherInventoryAndAFirstFailureHasNone) {
  OllamaDiscoveryPeer peer({PeerReply::whole(200, kTwoModels), PeerReply::whole(401, R"({"error":"unauthorized"})")},
                           {{"qwen3:latest", completionShow()}, {"llama3.2:3b", completionShow()}});
  auto provider = ollamaProvider("ollama", peer.origin());
  EXPECT_EQ(inventories({provider})[0].models.size(), 2u);
  provider.apiKey = "other-key";
  auto refused = inventories({provider});
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 4u);  // tags, two shows, tags
  EXPECT_EQ(requests[3].target, "/api/tags");
  EXPECT_EQ(requests[3].header("Authorization"), "Bearer other-key");
  ASSERT_TRUE(refused[0].error);
  EXPECT_EQ(refused[0].error->code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(refused[0].models.empty());
  EXPECT_EQ(refused[0].fetchedAtMs, 0);
  EXPECT_EQ(refused[0].error->message.find("other-key"), std::string::npos);
}

TEST_F(ModelDiscoveryTest, TheCapabilityProbeDescribesEachModelAndSkipsEmbeddingOnlyOnes) {
  // Ollama 0.12's answers: `capabilities` lists what the model does; `model_info` holds
  // "<architecture>.context_length"; `parameters` the Modelfile's PARAMETER lines.
  OllamaDiscoveryPeer peer(
      {PeerReply::whole(
          200,
          R"({"models":[)"
          R"({"name":"qwen3:latest","digest":"d-qwen","modified_at":"2025-05-27T22:54:57Z","details":{"family":"qwen3"}},)"
          R"({"name":"llava:7b","digest":"d-llava"},)"
          R"({"name":"nomic-embed-text:latest","digest":"d-nomic"},)"
          R"({"name":"broken:1b","digest":"d-broken"},)"
          R"({"name":"deepseek-r1:8b","modified_at":"2025-01-20T10:00:00Z","details":{"context_length":131072}},)"
          R"({"name":"bert:base","digest":"d-bert"}]})")},
      {{"qwen3:latest",
        PeerReply::whole(
            200,
            R"({"parameters":"temperature 0.6\nnum_ctx 65536","model_info":{"general.architecture":"qwen3","qwen3.context_length":40960},"capabilities":["completion","tools","thinking"]})")},
       {"llava:7b", PeerReply::whole(
                        200, R"({"model_info":{"llama.context_length":4096},"capabilities":["completion","vision"]})")},
       {"nomic-embed-text:latest",
        PeerReply::whole(200, R"({"model_info":{"nomic-bert.context_length":2048},"capabilities":["embedding"]})")},
       {"broken:1b", PeerReply::whole(500, R"({"error":"llama runner process has terminated"})")},
       {"deepseek-r1:8b", PeerReply::whole(200, R"({"model_info":{}})")},  // an older server: no capabilities
       {"bert:base", PeerReply::whole(200, R"({"capabilities":["insert"]})")}});
  auto provider = ollamaProvider("ollama", peer.origin());
  auto found = inventories({provider});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_FALSE(found[0].error);
  // nomic-embed-text is embedding-only; bert's capabilities are known and lack "completion".
  EXPECT_EQ(ids(found[0]), (std::vector<std::string>{"qwen3:latest", "llava:7b", "broken:1b", "deepseek-r1:8b"}));
  const auto& models = found[0].models;

  EXPECT_EQ(models[0].contextWindow, 65536);  // raised by num_ctx
  EXPECT_TRUE(models[0].contextWindowKnown);
  EXPECT_EQ(models[0].input, (std::vector<std::string>{"text"}));
  EXPECT_TRUE(models[0].reasoning);
  EXPECT_TRUE(models[0].supportsTools);

  EXPECT_EQ(models[1].contextWindow, 4096);
  EXPECT_EQ(models[1].input, (std::vector<std::string>{"text", "image"}));
  EXPECT_FALSE(models[1].reasoning);
  EXPECT_FALSE(models[1].supportsTools);  // capabilities known, no "tools"

  EXPECT_EQ(models[2].contextWindow, kDiscoveredDefaultContextWindow);  // the failed show
  EXPECT_FALSE(models[2].contextWindowKnown);
  EXPECT_FALSE(models[2].supportsTools);
  EXPECT_FALSE(models[2].reasoning);
  EXPECT_FALSE(models[2].capabilities);

  EXPECT_EQ(models[3].contextWindow, 131072);  // the tags entry's details.context_length
  EXPECT_TRUE(models[3].reasoning);            // no capabilities: the name says "r1"
  EXPECT_TRUE(models[3].supportsTools);        // no capabilities, the show answered: permissive

  auto shows = peer.requests();
  for (const auto& r : shows) {
    if (r.target != "/api/show") continue;
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.header("Content-Type"), "application/json");
  }
  EXPECT_EQ(peer.shown().size(), 6u);

  // A minute later the inventory is asked again; the shows are cached per name and digest (else
  // modified_at), except the failed one and the answer that said nothing (deepseek-r1's).
  clock_->advance(60'000);
  auto again = inventories({provider});
  EXPECT_EQ(peer.tagsQueries(), 2u);
  EXPECT_EQ(ids(again[0]), ids(found[0]));
  auto shown = peer.shown();
  ASSERT_EQ(shown.size(), 8u);
  std::vector<std::string> reasked(shown.begin() + 6, shown.end());
  std::sort(reasked.begin(), reasked.end());
  EXPECT_EQ(reasked, (std::vector<std::string>{"broken:1b", "deepseek-r1:8b"}));

  auto known = discovery_->known(provider, "llava:7b");
  ASSERT_TRUE(known);
  EXPECT_FALSE(known->supportsTools);
  auto latest = discovery_->known(provider, "qwen3");  // a ref without a tag names ":latest"
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->contextWindow, 65536);
  EXPECT_FALSE(discovery_->known(provider, "nomic-embed-text:latest"));
  EXPECT_FALSE(discovery_->known(ollamaProvider("other", "http://127.0.0.1:1"), "qwen3:latest"));
}

TEST_F(ModelDiscoveryTest, ANewDigestIsShownAgain) {
  OllamaDiscoveryPeer peer({PeerReply::whole(200, R"({"models":[{"name":"qwen3:latest","digest":"v1"}]})"),
                            PeerReply::whole(200, R"({"models":[{"name":"qwen3:latest","digest":"v2"}]})")},
                           {{"qwen3:latest", completionShow()}});
  auto provider = ollamaProvider("ollama", peer.origin());
  inventories({provider});
  clock_->advance(60'000);
  inventories({provider});
  EXPECT_EQ(peer.shown().size(), 2u);  // the model was pulled again: a new version
}

TEST_F(ModelDiscoveryTest, ShowsEightAtATimeAndKeepsAtMostTwoHundredCompletionModels) {
  std::string tags = R"({"models":[)";
  std::map<std::string, PeerReply> shows;
  for (int i = 0; i < 212; ++i) {
    std::string name = "m" + std::to_string(i) + ":latest";
    tags += (i > 0 ? "," : "") + std::string(R"({"name":")") + name + R"(","digest":"d)" + std::to_string(i) + R"("})";
    shows.emplace(name, i < 3 ? PeerReply::whole(200, R"({"capabilities":["embedding"]})") : completionShow());
  }
  tags += "]}";
  OllamaDiscoveryPeer peer({PeerReply::whole(200, tags)}, std::move(shows));
  auto found = inventories({ollamaProvider("ollama", peer.origin())});
  ASSERT_EQ(found[0].models.size(), kOllamaCompletionModelLimit);
  EXPECT_EQ(found[0].models.front().id, "m3:latest");
  EXPECT_EQ(found[0].models.back().id, "m202:latest");
  // 26 batches of 8: the last one reached the limit; the 4 models after it were not inspected.
  auto answered = peer.answeredBeforeEachShow();
  ASSERT_EQ(answered.size(), 208u);
  for (std::size_t k = 0; k < answered.size(); ++k) {
    // A batch starts only when the previous one is answered: never more than 8 shows at once.
    EXPECT_GE(answered[k], k / kOllamaShowConcurrency * kOllamaShowConcurrency) << "show " << k;
  }
}

TEST(DiscoveredModelDefinition, RemoteModelsWithListedCapabilitiesAreCompletedFromTheList) {
  // OpenClaw mergeOllamaModelShowInfo: a remote model whose show lists no capabilities takes the tags
  // entry's, plus "tools" (the show answered) and "thinking" by its name.
  OllamaTagsModel remote;
  remote.name = "kimi-k3-thinking:cloud";
  remote.capabilities = std::vector<std::string>{"vision"};
  auto model = discoveredModelDefinition(remote, OllamaShowInfo{});
  ASSERT_TRUE(model);  // no "completion", but the capabilities came from the list
  EXPECT_TRUE(model->supportsTools);
  EXPECT_TRUE(model->reasoning);
  EXPECT_EQ(model->input, (std::vector<std::string>{"text", "image"}));

  auto failed = discoveredModelDefinition(remote, std::nullopt);
  ASSERT_TRUE(failed);
  EXPECT_FALSE(failed->supportsTools);

  OllamaTagsModel local = remote;
  local.name = "llava:7b";
  EXPECT_FALSE(discoveredModelDefinition(local, OllamaShowInfo{}));  // known capabilities, no completion
}

}  // namespace
}  // namespace talon::gateway
