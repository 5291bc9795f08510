#pragma once
// The seam between an agent turn and the things a model can do: a Tool has a name, a description and a
// JSON Schema for its arguments (what the model is offered), and an invoke() that does the work.
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/json.h"

namespace talon::gateway::tools {

/// What a tool call may know about the turn that made it. Plain data; the referenced flag must outlive
/// the call.
struct ToolContext {
  /// The agent's workspace directory (absolute). File tools are confined to it.
  std::filesystem::path workspaceDir;
  std::string agentId;
  std::string sessionKey;
  /// When non-null and set, the caller asks the tool to stop; long-running tools check it between
  /// steps and fail with kCancelled.
  const std::atomic<bool>* cancelled = nullptr;

  bool isCancelled() const { return cancelled != nullptr && cancelled->load(std::memory_order_relaxed); }
};

/// A built-in tool. Implementations are immutable after construction, so one instance serves
/// concurrent calls from any thread.
class Tool {
 public:
  virtual ~Tool() = default;
  /// The name the model calls it by (OpenClaw's tool names: "read", "write", "edit", "ls", ...).
  virtual std::string_view name() const = 0;
  /// One or two sentences for the model.
  virtual std::string_view description() const = 0;
  /// JSON Schema (draft-07 subset: type object, properties, required) of the arguments object.
  virtual const json::object& parameters() const = 0;
  /// Runs the tool. Blocking (file and process I/O): call it on a worker pool, never on an I/O thread.
  /// Returns the text handed back to the model. Errors are values whose `message` is written for the
  /// model to act on (what went wrong and what to do instead); it names paths only as the model gave
  /// them or relative to the workspace.
  virtual Result<std::string> invoke(const json::object& args, const ToolContext& ctx) const = 0;
  /// Whether a call may change anything outside the call (files, processes, the network). A run replay
  /// (gateway/agent/run_replay.h) runs only tools that answer false and answers the others from the
  /// record. The default is true: a tool is assumed to have side effects until it says otherwise.
  virtual bool sideEffects() const { return true; }
};
using ToolPtr = std::unique_ptr<Tool>;

/// An Error whose internal and external messages are both `text` (tool errors go back to the model,
/// so they are written for it and never carry host paths or secrets).
inline Error toolError(ErrorCode code, std::string text) {
  Error e(code, text, text);
  return e;
}

}  // namespace talon::gateway::tools
