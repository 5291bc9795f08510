#include "fleet/proxy_accounting.h"

#include <chrono>

#include "base/json.h"

namespace talon::fleet {

namespace {

std::optional<TokenUsage> accountingUsageOf(const json::value& v) {
  if (!v.is_object()) return std::nullopt;
  const json::value* u = v.as_object().if_contains("usage");
  if (u == nullptr || !u->is_object()) return std::nullopt;
  TokenUsage out;
  out.promptTokens = getInt(u->as_object(), "prompt_tokens").value_or(0);
  out.completionTokens = getInt(u->as_object(), "completion_tokens").value_or(0);
  return out;
}

/// Anthropic's usage object: input (with cache reads and writes) and output tokens, each when present.
void accountingAnthropicUsage(const json::object& u, TokenUsage& out) {
  if (u.contains("input_tokens"))
    out.promptTokens = getInt(u, "input_tokens").value_or(0) + getInt(u, "cache_creation_input_tokens").value_or(0) +
                       getInt(u, "cache_read_input_tokens").value_or(0);
  if (u.contains("output_tokens")) out.completionTokens = getInt(u, "output_tokens").value_or(0);
}

}  // namespace

SpendWindows spendWindowsAt(int64_t nowMs) {
  using namespace std::chrono;
  sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(nowMs)));
  year_month_day ymd(day);
  sys_days month = sys_days(ymd.year() / ymd.month() / 1);
  return {duration_cast<milliseconds>(day.time_since_epoch()).count(),
          duration_cast<milliseconds>(month.time_since_epoch()).count()};
}

std::optional<LimitExceeded> checkSpendLimit(const SpendLimit& limit, double spentTodayUsd, double spentMonthUsd) {
  if (limit.dailyUsd && spentTodayUsd >= *limit.dailyUsd) return LimitExceeded{"daily", *limit.dailyUsd, spentTodayUsd};
  if (limit.monthlyUsd && spentMonthUsd >= *limit.monthlyUsd)
    return LimitExceeded{"monthly", *limit.monthlyUsd, spentMonthUsd};
  return std::nullopt;
}

double usageCostUsd(const ModelPrice& price, const TokenUsage& usage) {
  return (static_cast<double>(usage.promptTokens) * price.inputPerMTokUsd +
          static_cast<double>(usage.completionTokens) * price.outputPerMTokUsd) /
         1e6;
}

ProxyApi proxyApiOf(std::string_view api) {
  return api == "anthropic-messages" ? ProxyApi::kAnthropicMessages : ProxyApi::kOpenAiCompletions;
}

std::optional<TokenUsage> parseCompletionUsage(std::string_view body, ProxyApi api) {
  auto v = parseJson(body);
  if (!v) return std::nullopt;
  if (api == ProxyApi::kOpenAiCompletions) return accountingUsageOf(*v);
  const json::object* u = v->is_object() ? getObject(v->as_object(), "usage") : nullptr;
  if (u == nullptr) return std::nullopt;
  TokenUsage out;
  accountingAnthropicUsage(*u, out);
  return out;
}

std::optional<ProxiedRequest> prepareChatRequest(std::string_view body, ProxyApi api) {
  auto v = parseJson(body);
  if (!v || !v->is_object()) return std::nullopt;
  json::object& o = v->as_object();
  ProxiedRequest out;
  out.model = std::string(getString(o, "model").value_or(""));
  out.stream = getBool(o, "stream").value_or(false);
  if (out.stream && api == ProxyApi::kOpenAiCompletions) {
    json::value& options = o["stream_options"];
    if (!options.is_object()) options = json::object{};
    if (!options.as_object().contains("include_usage")) options.as_object()["include_usage"] = true;
  }
  out.body = json::serialize(o);
  return out;
}

void SseUsageScanner::feed(std::string_view bytes) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != '\n') continue;
    if (partial_.empty()) {
      line(bytes.substr(start, i - start));
    } else {
      partial_.append(bytes.substr(start, i - start));
      line(partial_);
      partial_.clear();
    }
    start = i + 1;
  }
  partial_.append(bytes.substr(start));
}

void SseUsageScanner::line(std::string_view text) {
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (!text.starts_with("data:")) return;
  text.remove_prefix(5);
  if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  if (text.empty() || text == "[DONE]") return;
  auto v = parseJson(text);
  if (!v) return;
  if (api_ == ProxyApi::kOpenAiCompletions) {
    if (auto u = accountingUsageOf(*v)) usage_ = u;
    return;
  }
  if (!v->is_object()) return;
  const json::object& event = v->as_object();
  const json::object* u = nullptr;
  if (getString(event, "type") == "message_start") {
    const json::object* message = getObject(event, "message");
    u = message ? getObject(*message, "usage") : nullptr;
  } else if (getString(event, "type") == "message_delta") {
    u = getObject(event, "usage");
  }
  if (u == nullptr) return;
  if (!usage_) usage_ = TokenUsage{};
  accountingAnthropicUsage(*u, *usage_);
}

}  // namespace talon::fleet
