#include "gateway/tools/tool_registry.h"

#include <fmt/format.h>

#include "gateway/tools/file_tools.h"

namespace talon::gateway::tools {

Status ToolRegistry::add(ToolPtr tool) {
  if (!tool || tool->name().empty()) return fail(ErrorCode::kInvalidArgument, "a tool needs a name");
  if (find(tool->name()) != nullptr) {
    return fail(ErrorCode::kAlreadyExists, fmt::format("tool \"{}\" is already registered", tool->name()));
  }
  specs_.emplace_back(std::string(tool->name()), std::string(tool->description()), tool->parameters());
  tools_.push_back(std::move(tool));
  return {};
}

std::vector<std::string> ToolRegistry::names() const {
  std::vector<std::string> out;
  out.reserve(tools_.size());
  for (const auto& t : tools_) out.emplace_back(t->name());
  return out;
}

const Tool* ToolRegistry::find(std::string_view name) const {
  for (const auto& t : tools_) {
    if (t->name() == name) return t.get();
  }
  return nullptr;
}

Result<std::string> ToolRegistry::invoke(std::string_view name, const json::object& args,
                                         const ToolContext& ctx) const {
  const Tool* tool = find(name);
  if (tool == nullptr) return fail(toolError(ErrorCode::kNotFound, unknownToolMessage(name)));
  return tool->invoke(args, ctx);
}

std::string ToolRegistry::unknownToolMessage(std::string_view name) const {
  std::string available;
  for (const auto& n : names()) available += (available.empty() ? "" : ", ") + n;
  return fmt::format("Unknown tool \"{}\". Available tools: {}.", name, available.empty() ? "none" : available);
}

Result<json::object> ToolRegistry::parseArguments(std::string_view name, std::string_view argumentsJson) {
  if (argumentsJson.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object{};
  auto parsed = parseJson(argumentsJson);
  if (!parsed || !parsed->is_object()) {
    std::string why = parsed ? "it is not a JSON object" : parsed.error().message;
    return fail(toolError(ErrorCode::kInvalidArgument,
                          fmt::format("The arguments for tool \"{}\" are not valid: {}. Send a JSON object matching "
                                      "the tool's parameters.",
                                      name, why)));
  }
  return std::move(parsed->get_object());
}

Result<std::string> ToolRegistry::invokeJson(std::string_view name, std::string_view argumentsJson,
                                             const ToolContext& ctx) const {
  auto args = parseArguments(name, argumentsJson);
  if (!args) return fail(args.error());
  return invoke(name, *args, ctx);
}

}  // namespace talon::gateway::tools
