#pragma once
// Outbound webhook delivery (cron `delivery: webhook`, alerts): POST a JSON body to a URL, signed with
// Talon's webhook signature (security/webhook_signature.h: X-Talon-Timestamp + X-Talon-Signature,
// re-signed at each attempt), retried with jittered exponential backoff on network errors, timeouts and
// 5xx; 429 is retried after its Retry-After (seconds or an HTTP date); any other status is final. Every
// failed attempt is logged and counted (talon_webhook_attempts_total), every delivery's end too
// (talon_webhook_deliveries_total), and the caller gets the outcome. docs/webhooks.md, "Outbound".
//
// Thread rules: send() from any thread; callbacks run on the HTTP client's threads or on
// `executors.after` timers. The sender may be destroyed with deliveries pending: they go on (they hold
// what they use) and report to their callbacks.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/error.h"
#include "base/json.h"
#include "gateway/executors.h"
#include "gateway/health/metrics_registry.h"
#include "net/http_client.h"

namespace talon::gateway::automation {

/// Where and how one delivery goes.
struct WebhookTarget {
  /// http:// or https:// URL.
  std::string url;
  /// The signing secret; empty: the request carries no signature headers.
  std::string secret;
  /// Extra request headers (e.g. an Authorization the receiver wants).
  net::Headers headers;
};

struct WebhookSenderOptions {
  /// Attempts in all (the first included); at least 1.
  int maxAttempts = 5;
  /// Backoff before retry n (n ≥ 1): min(maxDelay, baseDelay·2^(n-1)), then jittered into [½, 1] of it.
  std::chrono::milliseconds baseDelay{1'000};
  std::chrono::milliseconds maxDelay{60'000};
  /// A 429's Retry-After longer than this ends the delivery (kResourceExhausted) instead of waiting.
  std::chrono::milliseconds maxRetryAfter{600'000};
  /// Per attempt: the whole exchange's budget.
  std::chrono::milliseconds requestTimeout{10'000};
  /// Jitter source, values in [0, 1); default uniformly random. Tests fix it.
  std::function<double()> jitter;
};

/// How a delivery ended.
struct WebhookDelivery {
  /// The X-Talon-Delivery id sent with every attempt (receivers de-duplicate on it).
  std::string id;
  bool delivered = false;
  int attempts = 0;
  /// The last HTTP status received (0: none, e.g. connection refused).
  int status = 0;
  /// Why it was not delivered: kUpstream (a final non-2xx status), kUnavailable / kDeadlineExceeded (the
  /// last attempt's network error or timeout), kResourceExhausted (Retry-After over maxRetryAfter),
  /// kInvalidArgument (a bad URL).
  std::optional<Error> error;
};

/// The delivery metrics (registered by create()).
inline constexpr health::MetricSpec kWebhookSenderMetrics[] = {
    {"talon_webhook_deliveries_total",
     health::MetricType::kCounter,
     "Outbound webhook deliveries finished, by result (delivered, failed).",
     {"result"}},
    {"talon_webhook_attempts_total",
     health::MetricType::kCounter,
     "Outbound webhook HTTP attempts, by outcome (2xx, 4xx, 429, 5xx, network).",
     {"outcome"}},
};

class WebhookSender {
 public:
  /// Registers kWebhookSenderMetrics in `metrics`. Errors: as MetricsRegistry::add.
  static Result<std::unique_ptr<WebhookSender>> create(net::HttpClientPtr client, Executors executors, ClockPtr clock,
                                                       health::MetricsRegistry& metrics,
                                                       WebhookSenderOptions options = {});
  ~WebhookSender();

  /// POSTs `payload` to `target` (Content-Type: application/json), retrying as the header says, and calls
  /// `done` once with the outcome. Returns the delivery id.
  std::string send(WebhookTarget target, json::value payload, std::function<void(WebhookDelivery)> done);

  struct Shared;

 private:
  explicit WebhookSender(std::shared_ptr<Shared> shared);
  std::shared_ptr<Shared> shared_;
};

/// The delay a Retry-After header asks for: delta-seconds, or an HTTP-date (RFC 9110 §10.2.3) relative
/// to `nowMs`; nullopt when absent or unreadable. A date in the past is 0.
std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value, int64_t nowMs);

}  // namespace talon::gateway::automation
