#pragma once
// The channels the gateway runs, by channel id ("<provider>" or "<provider>:<accountId>"). Filled at
// start-up before any message flows, then only read: find() and snapshot() are thread-safe.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/channels/channel.h"

namespace talon::gateway::channels {

class ChannelSet {
 public:
  /// Adds a running channel under `id`. Start-up only (not thread-safe against readers).
  void add(std::string id, ChannelPtr channel) { channels_[std::move(id)] = std::move(channel); }
  /// The channel called `id`, or nullptr.
  Channel* find(std::string_view id) const {
    auto it = channels_.find(id);
    return it == channels_.end() ? nullptr : it->second.get();
  }
  /// Every channel's id, provider and health, in id order.
  struct Entry {
    std::string id;
    std::string provider;
    ChannelHealth health;
  };
  std::vector<Entry> snapshot() const {
    std::vector<Entry> out;
    for (const auto& [id, c] : channels_) out.push_back(Entry{id, std::string(c->provider()), c->health()});
    return out;
  }
  /// Stops every channel (shutdown).
  void stopAll() {
    for (auto& [id, c] : channels_) c->stop();
  }

 private:
  std::map<std::string, ChannelPtr, std::less<>> channels_;
};

}  // namespace talon::gateway::channels
