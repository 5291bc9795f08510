#pragma once
// The gateway's event bus: every step of a run, health change and presence change is published here;
// WebSocket connections (and later metrics, the run ledger and the audit log) are subscribers.
//
// Delivery is proportional to the interested subscribers, not to all of them: an event about a session
// (non-empty sessionKey) reaches the subscribers registered for that session plus those that take every
// event; a gateway-wide event (tick, health, presence, shutdown) reaches every subscriber.
//
// Thread rules: every member may be called from any thread. Subscriber callbacks run on the publishing
// thread, must not block and must not call back into the bus.
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace talon::gateway {

/// One published event. `payloadJson` is the serialized payload (serialized once, sent to many).
struct GatewayEvent {
  std::string name;        // protocol event name: "chat", "agent", "health", "presence", "tick", ...
  std::string sessionKey;  // the session the event concerns; empty for gateway-wide events
  std::string runId;       // empty when not about a run
  std::shared_ptr<const std::string> payloadJson;
};

class EventBus {
 public:
  using Subscriber = std::function<void(const GatewayEvent&)>;

  /// What a subscriber receives besides gateway-wide events.
  enum class Interest {
    kSessionsJoined,  // events of the sessions joined with joinSession()
    kEverySession,    // events of every session (metrics, ledgers, tests)
  };

  /// Registers a subscriber; returns its id for joinSession() and unsubscribe().
  uint64_t subscribe(Subscriber subscriber, Interest interest = Interest::kSessionsJoined);
  /// From now on, events of `sessionKey` reach subscriber `id`. Idempotent; unknown ids are ignored.
  void joinSession(uint64_t id, const std::string& sessionKey);
  /// Removes the subscriber and its session memberships.
  void unsubscribe(uint64_t id);
  /// Delivers `event` to the interested subscribers, synchronously.
  void publish(const GatewayEvent& event) const;
  /// Number of subscribers (for status output).
  std::size_t subscriberCount() const;

 private:
  struct Entry {
    Subscriber fn;
    Interest interest;
    std::unordered_set<std::string> sessions;
  };
  mutable std::shared_mutex mutex_;
  uint64_t nextId_ = 1;
  std::unordered_map<uint64_t, Entry> subscribers_;
  std::vector<uint64_t> everySession_;
  std::unordered_map<std::string, std::vector<uint64_t>> bySession_;
};

}  // namespace talon::gateway
