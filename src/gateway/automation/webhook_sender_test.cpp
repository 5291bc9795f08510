// Outbound webhook delivery against a local HTTP peer (tests/support/scripted_peer.h) that answers each
// attempt as scripted; backoff timers run on ManualExecutors in simulated time, the HTTP exchange on a
// real I/O thread. Nothing sleeps.
#include "gateway/automation/webhook_sender.h"

#include <gtest/gtest.h>

#include <mutex>
#include <optional>

#include "security/webhook_signature.h"
#include "support/io_thread.h"
#include "support/manual_executors.h"
#include "support/scripted_peer.h"

namespace talon::gateway::automation {
namespace {

using talon::testing::PeerReply;
using talon::testing::ScriptedPeer;

class WebhookSenderTest : public ::testing::Test {
 protected:
  void SetUp() override { io_.start(); }
  void TearDown() override { io_.stop(); }

  std::unique_ptr<WebhookSender> make(WebhookSenderOptions o = {}) {
    o.jitter = [] { return 0.0; };  // delays are exactly half the backoff step
    o.baseDelay = std::chrono::milliseconds(1'000);
    // Timers are armed from the HTTP client's thread: a no-op task wakes runUntil() to see them.
    auto ex = executors_.executors();
    ex.after = [this, io = ex.io, after = ex.after](std::chrono::milliseconds delay, Task task) {
      {
        std::lock_guard lock(armedMu_);
        armedDelays_.push_back(delay.count());
      }
      auto handle = after(delay, std::move(task));
      io([] {});
      return handle;
    };
    auto s = WebhookSender::create(net::HttpClient::create(io_.io()), ex, clock_, metrics_, o);
    EXPECT_TRUE(s) << s.error().toString();
    return s ? std::move(*s) : nullptr;
  }

  /// Sends one delivery and drives timers until it ends; `delays` collects each wait the sender armed
  /// (as asked of the executor: an attempt can end and arm the next timer on the HTTP client's thread
  /// while the test is still stepping time for the previous one).
  WebhookDelivery deliver(WebhookSender& sender, const std::string& url, std::vector<int64_t>* delays = nullptr) {
    {
      std::lock_guard lock(armedMu_);
      armedDelays_.clear();
    }
    std::mutex mu;
    std::optional<WebhookDelivery> out;
    sender.send(WebhookTarget{url, "whsec-out", {{"X-Extra", "1"}}}, json::object{{"event", "cron.finished"}},
                [&, wake = executors_.executors().io](WebhookDelivery d) {
                  {
                    std::lock_guard lock(mu);
                    out = std::move(d);
                  }
                  wake([] {});  // from the HTTP client's thread: wakes runUntil()
                });
    auto ended = [&] {
      std::lock_guard lock(mu);
      return out.has_value();
    };
    while (!ended()) {
      // Wait for the attempt to end: either the delivery ends or a retry timer is armed.
      EXPECT_TRUE(executors_.runUntil([&] { return ended() || executors_.armedTimers() > 0; }));
      if (ended()) break;
      // Step simulated time until the timer fires (it posts the next attempt).
      while (executors_.armedTimers() > 0 && !ended()) executors_.advance(250);
    }
    if (delays) {
      std::lock_guard lock(armedMu_);
      *delays = armedDelays_;
    }
    std::lock_guard lock(mu);
    return *out;
  }

  double metric(std::string_view series) const {
    const std::string text = metrics_.render();
    auto pos = text.find("\n" + std::string(series) + " ");
    if (pos == std::string::npos) return -1;
    return std::stod(text.substr(pos + series.size() + 2));
  }

  std::mutex armedMu_;
  std::vector<int64_t> armedDelays_;  // each delay the sender armed, ms (guarded by armedMu_)
  talon::testing::IoThread io_;
  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  talon::testing::ManualExecutors executors_{clock_};
  health::MetricsRegistry metrics_;
};

TEST_F(WebhookSenderTest, PostsSignedJsonAndReportsDelivery) {
  ScriptedPeer peer({PeerReply::whole(204, "")});
  auto sender = make();
  auto d = deliver(*sender, peer.origin() + "/receiver");
  EXPECT_TRUE(d.delivered);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.status, 204);
  EXPECT_FALSE(d.error);
  auto reqs = peer.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/receiver");
  EXPECT_EQ(reqs[0].body, R"({"event":"cron.finished"})");
  EXPECT_EQ(reqs[0].header("content-type"), "application/json");
  EXPECT_EQ(reqs[0].header("x-extra"), "1");
  EXPECT_EQ(reqs[0].header("x-talon-delivery"), d.id);
  // The receiver's check: the same verifier the ingress uses.
  security::WebhookVerifier verifier(security::Secret("whsec-out"), 300, clock_);
  EXPECT_EQ(verifier.verify(reqs[0].header("x-talon-timestamp"), reqs[0].header("x-talon-signature"), reqs[0].body),
            security::SignatureCheck::kValid);
  EXPECT_EQ(metric(R"(talon_webhook_deliveries_total{result="delivered"})"), 1);
}

TEST_F(WebhookSenderTest, RetriesServerErrorsWithBackoffThenSucceeds) {
  ScriptedPeer peer({PeerReply::whole(500, "{}"), PeerReply::whole(503, "{}"), PeerReply::whole(200, "{}")});
  auto sender = make();
  std::vector<int64_t> delays;
  auto d = deliver(*sender, peer.origin() + "/r", &delays);
  EXPECT_TRUE(d.delivered);
  EXPECT_EQ(d.attempts, 3);
  // Jitter 0: half of 1 s, then half of 2 s.
  EXPECT_EQ(delays, (std::vector<int64_t>{500, 1000}));
  auto reqs = peer.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].header("x-talon-delivery"), reqs[2].header("x-talon-delivery"));
  EXPECT_EQ(metric(R"(talon_webhook_attempts_total{outcome="5xx"})"), 2);
}

