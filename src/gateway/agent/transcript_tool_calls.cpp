#include "gateway/agent/transcript_tool_calls.h"

#include "base/json.h"

namespace talon::gateway {

std::string toolCallsToJson(const std::vector<ToolCall>& calls) {
  json::array a;
  for (const auto& c : calls) {
    a.push_back(json::object{{"id", c.id}, {"name", c.name}, {"arguments", c.argumentsJson}});
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
    calls.push_back(ToolCall{std::string(getString(o, "id").value_or("")),
                             std::string(getString(o, "name").value_or("")),
                             std::string(getString(o, "arguments").value_or(""))});
  }
  return calls;
}

}  // namespace talon::gateway
