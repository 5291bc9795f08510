#include "gateway/chat_commands/compact_reply.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string_view>

namespace talon::gateway::chat_commands {

namespace {

/// `value` with `decimals` decimals as JavaScript's Number.prototype.toFixed writes it: the decimal
/// nearest to the exact binary value, an exact tie rounded up (printf would round it to even).
std::string toFixedAsJavaScript(double value, int decimals) {
  const double scale = decimals == 0 ? 1.0 : 10.0;
  const double scaled = value * scale;
  // An exact tie only when the product is exact (fma gives its rounding error) and lands on .5.
  if (std::fma(value, scale, -scaled) == 0.0 && scaled - std::floor(scaled) == 0.5) {
    return fmt::format("{:.{}f}", (std::floor(scaled) + 1.0) / scale, decimals);
  }
  return fmt::format("{:.{}f}", value, decimals);
}

constexpr std::string_view kCompactFailedPrefix = "compaction failed: ";

}  // namespace

std::string formatTokenCount(int64_t tokens) {
  if (tokens <= 0) return "0";
  const auto value = static_cast<double>(tokens);
  if (tokens < 1000) return std::to_string(tokens);
  if (tokens < 1'000'000) {
    std::string thousands = toFixedAsJavaScript(value / 1e3, tokens >= 10'000 ? 0 : 1);
    if (std::stod(thousands) < 1000) return thousands + "k";
  }
  return toFixedAsJavaScript(value / 1e6, 1) + "m";
}

std::string formatContextUsageShort(int64_t total, int64_t contextWindow) {
  const std::string window = contextWindow > 0 ? formatTokenCount(contextWindow) : "?";
  if (total <= 0) return "Context ?/" + window;
  std::string out = "Context " + formatTokenCount(total) + "/" + window;
  if (contextWindow > 0) {
    const double pct =
        std::min(999.0, std::round(static_cast<double>(total) / static_cast<double>(contextWindow) * 100.0));
    out += fmt::format(" ({}%)", static_cast<int64_t>(pct));
  }
  return out;
}

std::string compactReplyText(const Result<CompactResult>& result, int64_t contextWindow) {
  if (!result) {
    const Error& e = result.error();
    if (e.code == ErrorCode::kUnavailable) return "⚙️ Compaction unavailable: " + e.publicMessage() + ".";
    std::string reason = e.publicMessage();
    if (std::string_view(reason).substr(0, kCompactFailedPrefix.size()) == kCompactFailedPrefix) {
      reason.erase(0, kCompactFailedPrefix.size());
    }
    return "⚙️ Compaction failed: " + reason + " • " + formatContextUsageShort(0, contextWindow);
  }
  if (result->compacted) {
    return "⚙️ Compacted (" + formatTokenCount(result->tokensBefore) + " → " +
           formatTokenCount(result->tokensAfter) + ") • " + formatContextUsageShort(result->tokensAfter, contextWindow);
  }
  // "no transcript" and "nothing to compact" are both OpenClaw's no_compactable_entries.
  return "⚙️ Compaction skipped: nothing compactable in this session yet • " +
         formatContextUsageShort(result->tokensBefore, contextWindow);
}

}  // namespace talon::gateway::chat_commands
