#pragma once
// The gateway's event bus: every step of a run, health change and presence change is published here;
// WebSocket connections (and later metrics, the run ledger and the audit log) are subscribers.
//
// Thread rules: publish() and subscribe()/unsubscribe() may be called from any thread. Subscriber
// callbacks run on the publishing thread, must not block and must not call back into the bus.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

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

  /// Registers a subscriber; returns its id for unsubscribe().
  uint64_t subscribe(Subscriber subscriber);
  void unsubscribe(uint64_t id);
  /// Delivers `event` to every subscriber, synchronously.
  void publish(const GatewayEvent& event) const;
  /// Number of subscribers (for status output).
  std::size_t subscriberCount() const;

 private:
  mutable std::shared_mutex mutex_;
  uint64_t nextId_ = 1;
  std::unordered_map<uint64_t, Subscriber> subscribers_;
};

}  // namespace talon::gateway
