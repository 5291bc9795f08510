#include "gateway/agent/model_failover.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iterator>
#include <regex>
#include <string>

#include "base/json.h"

namespace talon::gateway {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// OpenClaw message-patterns isModelNotFoundErrorMessage (the common forms).
bool isModelNotFoundMessage(const std::string& m) {
  static const std::regex kNotFound(R"(model[_\- ]?not[_\- ]?found|\bmodel\b.{0,60}?\bnot found\b)", std::regex::icase);
  return std::regex_search(m, kNotFound) || (contains(m, "model") && contains(m, "does not exist"));
}

// OpenClaw HIGH_CONFIDENCE_AUTH_PERMANENT_PATTERNS.
bool isAuthPermanentMessage(const std::string& m) {
  static const std::regex kRevoked(R"(api[_ ]?key[_ ]?(revoked|deactivated|deleted)|deactivated[_ ]workspace)",
                                   std::regex::icase);
  return std::regex_search(m, kRevoked) || contains(m, "key has been disabled") ||
         contains(m, "key has been revoked") || contains(m, "account has been deactivated") ||
         contains(m, "not allowed for this organization");
}

bool isOverloadedMessage(const std::string& m) {
  return contains(m, "overloaded") || contains(m, "at capacity") || contains(m, "high demand") ||
         contains(m, "high load");
}

bool isBillingMessage(const std::string& m) {
  return contains(m, "insufficient_quota") || contains(m, "insufficient balance") || contains(m, "billing") ||
         contains(m, "credit balance") || contains(m, "payment required");
}

// Context-overflow messages of the providers, lower case (OpenClaw docs/concepts/compaction.md "Overflow
// error patterns OpenClaw recognizes", dist user-copy-*.mjs CONTEXT_OVERFLOW_ERROR_HEAD_RE). The one table:
// a turn that fails with one of them is compacted and retried once (agent_runner.cpp).
constexpr std::string_view kContextOverflowPatterns[] = {
    "context_length_exceeded",
    "context length",  // "context length exceeded", "maximum context length", "ollama error: context length exceeded"
    "maximum context",
    "context window",  // "exceeds model context window"
    "context overflow",
    "prompt is too long",
    "request_too_large",
    "request size exceeds",
    "request exceeds the maximum size",
    "input is too long",
    "input exceeds the maximum number of tokens",
    "input token count exceeds the maximum number of input tokens",  // Bedrock
};

bool isContextOverflowMessage(const std::string& m) {
  return std::any_of(std::begin(kContextOverflowPatterns), std::end(kContextOverflowPatterns),
                     [&](std::string_view p) { return contains(m, p); });
}

// classifyFailoverClassificationFromHttpStatus, with the message checks Talon implements.
std::optional<FailoverReason> fromHttpStatus(int64_t status, const std::string& m) {
  if (status == 402) return FailoverReason::kBilling;
  if (status == 429) return isBillingMessage(m) ? FailoverReason::kBilling : FailoverReason::kRateLimit;
  if (status == 401 || status == 403) {
    if (isAuthPermanentMessage(m)) return FailoverReason::kAuthPermanent;
    if (isBillingMessage(m)) return FailoverReason::kBilling;
    return FailoverReason::kAuth;
  }
  if (status == 408 || status == 410) return FailoverReason::kTimeout;
  if (isContextOverflowMessage(m)) return FailoverReason::kContextOverflow;
  if (status == 404) return FailoverReason::kModelNotFound;
  if (status == 529) return FailoverReason::kOverloaded;
  if (status == 499 || (status >= 500 && status < 600)) {
    if (isOverloadedMessage(m)) return FailoverReason::kOverloaded;
    return status == 499 || status == 504 || status == 522 || status == 524 ? FailoverReason::kTimeout
                                                                            : FailoverReason::kServerError;
  }
  if (status == 400 || status == 422) {
    if (isModelNotFoundMessage(m)) return FailoverReason::kModelNotFound;
    if (isBillingMessage(m)) return FailoverReason::kBilling;
    return FailoverReason::kFormat;
  }
  return std::nullopt;
}

// classifyFailoverReasonFromCode: the vendor codes seen in OpenAI- and Anthropic-style bodies.
std::optional<FailoverReason> fromVendorCode(const std::string& code) {
  if (code == "model_not_found") return FailoverReason::kModelNotFound;
  if (code == "rate_limit_exceeded" || code == "rate_limit_error" || code == "resource_exhausted" ||
      code == "too_many_requests" || code == "throttled") {
    return FailoverReason::kRateLimit;
  }
  if (code == "overloaded_error") return FailoverReason::kOverloaded;
  if (code == "insufficient_quota") return FailoverReason::kBilling;
  if (code == "context_length_exceeded") return FailoverReason::kContextOverflow;
  if (code == "invalid_api_key" || code == "authentication_error") return FailoverReason::kAuth;
  return std::nullopt;
}

}  // namespace

