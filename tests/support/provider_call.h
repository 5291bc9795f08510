#pragma once
// Runs one ModelProvider call to completion in a test, with a guard against hangs (header-only; used
// with scripted_peer.h by the provider tests of every API).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <utility>

#include "gateway/providers/model_provider.h"

namespace talon::testing {

/// What a call produced: the streamed text and the outcome.
struct ProviderCallResult {
  std::string deltas;
  Result<gateway::ModelResponse> result = fail(ErrorCode::kInternal, "no result");
};

/// Upper bound for one call; reaching it fails the test instead of hanging the suite.
inline constexpr auto kProviderCallGuard = std::chrono::seconds(30);

/// Calls provider.stream(request) and waits for onComplete. `started` runs with the handle right after
/// stream() (e.g. to cancel).
inline ProviderCallResult runProviderCall(gateway::ModelProvider& provider, gateway::ModelRequest request,
                                          const std::function<void(const gateway::ModelCallPtr&)>& started = {}) {
  auto state = std::make_shared<std::pair<std::promise<void>, ProviderCallResult>>();
  auto done = state->first.get_future();
  gateway::ModelStreamHandlers h;
  h.onTextDelta = [state](std::string_view d) { state->second.deltas.append(d); };
  h.onComplete = [state](Result<gateway::ModelResponse> res) {
    state->second.result = std::move(res);
    state->first.set_value();
  };
  auto handle = provider.stream(std::move(request), std::move(h));
  if (started) started(handle);
  if (done.wait_for(kProviderCallGuard) != std::future_status::ready) {
    ADD_FAILURE() << "the call did not complete";
    handle->cancel();
    done.wait();
  }
  return state->second;
}

}  // namespace talon::testing
