#pragma once
// An AuditSink that keeps every event in memory, for tests that check what was audited.
// Thread-safe: record() may be called from any thread.
#include <mutex>
#include <string_view>
#include <vector>

#include "security/audit_sink.h"

namespace talon::testing {

class RecordingAuditSink final : public security::AuditSink {
 public:
  void record(security::AuditEvent event) override {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }
  /// A copy of the events recorded so far, in order.
  std::vector<security::AuditEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  /// The events of one kind, in order.
  std::vector<security::AuditEvent> ofKind(std::string_view kind) const {
    std::lock_guard lock(mutex_);
    std::vector<security::AuditEvent> out;
    for (const auto& e : events_)
      if (e.kind == kind) out.push_back(e);
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<security::AuditEvent> events_;
};

}  // namespace talon::testing
