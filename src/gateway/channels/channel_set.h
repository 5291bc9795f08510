#pragma once
// The channels the gateway runs, by channel id: "<provider>:<accountId>" for each account the
// ChannelManager created (docs/channels.md "Channel ids"); "<provider>" alone names the channel's default
// account. Filled at start-up, then changed only by the channel runtime (channels.start / channels.logout
// and live config reload, docs/channels.md "Lifecycle"). Every member is thread-safe.
//
// A channel that leaves the set (remove(), or add() under an id already taken) is retired, not destroyed:
// it lives until the set does, so a Channel* that find() handed out earlier (an outbound delivery in
// flight, an inbound route) never dangles. The channel runtime stops a channel before it retires it; a
// retired channel answers sends with its stopped-channel error.
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/channels/channel.h"

namespace talon::gateway::channels {

class ChannelSet {
 public:
  /// Adds `channel` under `id`; a channel already under `id` is retired (see above).
  void add(std::string id, ChannelPtr channel) {
    std::unique_lock lock(mu_);
    auto& slot = channels_[std::move(id)];
    if (slot) retired_.push_back(std::move(slot));
    slot = std::move(channel);
  }
  /// Retires the channel under `id` (see above); nothing when there is none.
  void remove(std::string_view id) {
    std::unique_lock lock(mu_);
    auto it = channels_.find(id);
    if (it == channels_.end()) return;
    retired_.push_back(std::move(it->second));
    channels_.erase(it);
  }
  /// Makes `provider` alone name the channel `id` (the provider's default account).
  void setDefault(std::string provider, std::string id) {
    std::unique_lock lock(mu_);
    defaults_[std::move(provider)] = std::move(id);
  }
  /// `provider` alone names nothing any more.
  void clearDefault(std::string_view provider) {
    std::unique_lock lock(mu_);
    if (auto it = defaults_.find(provider); it != defaults_.end()) defaults_.erase(it);
  }
  /// The channel called `id` — an exact id, or a provider naming its default account — or nullptr.
  Channel* find(std::string_view id) const {
    std::shared_lock lock(mu_);
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
    std::shared_lock lock(mu_);
    std::vector<Entry> out;
    for (const auto& [id, c] : channels_) out.push_back(Entry{id, std::string(c->provider()), c->health()});
    return out;
  }
  /// Stops every channel in the set (shutdown; retired ones were stopped when they left).
  void stopAll() {
    std::vector<Channel*> all;
    {
      std::shared_lock lock(mu_);
      for (auto& [id, c] : channels_) all.push_back(c.get());
    }
    for (Channel* c : all) c->stop();
  }

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, ChannelPtr, std::less<>> channels_;
  std::map<std::string, std::string, std::less<>> defaults_;  // provider -> id of its default account
  std::vector<ChannelPtr> retired_;
};

}  // namespace talon::gateway::channels
