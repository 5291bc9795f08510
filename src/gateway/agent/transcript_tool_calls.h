#pragma once
// How an assistant transcript entry keeps the tool calls the model asked for
// (store::TranscriptEntry::toolCallsJson): a JSON array of {id, name, arguments, signature?}, `arguments`
// being the JSON text the model produced, kept verbatim, and `signature` the provider's opaque signature of
// the call (ToolCall::signature; only when there is one), replayed to the provider in later requests.
#include <string>
#include <vector>

#include "gateway/providers/model_provider.h"

namespace talon::gateway {

/// The column's value for `calls`.
std::string toolCallsToJson(const std::vector<ToolCall>& calls);
/// The calls kept in `text`; empty for an empty or unreadable column (entries that are not objects are
/// skipped, missing fields read as "").
std::vector<ToolCall> toolCallsFromJson(const std::string& text);

}  // namespace talon::gateway
