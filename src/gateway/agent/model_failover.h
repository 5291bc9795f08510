#pragma once
// Model recovery as OpenClaw defines it (docs/concepts/model-failover.md; dist failover-error-*.mjs,
// classify-core-*.mjs and embedded-agent-*.mjs "failover-retry-controller"): a failed model call is
// classified into a failover reason; transient reasons are retried on the same model with exponential
// backoff and jitter honouring Retry-After; then the turn moves to the next model of its fallback chain.
// Pure functions; no threads, no clock.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/error.h"

namespace talon::gateway {

/// OpenClaw's failover reasons (packages/gateway-protocol failover-reasons.ts), the subset a provider
/// error can carry here.
enum class FailoverReason {
  kAuth,             // 401/403
  kAuthPermanent,    // 401/403 whose message says the key is revoked or invalid for good
  kFormat,           // 400/422: the provider rejected the request
  kRateLimit,        // 429
  kOverloaded,       // 529, "overloaded"
  kBilling,          // 402, quota or balance exhausted
  kServerError,      // 5xx, a connection failure
  kTimeout,          // 408, 499, 504, 522, 524, a deadline
  kContextOverflow,  // the prompt does not fit the model's window: no other model is tried
  kModelNotFound,    // 404, "model ... not found" / "does not exist"
  kUnknown,          // a malformed answer or anything else from the provider
  kCancelled,        // the call was cancelled (the turn was aborted): never retried
};

/// The reason's name in run records and events: "auth", "auth_permanent", "format", "rate_limit",
/// "overloaded", "billing", "server_error", "timeout", "context_overflow", "model_not_found",
/// "unknown", "cancelled".
std::string_view failoverReasonName(FailoverReason reason);

/// Classifies a provider error: by `details.httpStatus` and the message as OpenClaw's
/// classifyFailoverClassificationFromHttpStatus does, then by `details.vendorCode`, else by the error code
/// (kResourceExhausted → rate_limit, kUnavailable → server_error, kDeadlineExceeded → timeout,
/// kUnauthenticated → auth, kInvalidArgument → format, kCancelled → cancelled, others → unknown).
FailoverReason classifyModelError(const Error& error);

/// Same-model retry is worth it: rate_limit, overloaded, server_error, timeout (OpenClaw
/// maybeRetryTransient).
bool isTransientFailure(FailoverReason reason);
/// Moving to the next model of the chain is worth it: every reason but context_overflow and cancelled.
bool isFallbackWorthy(FailoverReason reason);

/// Bounds of the same-model retries. Defaults are OpenClaw's (MAX_TRANSIENT_RETRIES = 8 within
/// MAX_TRANSIENT_RETRY_TIME_MS = 90 s; rate limits get 9 retries, i.e. 10 attempts, and no window;
/// TRANSIENT_RETRY_BASE_DELAY_MS = 1 s doubling per retry, capped at TRANSIENT_RETRY_MAX_DELAY_MS = 30 s).
struct ModelRetryPolicy {
  int maxTransientRetries = 8;
  int maxRateLimitRetries = 9;
  std::chrono::milliseconds transientWindow{90'000};
  std::chrono::milliseconds baseDelay{1'000};
  std::chrono::milliseconds maxDelay{30'000};
};

/// The wait before same-model retry number `retryNumber` (1-based), or nullopt when no retry is left:
/// the budget for `reason` is spent (`retriesSoFar` >= it; once a rate limit was seen in this chain
/// link, `rateLimitSeen`, the budget is the rate-limit one), the wait would end after the transient
/// window (`elapsed` since the first failure; not applied to rate limits), or it would end after
/// `remaining` (the turn's deadline). The wait is min(maxDelay, baseDelay·2^(n-1)) × (0.5 + jitter)
/// capped at maxDelay, and at least `retryAfterMs` (the provider's Retry-After). `jitter` is in [0, 1).
std::optional<std::chrono::milliseconds> transientRetryDelay(const ModelRetryPolicy& policy, FailoverReason reason,
                                                             int retriesSoFar, bool rateLimitSeen, int64_t retryAfterMs,
                                                             std::chrono::milliseconds elapsed,
                                                             std::chrono::milliseconds remaining, double jitter);

}  // namespace talon::gateway