std::string_view failoverReasonName(FailoverReason reason) {
  switch (reason) {
    case FailoverReason::kAuth:
      return "auth";
    case FailoverReason::kAuthPermanent:
      return "auth_permanent";
    case FailoverReason::kFormat:
      return "format";
    case FailoverReason::kRateLimit:
      return "rate_limit";
    case FailoverReason::kOverloaded:
      return "overloaded";
    case FailoverReason::kBilling:
      return "billing";
    case FailoverReason::kServerError:
      return "server_error";
    case FailoverReason::kTimeout:
      return "timeout";
    case FailoverReason::kContextOverflow:
      return "context_overflow";
    case FailoverReason::kModelNotFound:
      return "model_not_found";
    case FailoverReason::kUnknown:
      return "unknown";
    case FailoverReason::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

FailoverReason classifyModelError(const Error& error) {
  if (error.code == ErrorCode::kCancelled) return FailoverReason::kCancelled;
  const std::string m = lower(error.message);
  std::string vendorCode;
  if (auto v = getString(error.details, "vendorCode")) vendorCode = lower(*v);
  if (auto it = error.details.find("httpStatus"); it != error.details.end() && it->value().is_int64()) {
    const int64_t status = it->value().get_int64();
    // A vendor code that names the reason outright wins over the status's generic reading.
    if (auto byCode = fromVendorCode(vendorCode)) {
      if (*byCode == FailoverReason::kModelNotFound || *byCode == FailoverReason::kContextOverflow ||
          (*byCode == FailoverReason::kBilling && status != 401 && status != 403)) {
        return *byCode;
      }
    }
    if (auto byStatus = fromHttpStatus(status, m)) return *byStatus;
  }
  if (auto byCode = fromVendorCode(vendorCode)) return *byCode;
  if (error.code != ErrorCode::kResourceExhausted && isContextOverflowMessage(m)) {
    return FailoverReason::kContextOverflow;
  }
  switch (error.code) {
    case ErrorCode::kResourceExhausted:
      return FailoverReason::kRateLimit;
    case ErrorCode::kUnavailable:
      return FailoverReason::kServerError;
    case ErrorCode::kDeadlineExceeded:
      return FailoverReason::kTimeout;
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kPermissionDenied:
      return isAuthPermanentMessage(m) ? FailoverReason::kAuthPermanent : FailoverReason::kAuth;
    case ErrorCode::kInvalidArgument:
      return isModelNotFoundMessage(m) ? FailoverReason::kModelNotFound : FailoverReason::kFormat;
    default:
      if (isModelNotFoundMessage(m)) return FailoverReason::kModelNotFound;
      return FailoverReason::kUnknown;
  }
}

bool isTransientFailure(FailoverReason reason) {
  return reason == FailoverReason::kRateLimit || reason == FailoverReason::kOverloaded ||
         reason == FailoverReason::kServerError || reason == FailoverReason::kTimeout;
}

bool isFallbackWorthy(FailoverReason reason) {
  return reason != FailoverReason::kContextOverflow && reason != FailoverReason::kCancelled;
}

std::optional<std::chrono::milliseconds> transientRetryDelay(const ModelRetryPolicy& policy, FailoverReason reason,
                                                             int retriesSoFar, bool rateLimitSeen, int64_t retryAfterMs,
                                                             std::chrono::milliseconds elapsed,
                                                             std::chrono::milliseconds remaining, double jitter) {
  using std::chrono::milliseconds;
  if (!isTransientFailure(reason)) return std::nullopt;
  const bool rateLimit = reason == FailoverReason::kRateLimit;
  int budget = rateLimit ? policy.maxRateLimitRetries : policy.maxTransientRetries;
  if (rateLimitSeen || rateLimit) budget = std::min(budget, policy.maxRateLimitRetries);
  if (retriesSoFar >= budget) return std::nullopt;
  const int retryNumber = retriesSoFar + 1;
  const double exponential = std::min(static_cast<double>(policy.maxDelay.count()),
                                      static_cast<double>(policy.baseDelay.count()) * std::pow(2.0, retryNumber - 1));
  jitter = std::clamp(jitter, 0.0, 1.0);
  const auto jittered = static_cast<int64_t>(
      std::min(static_cast<double>(policy.maxDelay.count()), std::round(exponential * (0.5 + jitter))));
  const milliseconds delay(std::max<int64_t>(jittered, std::max<int64_t>(0, retryAfterMs)));
  if (!rateLimit && elapsed + delay > policy.transientWindow) return std::nullopt;
  if (delay >= remaining) return std::nullopt;
  return delay;
}

}  // namespace talon::gateway
