// Cron's local-endpoint preflight (OpenClaw dist model-preflight.runtime-*.mjs) over real sockets on
// loopback, on a simulated clock: which base URLs are local, which providers are probed and how, the
// walk along the chain, the five-minute cache per endpoint.
#include "gateway/automation/cron_preflight.h"

#include <gtest/gtest.h>

#include <future>

#include "support/io_thread.h"
#include "support/loopback_port.h"
#include "support/scripted_peer.h"

namespace talon::gateway::automation {
namespace {

using talon::testing::PeerReply;
using talon::testing::ScriptedPeer;

config::ProviderConfig preflightTestProvider(std::string id, std::string api, std::string baseUrl) {
  config::ProviderConfig p;
  p.id = std::move(id);
  p.api = std::move(api);
  p.baseUrl = std::move(baseUrl);
  return p;
}

TEST(CronPreflightHosts, LoopbackPrivateNetworkAndDotLocalAreLocal) {
  for (const char* url : {"http://127.0.0.1:11434", "http://127.8.9.10", "http://localhost:1234/v1", "http://LOCALHOST",
                          "http://0.0.0.0:8000", "http://[::1]:11434", "http://10.1.2.3:8000/v1", "http://172.16.0.1",
                          "http://172.31.255.255", "https://192.168.1.20:443/v1", "http://gpu-box.local:11434",
                          "http://user@10.0.0.1:80"}) {
    EXPECT_TRUE(isLocalProviderBaseUrl(url)) << url;
  }
  for (const char* url : {"https://api.openai.com/v1", "http://172.32.0.1", "http://11.0.0.1", "http://[fd00::1]",
                          "http://8.8.8.8", "https://ollama.com", "http://local", "not a url", ""}) {
    EXPECT_FALSE(isLocalProviderBaseUrl(url)) << url;
  }
}

class CronPreflightTest : public ::testing::Test {
 protected:
  void SetUp() override {
    io_.start();
    auto port = talon::testing::freeLoopbackPort();
    ASSERT_TRUE(port);
    dead_ = "http://127.0.0.1:" + std::to_string(*port);
  }

  std::shared_ptr<CronPreflight> make(std::vector<config::ProviderConfig> providers, std::vector<std::string> chain) {
    return std::make_shared<CronPreflight>(net::HttpClient::create(io_.io()), clock_, std::move(providers),
                                           std::map<std::string, std::vector<std::string>>{{"main", std::move(chain)}});
  }
  static CronPreflightResult check(CronPreflight& preflight, const std::string& agent = "main") {
    std::promise<CronPreflightResult> promise;
    preflight.check(agent, [&](CronPreflightResult r) { promise.set_value(std::move(r)); });
    return promise.get_future().get();
  }

  talon::testing::IoThread io_;
  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  std::string dead_;
};

TEST_F(CronPreflightTest, AnOllamaEndpointIsProbedAtApiTagsAndEveryCandidateDownRefusesTheRun) {
  ScriptedPeer ollama({PeerReply::whole(200, R"({"models":[]})")});
  auto up = make({preflightTestProvider("ollama", "ollama", ollama.origin() + "/")}, {"ollama/qwen3:8b"});
  auto ok = check(*up);
  EXPECT_TRUE(ok.available);
  EXPECT_EQ(ok.selected, "ollama/qwen3:8b");
  ASSERT_EQ(ollama.requests().size(), 1u);
  EXPECT_EQ(ollama.requests()[0].method, "GET");
  EXPECT_EQ(ollama.requests()[0].target, "/api/tags");
  EXPECT_EQ(ollama.requests()[0].header("Authorization"), "");  // no credentials on a reachability probe

  auto down = make({preflightTestProvider("ollama", "ollama", dead_),
                    preflightTestProvider("vllm", "openai-completions", dead_ + "/v1")},
                   {"ollama/qwen3:8b", "vllm/qwen3-32b"});
  auto refused = check(*down);
  EXPECT_FALSE(refused.available);
  EXPECT_TRUE(refused.selected.empty());
  // The first unreachable candidate's reason, as OpenClaw words it.
  EXPECT_EQ(
      refused.reason.rfind("This automation uses ollama/qwen3:8b but the local provider preflight failed at " + dead_ +
                               ". The candidate is unavailable for this run; Talon will retry its "
                               "provider preflight on a later scheduled run. Last error: ",
                           0),
      0u)
      << refused.reason;
}

TEST_F(CronPreflightTest, RemoteAndOtherApiProvidersAreNotProbedAndCountAsAvailable) {
  auto preflight = make({preflightTestProvider("ollama", "ollama", dead_),
                         preflightTestProvider("openai", "openai-completions", "https://api.openai.com/v1"),
                         preflightTestProvider("claude", "anthropic-messages", dead_)},
                        {"ollama/qwen3:8b", "openai/gpt-5"});
  auto fallback = check(*preflight);
  EXPECT_TRUE(fallback.available);
  EXPECT_EQ(fallback.selected, "openai/gpt-5");

  auto other = make({preflightTestProvider("claude", "anthropic-messages", dead_)}, {"claude/sonnet"});
  EXPECT_TRUE(check(*other).available);  // only ollama and openai-completions endpoints are probed
  EXPECT_TRUE(check(*other, "unknown-agent").available);
  auto unknownProvider = make({}, {"nowhere/model"});
  EXPECT_TRUE(check(*unknownProvider).available);
}

TEST_F(CronPreflightTest, AResultIsCachedFiveMinutesPerEndpointWhateverTheModel) {
  ScriptedPeer server({PeerReply::whole(404, "not found", "text/plain")});  // any HTTP answer is reachable
  auto preflight = make({preflightTestProvider("a", "openai-completions", server.origin() + "/v1"),
                         preflightTestProvider("b", "openai-completions", server.origin() + "/v1/")},
                        {"a/m1", "b/m2"});
  EXPECT_TRUE(check(*preflight).available);
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].target, "/v1/models");
  clock_->advance(std::chrono::milliseconds(kCronPreflightCacheTtl).count() - 1);
  EXPECT_TRUE(check(*preflight).available);
  EXPECT_EQ(server.requests().size(), 1u);
  clock_->advance(1);
  EXPECT_TRUE(check(*preflight).available);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(CronPreflightTest, AnUnreachableResultIsCachedToo) {
  // A server that comes up within the five minutes is not seen until they pass (OpenClaw caches both).
  auto preflight = make({preflightTestProvider("ollama", "ollama", dead_)}, {"ollama/qwen3:8b"});
  EXPECT_FALSE(check(*preflight).available);
  clock_->advance(60'000);
  auto again = check(*preflight);
  EXPECT_FALSE(again.available);
  EXPECT_NE(again.reason.find(dead_), std::string::npos);
}

}  // namespace
}  // namespace talon::gateway::automation
