#include "gateway/event_bus.h"

#include <algorithm>
#include <mutex>

namespace talon::gateway {

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
  Entry& entry = it->second;
  const uint64_t now = activity_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (auto joined = entry.sessions.find(sessionKey); joined != entry.sessions.end()) {
    joined->second->lastActive.store(now, std::memory_order_relaxed);
    return;
  }
  if (entry.sessions.size() >= kMaxSessionsPerSubscriber) {
    auto oldest = std::min_element(entry.sessions.begin(), entry.sessions.end(), [](const auto& a, const auto& b) {
      return a.second->lastActive.load(std::memory_order_relaxed) <
             b.second->lastActive.load(std::memory_order_relaxed);
    });
    leaveSessionLocked(entry, oldest->first);
  }
  auto [slot, inserted] = bySession_.try_emplace(sessionKey);
  auto member = std::unique_ptr<Member>(new Member{&entry, id, {now}});
  slot->second.push_back(member.get());
  entry.sessions.emplace(std::string_view(slot->first), std::move(member));
}

void EventBus::leaveSessionLocked(Entry& entry, std::string_view sessionKey) {
  auto joined = entry.sessions.find(sessionKey);
  if (joined == entry.sessions.end()) return;
  const Member* member = joined->second.get();
  // The key's storage is bySession_'s: find the session before anything is erased.
  auto s = bySession_.find(std::string(sessionKey));
  entry.sessions.erase(joined);
  if (s == bySession_.end()) return;
  auto& members = s->second;
  members.erase(std::remove(members.begin(), members.end(), member), members.end());
  if (members.empty()) bySession_.erase(s);
}

void EventBus::unsubscribe(uint64_t id) {
  std::unique_lock lock(mutex_);
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  Entry& entry = it->second;
  while (!entry.sessions.empty()) leaveSessionLocked(entry, entry.sessions.begin()->first);
  if (entry.interest == Interest::kEverySession) {
    everySession_.erase(std::remove(everySession_.begin(), everySession_.end(), id), everySession_.end());
  }
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
  const uint64_t now = activity_.fetch_add(1, std::memory_order_relaxed) + 1;
  for (const Member* member : s->second) {
    member->lastActive.store(now, std::memory_order_relaxed);
    member->entry->fn(event);
  }
}

std::size_t EventBus::subscriberCount() const {
  std::shared_lock lock(mutex_);
  return subscribers_.size();
}

std::size_t EventBus::joinedSessionCount(uint64_t id) const {
  std::shared_lock lock(mutex_);
  auto it = subscribers_.find(id);
  return it == subscribers_.end() ? 0 : it->second.sessions.size();
}

}  // namespace talon::gateway
