#include "support/method_harness.h"

#include <gtest/gtest.h>

#include "gateway/methods/builtin_methods.h"

namespace talon::testing {

MethodHarness::MethodHarness(GatewayComponents& components) : components_(components) {
  if (!components_.ok()) {
    ADD_FAILURE() << "the gateway components did not build";
    return;
  }
  auto s = gateway::methods::registerBuiltinMethods(registry_, components_.services());
  if (!s) {
    ADD_FAILURE() << s.error().toString();
    return;
  }
  registered_ = true;
}

std::string MethodHarness::send(std::string_view method, json::value params, gateway::methods::MethodCaller caller) {
  std::string id = std::to_string(nextId_++) + ":" + std::string(method);
  const auto* definition = registry_.find(method);
  if (!definition) {
    ADD_FAILURE() << "method " << method << " is not registered";
    responder_->respondError(id, Error(ErrorCode::kInternal, "not registered"));
    return id;
  }
  protocol::RequestFrame frame;
  frame.id = id;
  frame.method = std::string(method);
  frame.params = std::move(params);
  gateway::methods::MethodRegistry::dispatch(*definition, std::move(frame), responder_,
                                             std::make_shared<const gateway::methods::MethodCaller>(std::move(caller)));
  return id;
}

std::vector<RecordedAnswer> MethodHarness::awaitAnswers(const std::string& id, std::size_t n) {
  bool answered = components_.executors.runUntil([&] { return responder_->answersTo(id).size() >= n; });
  if (!answered) ADD_FAILURE() << "request " << id << " got fewer than " << n << " answers";
  return responder_->answersTo(id);
}

RecordedAnswer MethodHarness::call(std::string_view method, json::value params, gateway::methods::MethodCaller caller) {
  auto id = send(method, std::move(params), std::move(caller));
  auto answers = awaitAnswers(id, 1);
  if (answers.empty()) return RecordedAnswer{id, false, nullptr, Error(ErrorCode::kInternal, "no answer")};
  return answers.front();
}

}  // namespace talon::testing
