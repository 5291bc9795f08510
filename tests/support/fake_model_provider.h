#pragma once
// A model provider the test drives by hand, for the gateway core's unit tests: every stream() call is
// recorded as a FakeCall, and nothing happens until the test streams deltas into it and completes it
// (answer, tool calls or an error). A call the test never completes "hangs", as a stuck model would.
//
// Thread rules: stream() may be called from any thread; the test drives the calls from its own thread
// (with tests/support/manual_executors.h that is the thread every turn step runs on).
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "gateway/providers/model_provider.h"

namespace talon::testing {

/// One model call: the test streams deltas into it and completes it. The first completion wins; later
/// ones and deltas after it are ignored (the handlers are released at completion, as a real provider
/// releases them).
class FakeCall final : public gateway::ModelCall {
 public:
  FakeCall(gateway::ModelRequest request, gateway::ModelStreamHandlers handlers);

  /// Like a real provider: a cancelled call still completes, with kCancelled (the turn must ignore it).
  void cancel() override;
  /// Streams one text piece.
  void delta(std::string_view piece);
  /// Completes the call with `result` (a response or an error such as kUpstream).
  void complete(Result<gateway::ModelResponse> result);
  /// Completes with the answer `text` (finish reason "stop", usage 10 in / 5 out).
  void answer(std::string text);
  /// Completes with tool calls (finish reason "tool_calls").
  void callTools(std::vector<gateway::ToolCall> calls);

  gateway::ModelRequest request;  // what the runner asked for
  bool cancelled = false;
  bool completed = false;

 private:
  gateway::ModelStreamHandlers handlers_;
};

/// A provider whose calls the test completes. Its id is "fake" unless given.
class FakeModelProvider final : public gateway::ModelProvider {
 public:
  explicit FakeModelProvider(std::string id = "fake") : id_(std::move(id)) {}
  const std::string& id() const override { return id_; }
  gateway::ModelCallPtr stream(gateway::ModelRequest request, gateway::ModelStreamHandlers handlers) override;
  /// Calls made so far.
  std::size_t count() const;
  /// The i-th call (0-based). Throws std::out_of_range past count().
  std::shared_ptr<FakeCall> call(std::size_t i) const;

 private:
  std::string id_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<FakeCall>> calls_;
};

}  // namespace talon::testing
