#include "security/audit_sink.h"

#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <utility>

namespace talon::security {

const char* auditOutcomeName(AuditOutcome outcome) {
  switch (outcome) {
    case AuditOutcome::kAllowed:
      return "allowed";
    case AuditOutcome::kDenied:
      return "denied";
    case AuditOutcome::kFailed:
      return "failed";
  }
  return "unknown";
}

void LogAuditSink::record(AuditEvent event) {
  const auto level = event.outcome == AuditOutcome::kAllowed ? spdlog::level::info : spdlog::level::warn;
  spdlog::log(level, "audit kind={} actor={} target={} outcome={} details={}", event.kind, event.actor, event.target,
              auditOutcomeName(event.outcome), boost::json::serialize(event.details));
}

void BufferingAuditSink::record(AuditEvent event) {
  std::lock_guard lock(mutex_);
  events_.push_back(std::move(event));
}

std::vector<AuditEvent> BufferingAuditSink::take() {
  std::lock_guard lock(mutex_);
  return std::exchange(events_, {});
}

}  // namespace talon::security
