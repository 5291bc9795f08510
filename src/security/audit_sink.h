#pragma once
// The audit seam (ARCHITECTURE.md "Seams", issue 6 "Audit"): every security-relevant decision — auth and
// pairing decisions, token issue/rotate/revoke, config writes, secret reads, approvals, policy decisions —
// is handed to one AuditSink as an AuditEvent. The store-backed hash chain is the durable
// implementation; LogAuditSink writes events as log lines where no chain is available.
#include <boost/json/object.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace talon::security {

/// Whether the audited action happened.
enum class AuditOutcome {
  kAllowed,  // the action was performed / the caller was let in
  kDenied,   // refused by policy, scope or credentials
  kFailed,   // attempted and failed for another reason (I/O, invalid input)
};

/// "allowed" / "denied" / "failed".
const char* auditOutcomeName(AuditOutcome outcome);

/// One audited action. Never carries a secret value: name secrets by ref or id only (tests grep the
/// state dir and logs for canary secret values).
struct AuditEvent {
  /// Stable dotted kind, e.g. "auth.connect", "auth.http", "device.pair.approve", "device.token.rotate",
  /// "operator.token.create", "config.write", "secret.read", "access.dm".
  std::string kind;
  /// Who acted: "operator:<id>", "device:<deviceId>", "cli:<os user>", "channel:<id>:<sender>", "system".
  std::string actor;
  /// What the action was on: a config path, device id, secret name, method name; may be empty.
  std::string target;
  AuditOutcome outcome = AuditOutcome::kAllowed;
  /// Kind-specific detail (a config diff, a reason code, the client address); no secret values.
  boost::json::object details;
};

/// Receives audit events. Implementations are thread-safe: record() may be called from any thread and
/// must not block on the network (it may enqueue a store write). Time is stamped by the sink.
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  /// Records `event`. Never throws; a sink that cannot persist logs the failure and counts it.
  virtual void record(AuditEvent event) = 0;
};
using AuditSinkPtr = std::shared_ptr<AuditSink>;

/// Writes each event as one structured log line (`audit kind=... actor=... outcome=...`) at info level
/// (denied/failed at warn). Not tamper-evident: the store-backed chain is.
class LogAuditSink final : public AuditSink {
 public:
  void record(AuditEvent event) override;
};

/// Keeps events in memory until a durable sink exists — e.g. the secret reads of `gateway run`, made
/// before the gateway's store (and so its audit chain) is open — then hands them over in order with
/// take(). Thread-safe.
class BufferingAuditSink final : public AuditSink {
 public:
  void record(AuditEvent event) override;
  /// The events recorded so far, in order; the buffer is left empty.
  std::vector<AuditEvent> take();

 private:
  std::mutex mutex_;
  std::vector<AuditEvent> events_;
};

}  // namespace talon::security
