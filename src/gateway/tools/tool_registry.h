#pragma once
// The tools an agent turn may call: specs for the model, dispatch by name.
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "gateway/providers/model_provider.h"
#include "gateway/tools/tool.h"

namespace talon::gateway::tools {

/// A set of tools with unique names, in registration order. Fill it once, then share it: the const
/// members are safe to call from any number of threads (invoke blocks; run it on a worker pool).
class ToolRegistry {
 public:
  /// Adds `tool`. Errors: kInvalidArgument for a null tool or an empty name, kAlreadyExists when a tool
  /// of the same name is registered.
  Status add(ToolPtr tool);

  /// What the model is offered, in registration order. Built as tools are added (a turn copies the
  /// names and descriptions and shares the schemas).
  const std::vector<ToolSpec>& specs() const { return specs_; }
  /// Registered names, in registration order.
  std::vector<std::string> names() const;
  /// The tool called `name`, or nullptr.
  const Tool* find(std::string_view name) const;

  /// The message for a call to a tool that is not registered, listing the available ones (for the
  /// model).
  std::string unknownToolMessage(std::string_view name) const;
  /// The arguments object from the JSON text the model produced for tool `name` (blank text means
  /// `{}`). Errors: kInvalidArgument, with a message for the model, when it is not a JSON object.
  static Result<json::object> parseArguments(std::string_view name, std::string_view argumentsJson);

  /// Runs the tool called `name`. Errors: kNotFound (message lists the available tools) when there is
  /// none; otherwise whatever the tool returns.
  Result<std::string> invoke(std::string_view name, const json::object& args, const ToolContext& ctx) const;

  /// invoke() with the arguments as the JSON text the model produced (ToolCall::argumentsJson). Empty
  /// or blank text means `{}`. Errors: kInvalidArgument when the text is not a JSON object.
  Result<std::string> invokeJson(std::string_view name, std::string_view argumentsJson, const ToolContext& ctx) const;

 private:
  std::vector<ToolPtr> tools_;
  std::vector<ToolSpec> specs_;  // one per tool, same order
};

/// Registers every built-in tool (the table in builtin_tools.cpp: today the workspace file tools read,
/// write, edit, ls of file_tools.h). A new tool is its own file plus one line in that table.
Status registerBuiltinTools(ToolRegistry& registry);

}  // namespace talon::gateway::tools
