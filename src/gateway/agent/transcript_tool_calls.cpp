#include "gateway/agent/transcript_tool_calls.h"

#include "base/json.h"

namespace talon::gateway {

std::string toolCallsToJson(const std::vector<ToolCall>& calls) {
  json::array a;
  for (const auto& c : calls) {
    json::object o{{"id", c.id}, {"name", c.name}, {"arguments", c.argumentsJson}};
    if (!c.signature.empty()) o["signature"] = c.signature;
    a.push_back(std::move(o));
  }
  return json::serialize(a);
}

std::vector<ToolCall> toolCallsFromJson(const std::string& text) {
  std::vector<ToolCall> calls;
  if (text.empty()) return calls;
  auto v = parseJson(text);
  if (!v || !v->is_array()) return calls;
  for (const auto& item : v->get_array()) {
    if (!item.is_object()) continue;
    const auto& o = item.get_object();
    calls.push_back(ToolCall{
        std::string(getString(o, "id").value_or("")), std::string(getString(o, "name").value_or("")),
        std::string(getString(o, "arguments").value_or("")), std::string(getString(o, "signature").value_or(""))});
  }
  return calls;
}

}  // namespace talon::gateway
