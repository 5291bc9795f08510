#pragma once
// Closes the connections of named operator tokens that stopped being valid. `talon tokens revoke`
// writes the state dir's database directly (it works with or without a running gateway), so the
// gateway learns of a revocation by looking: every kCheckIntervalMs it looks up each operator token an
// open connection authenticated with, and closes the connections of one that is revoked, expired or
// gone with 4001 (kCloseCredentialRevoked, OpenClaw's close code for a credential taken away), audited
// as connection.close. A revoked token is thus refused at the next connect at once and its open
// connections end within kCheckIntervalMs.
#include <cstdint>
#include <memory>

#include "base/clock.h"
#include "gateway/executors.h"
#include "gateway/gateway_services.h"
#include "security/audit_sink.h"
#include "store/store.h"

namespace talon::gateway {

class OperatorTokenWatch {
 public:
  /// Time between checks, ms.
  static constexpr int64_t kCheckIntervalMs = 5'000;

  /// Every referenced object must outlive the watch.
  OperatorTokenWatch(store::Store& store, PresenceRegistry& presence, security::AuditSink& audit, Executors executors,
                     ClockPtr clock);
  ~OperatorTokenWatch();
  OperatorTokenWatch(const OperatorTokenWatch&) = delete;
  OperatorTokenWatch& operator=(const OperatorTokenWatch&) = delete;

  /// Schedules the checks (the first after kCheckIntervalMs), each on the blocking pool. Idempotent.
  void start();
  /// Cancels the next check. Idempotent; thread-safe.
  void stop();
  /// One check now, on the caller's thread (it reads the store). Returns the connections closed. A
  /// token that cannot be read is logged and left alone until the next check.
  std::size_t checkNow();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace talon::gateway