TEST_F(WebhookSenderTest, TooManyRequestsHonoursRetryAfter) {
  ScriptedPeer peer(
      {PeerReply::whole(429, "{}", "application/json", {{"Retry-After", "3"}}), PeerReply::whole(200, "{}")});
  auto sender = make();
  std::vector<int64_t> delays;
  auto d = deliver(*sender, peer.origin() + "/r", &delays);
  EXPECT_TRUE(d.delivered);
  EXPECT_EQ(delays, (std::vector<int64_t>{3000}));
  EXPECT_EQ(metric(R"(talon_webhook_attempts_total{outcome="429"})"), 1);
}

TEST_F(WebhookSenderTest, ClientErrorsAreFinalAndVisible) {
  ScriptedPeer peer({PeerReply::whole(404, "{}"), PeerReply::whole(200, "{}")});
  auto sender = make();
  auto d = deliver(*sender, peer.origin() + "/r");
  EXPECT_FALSE(d.delivered);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.status, 404);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->code, ErrorCode::kUpstream);
  EXPECT_EQ(peer.requests().size(), 1u);
  EXPECT_EQ(metric(R"(talon_webhook_deliveries_total{result="failed"})"), 1);
  EXPECT_EQ(metric(R"(talon_webhook_attempts_total{outcome="4xx"})"), 1);
}

TEST_F(WebhookSenderTest, GivesUpAfterMaxAttempts) {
  ScriptedPeer peer({PeerReply::whole(502, "{}")});
  WebhookSenderOptions o;
  o.maxAttempts = 3;
  auto sender = make(o);
  auto d = deliver(*sender, peer.origin() + "/r");
  EXPECT_FALSE(d.delivered);
  EXPECT_EQ(d.attempts, 3);
  EXPECT_EQ(d.status, 502);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(peer.requests().size(), 3u);
}

TEST_F(WebhookSenderTest, NetworkErrorsAreRetried) {
  std::string url;
  {
    ScriptedPeer gone({});
    url = gone.origin() + "/r";
  }  // the port is closed now: connection refused
  WebhookSenderOptions o;
  o.maxAttempts = 2;
  auto sender = make(o);
  auto d = deliver(*sender, url);
  EXPECT_FALSE(d.delivered);
  EXPECT_EQ(d.attempts, 2);
  EXPECT_EQ(d.status, 0);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->code, ErrorCode::kUnavailable);
  EXPECT_EQ(metric(R"(talon_webhook_attempts_total{outcome="network"})"), 2);
}

TEST_F(WebhookSenderTest, RetryAfterLongerThanTheCapEndsTheDelivery) {
  ScriptedPeer peer({PeerReply::whole(429, "{}", "application/json", {{"Retry-After", "3600"}})});
  auto sender = make();
  auto d = deliver(*sender, peer.origin() + "/r");
  EXPECT_FALSE(d.delivered);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->code, ErrorCode::kResourceExhausted);
}

TEST(RetryAfter, SecondsAndHttpDates) {
  EXPECT_EQ(parseRetryAfter("2", 0), std::chrono::milliseconds(2000));
  EXPECT_EQ(parseRetryAfter("", 0), std::nullopt);
  EXPECT_EQ(parseRetryAfter("soon", 0), std::nullopt);
  // Sun, 06 Nov 1994 08:49:37 GMT = 784111777 s.
  EXPECT_EQ(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784'111'770'000), std::chrono::milliseconds(7000));
  EXPECT_EQ(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784'111'780'000), std::chrono::milliseconds(0));
}

}  // namespace
}  // namespace talon::gateway::automation
