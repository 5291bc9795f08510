#pragma once
// The built-in RPC methods registered over GatewayComponents, called as a connection calls them
// (MethodRegistry::dispatch, after authorization) with a RecordingResponder, for handler tests without
// a WebSocket. Thread rules: as GatewayComponents (the test thread runs every task).
#include <string>
#include <string_view>

#include "base/json.h"
#include "gateway/methods/method_registry.h"
#include "support/gateway_components.h"
#include "support/recording_responder.h"

namespace talon::testing {

class MethodHarness {
 public:
  /// Registers every built-in family over `components` (which outlive the harness). A registration
  /// error is a gtest failure and leaves ok() false.
  explicit MethodHarness(GatewayComponents& components);

  bool ok() const { return registered_; }
  const gateway::methods::MethodRegistry& registry() const { return registry_; }
  /// Sends request `method` with `params` (null: absent) under a fresh id, and runs tasks until its
  /// first answer. Fails the test (and returns an ok:false answer with kInternal) when the method is not
  /// registered or no answer comes. `caller` is who the connection says sent it (client, operator token
  /// and its role's agents).
  RecordedAnswer call(std::string_view method, json::value params = nullptr,
                      gateway::methods::MethodCaller caller = {});
  /// Like call(), but returns the id at once without running tasks (for a request whose answer waits).
  std::string send(std::string_view method, json::value params = nullptr, gateway::methods::MethodCaller caller = {});
  /// Runs tasks until request `id` has `n` answers; returns them. Fails the test when they do not come.
  std::vector<RecordedAnswer> awaitAnswers(const std::string& id, std::size_t n = 1);

  RecordingResponder& responder() { return *responder_; }
  std::shared_ptr<RecordingResponder> responderPtr() const { return responder_; }

 private:
  GatewayComponents& components_;
  gateway::methods::MethodRegistry registry_;
  std::shared_ptr<RecordingResponder> responder_ = std::make_shared<RecordingResponder>();
  bool registered_ = false;
  int nextId_ = 1;
};

}  // namespace talon::testing
