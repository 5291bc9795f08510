#pragma once
// The gateway's event bus: every step of a run, health change and presence change is published here;
// WebSocket connections (and later metrics, the run ledger and the audit log) are subscribers.
//
// Delivery is proportional to the interested subscribers, not to all of them: an event about a session
// (non-empty sessionKey) reaches the subscribers registered for that session plus those that take every
// event; a gateway-wide event (tick, health, presence, shutdown) reaches every subscriber.
//
// A subscriber follows at most kMaxSessionsPerSubscriber sessions: joining one more drops the one whose
// last event or join is the oldest, so a connection that sends to ever new session keys holds a bounded
// amount of the bus (it joins a session again with its next chat.send or chat.history there).
//
// Thread rules: every member may be called from any thread. Subscriber callbacks run on the publishing
// thread, must not block and must not call back into the bus.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
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

  /// Sessions one subscriber follows at most (see the file comment).
  static constexpr std::size_t kMaxSessionsPerSubscriber = 256;

  /// What a subscriber receives besides gateway-wide events.
  enum class Interest {
    kSessionsJoined,  // events of the sessions joined with joinSession()
    kEverySession,    // events of every session (metrics, ledgers, tests)
  };

  /// Registers a subscriber; returns its id for joinSession() and unsubscribe().
  uint64_t subscribe(Subscriber subscriber, Interest interest = Interest::kSessionsJoined);
  /// From now on, events of `sessionKey` reach subscriber `id`. Idempotent; unknown ids are ignored.
  /// When the subscriber already follows kMaxSessionsPerSubscriber other sessions, it stops following
  /// the one least recently joined or published to.
  void joinSession(uint64_t id, const std::string& sessionKey);
  /// Removes the subscriber and its session memberships.
  void unsubscribe(uint64_t id);
  /// Delivers `event` to the interested subscribers, synchronously.
  void publish(const GatewayEvent& event) const;
  /// Number of subscribers (for status output).
  std::size_t subscriberCount() const;
  /// Sessions subscriber `id` follows now (0 for an unknown id). For tests and status output.
  std::size_t joinedSessionCount(uint64_t id) const;

 private:
  struct Entry;
  /// One subscriber following one session. `lastActive` is a value of activity_ at its last join or
  /// event (written under the shared lock, hence atomic).
  struct Member {
    Entry* entry;
    uint64_t id;
    mutable std::atomic<uint64_t> lastActive;
  };
  struct Entry {
    Subscriber fn;
    Interest interest;
    /// Followed sessions; the key lives in bySession_ (node-based: stable addresses).
    std::unordered_map<std::string_view, std::unique_ptr<Member>> sessions;
  };
  void leaveSessionLocked(Entry& entry, std::string_view sessionKey);

  mutable std::shared_mutex mutex_;
  uint64_t nextId_ = 1;
  mutable std::atomic<uint64_t> activity_{0};
  std::unordered_map<uint64_t, Entry> subscribers_;
  std::vector<uint64_t> everySession_;
  std::unordered_map<std::string, std::vector<const Member*>> bySession_;
};

}  // namespace talon::gateway
