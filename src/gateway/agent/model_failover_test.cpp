#include "gateway/agent/model_failover.h"

#include <gtest/gtest.h>

namespace talon::gateway {
namespace {

using std::chrono::milliseconds;

Error http(int status, std::string message = "x", std::string vendorCode = "") {
  Error e(ErrorCode::kUpstream, "provider p: HTTP " + std::to_string(status) + ": " + message);
  e.details["httpStatus"] = status;
  if (!vendorCode.empty()) e.details["vendorCode"] = vendorCode;
  return e;
}

TEST(ModelFailoverTest, HttpStatusesClassifyAsOpenClawDoes) {
  EXPECT_EQ(classifyModelError(http(402)), FailoverReason::kBilling);
  EXPECT_EQ(classifyModelError(http(429)), FailoverReason::kRateLimit);
  EXPECT_EQ(classifyModelError(http(429, "You exceeded your current quota", "insufficient_quota")),
            FailoverReason::kBilling);
  EXPECT_EQ(classifyModelError(http(401)), FailoverReason::kAuth);
  EXPECT_EQ(classifyModelError(http(401, "API key revoked")), FailoverReason::kAuthPermanent);
  EXPECT_EQ(classifyModelError(http(408)), FailoverReason::kTimeout);
  EXPECT_EQ(classifyModelError(http(404)), FailoverReason::kModelNotFound);
  EXPECT_EQ(classifyModelError(http(529)), FailoverReason::kOverloaded);
  EXPECT_EQ(classifyModelError(http(503, "Overloaded")), FailoverReason::kOverloaded);
  EXPECT_EQ(classifyModelError(http(500)), FailoverReason::kServerError);
  EXPECT_EQ(classifyModelError(http(504)), FailoverReason::kTimeout);
  EXPECT_EQ(classifyModelError(http(400)), FailoverReason::kFormat);
  EXPECT_EQ(classifyModelError(http(400, "The model `gpt-x` does not exist")), FailoverReason::kModelNotFound);
  EXPECT_EQ(classifyModelError(http(400, "bad", "model_not_found")), FailoverReason::kModelNotFound);
  EXPECT_EQ(classifyModelError(http(400, "This model's maximum context length is 8192 tokens")),
            FailoverReason::kContextOverflow);
}

TEST(ModelFailoverTest, ErrorsWithoutAStatusClassifyByCode) {
  EXPECT_EQ(classifyModelError(Error(ErrorCode::kUnavailable, "connection refused")), FailoverReason::kServerError);
  EXPECT_EQ(classifyModelError(Error(ErrorCode::kDeadlineExceeded, "timed out")), FailoverReason::kTimeout);
  EXPECT_EQ(classifyModelError(Error(ErrorCode::kCancelled, "cancelled")), FailoverReason::kCancelled);
  EXPECT_EQ(classifyModelError(Error(ErrorCode::kUpstream, "malformed chunk")), FailoverReason::kUnknown);
  EXPECT_FALSE(isFallbackWorthy(FailoverReason::kCancelled));
  EXPECT_FALSE(isFallbackWorthy(FailoverReason::kContextOverflow));
  EXPECT_TRUE(isFallbackWorthy(FailoverReason::kUnknown));
  EXPECT_FALSE(isTransientFailure(FailoverReason::kModelNotFound));
  EXPECT_TRUE(isTransientFailure(FailoverReason::kOverloaded));
}

TEST(ModelFailoverTest, OpenClawsContextOverflowMessagesClassifyAsOverflowWithOrWithoutAStatus) {
  // OpenClaw docs/concepts/compaction.md, "Overflow error patterns OpenClaw recognizes".
  for (const char* message :
       {"request_too_large", "context length exceeded", "input exceeds the maximum number of tokens",
        "Input token count exceeds the maximum number of input tokens", "Input is too long for the model",
        "ollama error: context length exceeded", "prompt is too long: 210000 tokens > 200000 maximum"}) {
    EXPECT_EQ(classifyModelError(http(400, message)), FailoverReason::kContextOverflow) << message;
    EXPECT_EQ(classifyModelError(http(413, message)), FailoverReason::kContextOverflow) << message;
    EXPECT_EQ(classifyModelError(Error(ErrorCode::kUpstream, message)), FailoverReason::kContextOverflow) << message;
  }
  // A rate limit that mentions a context is still a rate limit.
  EXPECT_EQ(classifyModelError(Error(ErrorCode::kResourceExhausted, "context window tokens per minute exceeded")),
            FailoverReason::kRateLimit);
  EXPECT_EQ(classifyModelError(http(413, "payload too big")), FailoverReason::kUnknown);
}

TEST(ModelFailoverTest, RetryDelaysDoubleWithJitterAndHonourRetryAfter) {
  ModelRetryPolicy p;
  const milliseconds zero(0), lots(1'000'000);
  auto d = [&](FailoverReason r, int n, int64_t retryAfter, double jitter, milliseconds elapsed = milliseconds(0)) {
    return transientRetryDelay(p, r, n, r == FailoverReason::kRateLimit, retryAfter, elapsed, lots, jitter);
  };
  EXPECT_EQ(d(FailoverReason::kServerError, 0, 0, 0.5), milliseconds(1000));
  EXPECT_EQ(d(FailoverReason::kServerError, 1, 0, 0.5), milliseconds(2000));
  EXPECT_EQ(d(FailoverReason::kServerError, 2, 0, 0.0), milliseconds(2000));    // 4 s × 0.5
  EXPECT_EQ(d(FailoverReason::kServerError, 6, 0, 0.99), milliseconds(30000));  // capped
  EXPECT_EQ(d(FailoverReason::kRateLimit, 0, 7000, 0.5), milliseconds(7000));   // Retry-After wins
  EXPECT_EQ(d(FailoverReason::kServerError, 8, 0, 0.5), std::nullopt);          // 8 retries spent
  EXPECT_TRUE(d(FailoverReason::kRateLimit, 8, 0, 0.5).has_value());            // rate limits get 9
  EXPECT_EQ(d(FailoverReason::kRateLimit, 9, 0, 0.5), std::nullopt);
  EXPECT_EQ(d(FailoverReason::kServerError, 0, 0, 0.5, milliseconds(89'500)), std::nullopt);  // past 90 s
  EXPECT_EQ(d(FailoverReason::kModelNotFound, 0, 0, 0.5), std::nullopt);
  // Never past the turn's deadline.
  EXPECT_EQ(transientRetryDelay(p, FailoverReason::kRateLimit, 0, true, 60'000, zero, milliseconds(30'000), 0.5),
            std::nullopt);
}

}  // namespace
}  // namespace talon::gateway
