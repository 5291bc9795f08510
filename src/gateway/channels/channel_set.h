#pragma once
// The channels the gateway runs, by channel id: "<provider>:<accountId>" for each account the
// ChannelManager created (docs/channels.md "Channel ids"); "<provider>" alone names the channel's default
// account. Filled at start-up before any message flows, then only read: find() and snapshot() are
// thread-safe.
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
  /// Makes `provider` alone name the channel `id` (the provider's default account). Start-up only.
  void setDefault(std::string provider, std::string id) { defaults_[std::move(provider)] = std::move(id); }
  /// The channel called `id` — an exact id, or a provider naming its default account — or nullptr.
  Channel* find(std::string_view id) const {
    auto it = channels_.find(id);
    if (it != channels_.end()) return it->second.get();
    auto d = defaults_.find(id);
    if (d == defaults_.end()) return nullptr;
    it = channels_.find(d->second);
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
  std::map<std::string, std::string, std::less<>> defaults_;  // provider -> id of its default account
};

}  // namespace talon::gateway::channels
