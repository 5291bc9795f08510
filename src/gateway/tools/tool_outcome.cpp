#include "gateway/tools/tool_outcome.h"

#include "base/json.h"

namespace talon::gateway::tools {
namespace {
constexpr std::pair<ToolErrorKind, std::string_view> kKindNames[] = {
    {ToolErrorKind::kInvalidArguments, "invalid_arguments"},
    {ToolErrorKind::kNotFound, "not_found"},
    {ToolErrorKind::kDenied, "denied"},
    {ToolErrorKind::kFailed, "failed"},
    {ToolErrorKind::kCancelled, "cancelled"},
    {ToolErrorKind::kTimeout, "timeout"},
};
constexpr std::string_view kErrorPrefix = "error: ";
}  // namespace

std::string_view toolErrorKindName(ToolErrorKind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "failed";
}

std::optional<ToolErrorKind> parseToolErrorKind(std::string_view name) {
  for (const auto& [k, n] : kKindNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

ToolOutcome ToolOutcome::fromResult(Result<std::string> result) {
  if (result) return success(std::move(*result));
  const Error& e = result.error();
  ToolErrorKind kind = ToolErrorKind::kFailed;
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
      kind = ToolErrorKind::kInvalidArguments;
      break;
    case ErrorCode::kCancelled:
      kind = ToolErrorKind::kCancelled;
      break;
    case ErrorCode::kDeadlineExceeded:
      kind = ToolErrorKind::kTimeout;
      break;
    case ErrorCode::kPermissionDenied:
      kind = ToolErrorKind::kDenied;
      break;
    default:
      break;
  }
  return failure(kind, e.publicMessage());
}

std::string ToolOutcome::modelContent() const {
  if (ok()) return text;
  std::string out(kErrorPrefix);
  out += text;
  return out;
}

std::string encodeTranscriptMeta(const ToolOutcome& outcome, int64_t durationMs) {
  if (outcome.ok()) return json::serialize(json::object{{"isError", false}, {"durationMs", durationMs}});
  return json::serialize(
      json::object{{"isError", true}, {"errorKind", toolErrorKindName(*outcome.error)}, {"durationMs", durationMs}});
}

ToolResultMeta decodeTranscriptMeta(std::string_view toolCallsJson, std::string_view content) {
  ToolResultMeta meta;
  if (toolCallsJson.empty()) {
    meta.isError = content.substr(0, kErrorPrefix.size()) == kErrorPrefix;  // rows from before the flag
    return meta;
  }
  auto v = parseJson(toolCallsJson);
  if (!v || !v->is_object()) return meta;
  const auto& o = v->get_object();
  if (const auto* flag = o.if_contains("isError"); flag && flag->is_bool()) meta.isError = flag->get_bool();
  if (meta.isError) {
    if (auto kind = getString(o, "errorKind")) meta.errorKind = parseToolErrorKind(*kind);
  }
  meta.durationMs = getInt(o, "durationMs");
  return meta;
}

}  // namespace talon::gateway::tools
