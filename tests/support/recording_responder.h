#pragma once
// An RpcResponder that records every answer, for tests that run methods through
// MethodRegistry::dispatch without a WebSocket. Thread-safe: handlers may answer from any thread.
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "gateway/methods/method_registry.h"

namespace talon::testing {

/// One answer as a handler gave it.
struct RecordedAnswer {
  std::string id;
  bool ok = false;
  /// The payload (parsed), or null when the answer had none.
  json::value payload;
  /// Set for ok:false.
  std::optional<Error> error;
};

class RecordingResponder final : public gateway::methods::RpcResponder {
 public:
  void respondOk(std::string_view id, std::string_view payloadJson) override;
  void respondError(std::string_view id, const Error& error, std::optional<std::string_view> payloadJson = {}) override;
  void subscribeSession(const std::string& sessionKey) override;

  /// Answers so far, in order (a copy).
  std::vector<RecordedAnswer> answers() const;
  /// The answers to request `id`, in order.
  std::vector<RecordedAnswer> answersTo(std::string_view id) const;
  /// Session keys subscribed by handlers.
  std::set<std::string> sessions() const;

 private:
  mutable std::mutex mu_;
  std::vector<RecordedAnswer> answers_;
  std::set<std::string> sessions_;
};

}  // namespace talon::testing
