#include "gateway/event_bus.h"

namespace talon::gateway {

uint64_t EventBus::subscribe(Subscriber subscriber) {
  std::unique_lock lock(mutex_);
  uint64_t id = nextId_++;
  subscribers_.emplace(id, std::move(subscriber));
  return id;
}

void EventBus::unsubscribe(uint64_t id) {
  std::unique_lock lock(mutex_);
  subscribers_.erase(id);
}

void EventBus::publish(const GatewayEvent& event) const {
  std::shared_lock lock(mutex_);
  for (const auto& [id, subscriber] : subscribers_) subscriber(event);
}

std::size_t EventBus::subscriberCount() const {
  std::shared_lock lock(mutex_);
  return subscribers_.size();
}

}  // namespace talon::gateway
