#include "support/fake_model_provider.h"

namespace talon::testing {

FakeCall::FakeCall(gateway::ModelRequest request, gateway::ModelStreamHandlers handlers)
    : request(std::move(request)), handlers_(std::move(handlers)) {}

void FakeCall::cancel() {
  cancelled = true;
  if (!completed) complete(fail(ErrorCode::kCancelled, "call cancelled"));
}

void FakeCall::delta(std::string_view piece) {
  if (handlers_.onTextDelta) handlers_.onTextDelta(piece);
}

void FakeCall::complete(Result<gateway::ModelResponse> result) {
  if (completed) return;
  completed = true;
  // Like a real provider (openai_provider.cpp), the handlers are released once the call completed: they
  // hold the turn, and the provider keeps its calls for the test, so keeping them would tie the turn, its
  // runner and this provider in a cycle that nothing frees.
  auto onComplete = std::move(handlers_.onComplete);
  handlers_ = {};
  onComplete(std::move(result));
}

void FakeCall::answer(std::string text) {
  gateway::ModelResponse r;
  r.text = std::move(text);
  r.finishReason = "stop";
  r.usage = {10, 5};
  complete(std::move(r));
}

void FakeCall::callTools(std::vector<gateway::ToolCall> calls) {
  gateway::ModelResponse r;
  r.toolCalls = std::move(calls);
  r.finishReason = "tool_calls";
  complete(std::move(r));
}

gateway::ModelCallPtr FakeModelProvider::stream(gateway::ModelRequest request, gateway::ModelStreamHandlers handlers) {
  auto call = std::make_shared<FakeCall>(std::move(request), std::move(handlers));
  std::lock_guard lock(mu_);
  calls_.push_back(call);
  return call;
}

std::size_t FakeModelProvider::count() const {
  std::lock_guard lock(mu_);
  return calls_.size();
}

std::shared_ptr<FakeCall> FakeModelProvider::call(std::size_t i) const {
  std::lock_guard lock(mu_);
  return calls_.at(i);
}

}  // namespace talon::testing
