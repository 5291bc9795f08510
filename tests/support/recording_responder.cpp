#include "support/recording_responder.h"

namespace talon::testing {
namespace {
/// The payload text parsed; a payload that is not JSON is kept as a string so a test can show it.
json::value parsed(std::string_view text) {
  auto v = parseJson(text);
  return v ? std::move(*v) : json::value(json::string(text));
}
}  // namespace

void RecordingResponder::respondOk(std::string_view id, std::string_view payloadJson) {
  std::lock_guard lock(mu_);
  answers_.push_back(RecordedAnswer{std::string(id), true, parsed(payloadJson), std::nullopt});
}

void RecordingResponder::respondError(std::string_view id, const Error& error,
                                      std::optional<std::string_view> payloadJson) {
  std::lock_guard lock(mu_);
  answers_.push_back(
      RecordedAnswer{std::string(id), false, payloadJson ? parsed(*payloadJson) : json::value(nullptr), error});
}

void RecordingResponder::subscribeSession(const std::string& sessionKey) {
  std::lock_guard lock(mu_);
  sessions_.insert(sessionKey);
}

std::vector<RecordedAnswer> RecordingResponder::answers() const {
  std::lock_guard lock(mu_);
  return answers_;
}

std::vector<RecordedAnswer> RecordingResponder::answersTo(std::string_view id) const {
  std::lock_guard lock(mu_);
  std::vector<RecordedAnswer> out;
  for (const auto& a : answers_) {
    if (a.id == id) out.push_back(a);
  }
  return out;
}

std::set<std::string> RecordingResponder::sessions() const {
  std::lock_guard lock(mu_);
  return sessions_;
}

}  // namespace talon::testing
