#pragma once
// The model proxy's arithmetic (docs/fleet.md "Model proxy"): spending windows (UTC day and calendar
// month), limit checks, the cost of a completion from its token usage, and reading that usage from an
// upstream's answer:
// - openai-completions: `usage` of a `chat.completion` body, or of the last chunk of a Server-Sent-Events
//   stream when the request asked for `stream_options.include_usage`
//   (https://platform.openai.com/docs/api-reference/chat/streaming);
// - anthropic-messages: `usage` of a `message` body, or of the stream's `message_start` (input tokens)
//   and `message_delta` (cumulative output tokens) events
//   (https://docs.anthropic.com/en/api/messages-streaming); input counts cache reads and writes too.
// Pure functions and one small value class; no clock, no I/O.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fleet/model_proxy_settings.h"

namespace talon::fleet {

/// Token counts of one completion (OpenAI `usage`).
struct TokenUsage {
  int64_t promptTokens = 0;
  int64_t completionTokens = 0;
};

/// The starts of the spending windows containing `nowMs`, in ms since the epoch (UTC).
struct SpendWindows {
  int64_t dayStartMs = 0;
  int64_t monthStartMs = 0;
};
SpendWindows spendWindowsAt(int64_t nowMs);

/// Why a request may not spend: the window exceeded, or nullopt when it may. A window whose spending has
/// reached its limit (spent >= limit) is exhausted; the check runs before a request, whose own cost is not
/// known yet, so one request may take the spending past the limit.
struct LimitExceeded {
  /// "daily" | "monthly".
  std::string window;
  double limitUsd = 0;
  double spentUsd = 0;
};
std::optional<LimitExceeded> checkSpendLimit(const SpendLimit& limit, double spentTodayUsd, double spentMonthUsd);

/// The cost in USD of `usage` at `price`.
double usageCostUsd(const ModelPrice& price, const TokenUsage& usage);

/// The wire APIs the proxy forwards (modelProxy.providers.<id>.api).
enum class ProxyApi { kOpenAiCompletions, kAnthropicMessages };
/// "openai-completions" → kOpenAiCompletions, "anthropic-messages" → kAnthropicMessages.
ProxyApi proxyApiOf(std::string_view api);

/// `usage` of a non-streamed answer body (a chat.completion, or an Anthropic message); nullopt when the
/// body is not JSON or has no usage object.
std::optional<TokenUsage> parseCompletionUsage(std::string_view body, ProxyApi api = ProxyApi::kOpenAiCompletions);

/// The request body as forwarded: for openai-completions with `stream_options.include_usage: true` added
/// when it streams (`"stream": true`) and does not set include_usage itself; unchanged otherwise (Anthropic
/// streams always carry usage). nullopt when the body is not a JSON object. `model` and `stream` report
/// what the body asked for.
struct ProxiedRequest {
  std::string body;
  std::string model;
  bool stream = false;
};
std::optional<ProxiedRequest> prepareChatRequest(std::string_view body, ProxyApi api = ProxyApi::kOpenAiCompletions);

/// Reads the usage from an SSE stream fed to it in pieces as they arrive (events may span pieces). Keeps
/// only the current unfinished line.
class SseUsageScanner {
 public:
  explicit SseUsageScanner(ProxyApi api = ProxyApi::kOpenAiCompletions) : api_(api) {}
  void feed(std::string_view bytes);
  /// The last `usage` object a `data:` event carried (non-null).
  const std::optional<TokenUsage>& usage() const { return usage_; }

 private:
  void line(std::string_view text);
  ProxyApi api_;
  std::string partial_;
  std::optional<TokenUsage> usage_;
};

}  // namespace talon::fleet
