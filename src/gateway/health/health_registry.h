#pragma once
// The health registry (ARCHITECTURE.md "Seams"): typed health records that components set and that
// /readyz, the `health` RPC and probes read as values (no JSON re-parsing, no polling). Every change
// bumps a version and is offered to subscribers, so a `health` event can be published on change.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"

namespace talon::gateway::health {

/// The state of one health dimension.
enum class HealthState {
  kOk,        // working as configured
  kDegraded,  // working with reduced function (a fallback, retries, one of several accounts down)
  kFailed,    // not working
  kUnknown,   // not checked yet, or the check itself could not run
};

/// "ok", "degraded", "failed", "unknown".
std::string_view healthStateName(HealthState state);
/// The inverse of healthStateName; nullopt for anything else.
std::optional<HealthState> parseHealthState(std::string_view name);

/// One health record: the state of one dimension of one component.
struct HealthRecord {
  /// Who: "store", "provider:openai", "channel:telegram/default", ...
  std::string component;
  /// What about it: "writable", "reachable", "auth", "config", ...
  std::string dimension;
  HealthState state = HealthState::kUnknown;
  /// When `state` began, ms since the epoch (the registry's clock); unchanged while the state holds.
  int64_t sinceMs = 0;
  /// One line for operators (the last error, a count). Never a secret or a credential.
  std::string detail;
  /// A critical record that is failed or unknown makes the gateway not ready (/readyz answers 503).
  bool critical = false;

  bool operator==(const HealthRecord&) const = default;
};

/// What a component reports; the registry stamps `sinceMs`.
struct HealthReport {
  std::string_view component;
  std::string_view dimension;
  HealthState state = HealthState::kUnknown;
  std::string_view detail;
  bool critical = false;
};

/// A consistent copy of every record.
struct HealthSnapshot {
  /// The registry's version when the copy was taken (0: nothing was ever set).
  uint64_t version = 0;
  /// Sorted by (component, dimension).
  std::vector<HealthRecord> records;
};

/// The readiness decision over a set of records.
struct Readiness {
  /// False when a critical record is failed or unknown.
  bool ready = true;
  /// The worst state of all records, critical or not: failed > degraded > unknown > ok; ok when there
  /// are no records.
  HealthState overall = HealthState::kOk;
  /// The critical records that are failed or unknown (why not ready), in snapshot order.
  std::vector<HealthRecord> blocking;
};

/// The readiness decision for `records` (see Readiness). Pure; thread-safe.
Readiness evaluateReadiness(std::span<const HealthRecord> records);

/// One change, as offered to subscribers.
struct HealthChange {
  /// The registry's version after this change (strictly increasing across changes).
  uint64_t version = 0;
  /// The record after the change (for a removal: as it was before).
  HealthRecord record;
  /// The state before the change; nullopt when the record is new.
  std::optional<HealthState> previous;
  bool removed = false;
};

/// Holds the health records of the process.
///
/// Thread rules: every method may be called from any thread at once; one mutex guards the records and
/// is never held while a subscriber runs. Subscribers run synchronously on the thread that made the
/// change, right after it, in the order they subscribed; they should be quick (e.g. post to an
/// executor) and may call any method here, including set() (which re-enters them). Changes made on
/// different threads at once may reach a subscriber out of version order: compare HealthChange::version,
/// or take a snapshot(), when only the latest state matters. unsubscribe() does not wait: a
/// notification already under way (on any thread) may still make one last call.
class HealthRegistry {
 public:
  /// `clock` stamps sinceMs (a SimulatedClock in tests).
  explicit HealthRegistry(ClockPtr clock);
  ~HealthRegistry();
  HealthRegistry(const HealthRegistry&) = delete;
  HealthRegistry& operator=(const HealthRegistry&) = delete;

  /// Sets the record (report.component, report.dimension). A new record, or a change of state, starts
  /// a new `sinceMs` (now); a change of detail or criticality alone keeps it. Returns true, bumps the
  /// version and notifies subscribers when anything changed; returns false (no version, no
  /// notification) when the record was already exactly so.
  bool set(const HealthReport& report);

  /// Removes a record (a channel account removed at reload). Returns false when there was none.
  bool remove(std::string_view component, std::string_view dimension);

  /// The record, or nullopt.
  std::optional<HealthRecord> get(std::string_view component, std::string_view dimension) const;

  /// A copy of every record with the version it reflects.
  HealthSnapshot snapshot() const;

  /// evaluateReadiness over the current records.
  Readiness readiness() const;

  /// The number of changes so far (0: none); cheap (one atomic load), for pollers that want to skip
  /// unchanged state.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  using Subscriber = std::function<void(const HealthChange&)>;
  using SubscriptionId = uint64_t;
  /// Calls `subscriber` after every change from now on. Returns an id for unsubscribe().
  SubscriptionId subscribe(Subscriber subscriber);
  /// Stops calls to the subscriber `id` from changes made after it returns; false when there was none.
  bool unsubscribe(SubscriptionId id);

 private:
  void notify(const HealthChange& change) const;

  ClockPtr clock_;
  mutable std::mutex mu_;
  std::map<std::string, HealthRecord> records_;  // key: component + '\0' + dimension
  std::atomic<uint64_t> version_{0};
  // Copy-on-write list, so notify() can call subscribers without holding mu_.
  using SubscriberList = std::vector<std::pair<SubscriptionId, std::shared_ptr<const Subscriber>>>;
  std::shared_ptr<const SubscriberList> subscribers_ = std::make_shared<const SubscriberList>();
  SubscriptionId nextSubscriptionId_ = 1;
};

}  // namespace talon::gateway::health
