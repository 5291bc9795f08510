#include "gateway/tools/file_tools.h"
#include "gateway/tools/tool_registry.h"

namespace talon::gateway::tools {

namespace {
/// The built-in tools, one line each (each tool declares its name and JSON schema itself).
constexpr ToolPtr (*kTools[])() = {
    makeReadTool,
    makeWriteTool,
    makeEditTool,
    makeLsTool,
};
}  // namespace

Status registerBuiltinTools(ToolRegistry& registry) {
  for (auto make : kTools) {
    if (auto s = registry.add(make()); !s) return s;
  }
  return {};
}

}  // namespace talon::gateway::tools
