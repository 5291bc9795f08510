#pragma once
// The ToolGate: the step between a model's tool call and the tool (ARCHITECTURE.md "The path of a
// message", step 5). A turn asks the gate about each call; the gate applies its policy and, when the
// policy wants a human (or another system) to approve, answers later. The turn pauses meanwhile and
// holds no thread: the answer resumes it.
//
// Order in a turn: arguments parsed and the tool looked up (a bad call never reaches the gate) →
// ToolGate::check → on allow, the tool runs on the tool pool (Executors::runTool) → ToolOutcome.
#include <functional>
#include <memory>
#include <string>

#include "base/json.h"

namespace talon::gateway::tools {

/// What the gate decides on. Plain data, valid for the duration of check() (copy what is kept).
struct ToolRequest {
  std::string runId;
  std::string sessionKey;
  std::string agentId;
  std::string toolCallId;  // the model's id for this call
  std::string toolName;    // a registered tool
  json::object arguments;  // the parsed arguments object
};

/// The gate's answer.
struct GateDecision {
  bool allow = true;
  /// Why a call is denied, written for the model (it becomes the tool result, kind "denied").
  std::string reason;

  static GateDecision allowed() { return GateDecision{true, {}}; }
  static GateDecision denied(std::string reason) { return GateDecision{false, std::move(reason)}; }
};

/// A decision still pending (an approval). cancel() withdraws it: the turn was aborted or timed out and
/// will ignore any later answer; the gate should drop the request (e.g. retract an approval prompt).
/// Thread-safe; idempotent.
class PendingDecision {
 public:
  virtual ~PendingDecision() = default;
  virtual void cancel() = 0;
};
using PendingDecisionPtr = std::shared_ptr<PendingDecision>;

/// Decides whether a tool call may run. Implementations are shared by all turns and thread-safe.
class ToolGate {
 public:
  virtual ~ToolGate() = default;
  /// Asks about `request`. The gate calls `decide` exactly once: before check() returns when its
  /// policy answers at once, or later from any thread (an approval). It returns a handle for a pending
  /// decision, or nullptr when it has already decided. `decide` must not be called while the gate holds
  /// a lock the turn could need: it resumes the turn on the calling thread (cheap: the tool itself is
  /// posted to the tool pool).
  virtual PendingDecisionPtr check(const ToolRequest& request, std::function<void(GateDecision)> decide) = 0;
};
using ToolGatePtr = std::shared_ptr<ToolGate>;

/// The default gate: every call is allowed at once.
class AllowAllToolGate final : public ToolGate {
 public:
  PendingDecisionPtr check(const ToolRequest& request, std::function<void(GateDecision)> decide) override;
};

}  // namespace talon::gateway::tools
