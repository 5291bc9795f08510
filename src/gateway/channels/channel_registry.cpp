#include "gateway/channels/channel_registry.h"

namespace talon::gateway::channels {

std::string_view channelStateName(ChannelHealth::State state) {
  switch (state) {
    case ChannelHealth::State::kStarting:
      return "starting";
    case ChannelHealth::State::kConnected:
      return "connected";
    case ChannelHealth::State::kDegraded:
      return "degraded";
    case ChannelHealth::State::kDisconnected:
      return "disconnected";
    case ChannelHealth::State::kStopped:
      return "stopped";
  }
  return "stopped";
}

Status ChannelRegistry::add(std::string provider, ChannelFactory factory) {
  if (provider.empty() || !factory)
    return fail(ErrorCode::kInvalidArgument, "a channel needs a provider and a factory");
  if (!factories_.emplace(provider, std::move(factory)).second) {
    return fail(ErrorCode::kAlreadyExists, "channel " + provider + " is registered twice");
  }
  return {};
}

Result<ChannelPtr> ChannelRegistry::create(std::string_view provider, const ChannelContext& context) const {
  auto it = factories_.find(provider);
  if (it == factories_.end()) return fail(notSupportedYet("channel \"" + std::string(provider) + "\""));
  return it->second(context);
}

std::vector<std::string> ChannelRegistry::providers() const {
  std::vector<std::string> out;
  for (const auto& [name, f] : factories_) out.push_back(name);
  return out;
}

}  // namespace talon::gateway::channels
