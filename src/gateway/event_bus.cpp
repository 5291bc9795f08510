#include "gateway/event_bus.h"

#include <algorithm>
#include <mutex>

namespace talon::gateway {
namespace {
void eraseId(std::vector<uint64_t>& ids, uint64_t id) { ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end()); }
}  // namespace

uint64_t EventBus::subscribe(Subscriber subscriber, Interest interest) {
  std::unique_lock lock(mutex_);
  uint64_t id = nextId_++;
  subscribers_.emplace(id, Entry{std::move(subscriber), interest, {}});
  if (interest == Interest::kEverySession) everySession_.push_back(id);
  return id;
}

void EventBus::joinSession(uint64_t id, const std::string& sessionKey) {
  std::unique_lock lock(mutex_);
  auto it = subscribers_.find(id);
  if (it == subscribers_.end() || it->second.interest == Interest::kEverySession) return;
  if (!it->second.sessions.insert(sessionKey).second) return;
  bySession_[sessionKey].push_back(id);
}

void EventBus::unsubscribe(uint64_t id) {
  std::unique_lock lock(mutex_);
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  for (const auto& key : it->second.sessions) {
    auto s = bySession_.find(key);
    if (s == bySession_.end()) continue;
    eraseId(s->second, id);
    if (s->second.empty()) bySession_.erase(s);
  }
  if (it->second.interest == Interest::kEverySession) eraseId(everySession_, id);
  subscribers_.erase(it);
}

void EventBus::publish(const GatewayEvent& event) const {
  std::shared_lock lock(mutex_);
  if (event.sessionKey.empty()) {
    for (const auto& [id, entry] : subscribers_) entry.fn(event);
    return;
  }
  for (auto id : everySession_) subscribers_.at(id).fn(event);
  auto s = bySession_.find(event.sessionKey);
  if (s == bySession_.end()) return;
  for (auto id : s->second) subscribers_.at(id).fn(event);
}

std::size_t EventBus::subscriberCount() const {
  std::shared_lock lock(mutex_);
  return subscribers_.size();
}

}  // namespace talon::gateway
