#include "gateway/automation/webhook_sender.h"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <charconv>
#include <ctime>
#include <mutex>
#include <random>

#include "base/ids.h"
#include "security/webhook_signature.h"

namespace talon::gateway::automation {

struct WebhookSender::Shared {
  net::HttpClientPtr client;
  Executors executors;
  ClockPtr clock;
  WebhookSenderOptions options;
  health::Counter delivered, failed;
  health::Counter ok2xx, status4xx, status429, status5xx, network;
  std::mutex jitterMu;
  std::mt19937_64 rng{std::random_device{}()};

  double jitter() {
    if (options.jitter) return options.jitter();
    std::lock_guard lock(jitterMu);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  }

  std::chrono::milliseconds backoff(int retry) {
    int64_t d = options.baseDelay.count();
    for (int i = 1; i < retry && d < options.maxDelay.count(); ++i) d *= 2;
    d = std::min<int64_t>(d, options.maxDelay.count());
    return std::chrono::milliseconds(d / 2 + static_cast<int64_t>(jitter() * static_cast<double>(d - d / 2)));
  }
};

namespace {

/// One delivery in flight: what every attempt needs.
struct Delivery {
  std::shared_ptr<WebhookSender::Shared> shared;
  WebhookTarget target;
  std::string body;
  std::function<void(WebhookDelivery)> done;
  WebhookDelivery result;
};

void attempt(const std::shared_ptr<Delivery>& d);

void finish(const std::shared_ptr<Delivery>& d) {
  if (d->result.delivered) {
    d->shared->delivered.inc();
  } else {
    d->shared->failed.inc();
    spdlog::error("webhook {} to {} failed after {} attempt(s): {}", d->result.id, d->target.url, d->result.attempts,
                  d->result.error ? d->result.error->toString() : "unknown");
  }
  if (d->done) d->done(d->result);
}

void retryOrFinish(const std::shared_ptr<Delivery>& d, std::optional<std::chrono::milliseconds> delay) {
  const auto& o = d->shared->options;
  if (d->result.attempts >= o.maxAttempts) return finish(d);
  auto wait = delay ? *delay : d->shared->backoff(d->result.attempts);
  if (wait > o.maxRetryAfter) {
    d->result.error = Error(ErrorCode::kResourceExhausted,
                            "the receiver asked to retry after " + std::to_string(wait.count() / 1000) + " s",
                            "webhook receiver rate limited");
    return finish(d);
  }
  spdlog::warn("webhook {} to {}: attempt {} failed ({}); retrying in {} ms", d->result.id, d->target.url,
               d->result.attempts, d->result.error ? d->result.error->message : "", wait.count());
  d->result.error.reset();
  d->shared->executors.after(wait, [d] { attempt(d); });
}

void attempt(const std::shared_ptr<Delivery>& d) {
  auto& shared = *d->shared;
  ++d->result.attempts;
  net::ClientRequest req;
  req.method = "POST";
  req.url = d->target.url;
  req.body = d->body;
  req.totalTimeout = shared.options.requestTimeout;
  req.headers = {
      {"Content-Type", "application/json"}, {"User-Agent", "talon-webhook"}, {"X-Talon-Delivery", d->result.id}};
  if (!d->target.secret.empty()) {
    int64_t ts = shared.clock->nowMs() / 1000;
    req.headers.emplace_back(security::kWebhookTimestampHeader, std::to_string(ts));
    req.headers.emplace_back(security::kWebhookSignatureHeader, security::signWebhook(d->target.secret, ts, d->body));
  }
  for (const auto& h : d->target.headers) req.headers.push_back(h);

  struct Seen {
    int status = 0;
    std::string retryAfter;
  };
  auto seen = std::make_shared<Seen>();
  net::ClientHandlers handlers;
  handlers.onHeaders = [seen](int status, const net::Headers& headers) {
    seen->status = status;
    for (const auto& [name, value] : headers) {
      if (name.size() == 11 && strncasecmp(name.c_str(), "retry-after", 11) == 0) seen->retryAfter = value;
    }
  };
  handlers.onBody = [](std::string_view) {};
  handlers.onComplete = [d, seen](Status s) {
    auto& sh = *d->shared;
    d->result.status = seen->status;
    if (!s) {
      sh.network.inc();
      d->result.error = s.error();
      if (s.error().code == ErrorCode::kInvalidArgument) return finish(d);  // a bad URL: retrying cannot help
      return retryOrFinish(d, std::nullopt);
    }
    int status = seen->status;
    if (status >= 200 && status < 300) {
      sh.ok2xx.inc();
      d->result.delivered = true;
      d->result.error.reset();
      return finish(d);
    }
    d->result.error = Error(ErrorCode::kUpstream, "the receiver answered HTTP " + std::to_string(status),
                            "webhook receiver answered HTTP " + std::to_string(status));
    if (status == 429) {
      sh.status429.inc();
      return retryOrFinish(d, parseRetryAfter(seen->retryAfter, sh.clock->nowMs()));
    }
    if (status >= 500) {
      sh.status5xx.inc();
      return retryOrFinish(d, std::nullopt);
    }
    sh.status4xx.inc();  // 4xx (and an unexpected 1xx/3xx): final
    finish(d);
  };
  shared.client->start(std::move(req), std::move(handlers));
}

}  // namespace

std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value, int64_t nowMs) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    return std::chrono::milliseconds(seconds * 1000);
  }
  std::tm tm{};
  std::string text(value);
  const char* parsed = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (parsed == nullptr || *parsed != '\0') return std::nullopt;
  int64_t atMs = static_cast<int64_t>(timegm(&tm)) * 1000;
  return std::chrono::milliseconds(std::max<int64_t>(0, atMs - nowMs));
}

WebhookSender::WebhookSender(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
WebhookSender::~WebhookSender() = default;

Result<std::unique_ptr<WebhookSender>> WebhookSender::create(net::HttpClientPtr client, Executors executors,
                                                             ClockPtr clock, health::MetricsRegistry& metrics,
                                                             WebhookSenderOptions options) {
  if (options.maxAttempts < 1) return fail(ErrorCode::kInvalidArgument, "webhook maxAttempts must be at least 1");
  auto families = metrics.add(kWebhookSenderMetrics);
  if (!families) return fail(families.error());
  auto shared = std::make_shared<Shared>();
  shared->client = std::move(client);
  shared->executors = std::move(executors);
  shared->clock = std::move(clock);
  shared->options = std::move(options);
  auto& deliveries = *(*families)[0];
  auto& attempts = *(*families)[1];
  shared->delivered = *deliveries.counter({"delivered"});
  shared->failed = *deliveries.counter({"failed"});
  shared->ok2xx = *attempts.counter({"2xx"});
  shared->status4xx = *attempts.counter({"4xx"});
  shared->status429 = *attempts.counter({"429"});
  shared->status5xx = *attempts.counter({"5xx"});
  shared->network = *attempts.counter({"network"});
  return std::unique_ptr<WebhookSender>(new WebhookSender(std::move(shared)));
}

std::string WebhookSender::send(WebhookTarget target, json::value payload, std::function<void(WebhookDelivery)> done) {
  auto d = std::make_shared<Delivery>();
  d->shared = shared_;
  d->target = std::move(target);
  d->body = json::serialize(payload);
  d->done = std::move(done);
  d->result.id = newUuid();
  std::string id = d->result.id;
  attempt(d);
  return id;
}

}  // namespace talon::gateway::automation
