#include "gateway/channels/channel_registry.h"
#include "gateway/channels/email/email_channel.h"
#include "gateway/channels/irc/irc_channel.h"
#include "gateway/channels/loopback_channel.h"
#include "gateway/channels/mqtt/mqtt_channel.h"
#include "gateway/channels/telegram/telegram_channel.h"
#include "gateway/channels/xmpp/xmpp_channel.h"

namespace talon::gateway::channels {

namespace {
Result<ChannelPtr> createLoopback(const ChannelContext& context) {
  return ChannelPtr(std::make_unique<LoopbackChannel>(context.accountId, context.clock));
}

struct BuiltinChannel {
  const char* provider;
  Result<ChannelPtr> (*factory)(const ChannelContext&);
};

/// The channel adapters, one line each.
constexpr BuiltinChannel kChannels[] = {
    {"loopback", createLoopback},       {"irc", IrcChannel::fromContext},     {"telegram", createTelegramChannel},
    {"mqtt", MqttChannel::fromContext}, {"email", EmailChannel::fromContext}, {"xmpp", XmppChannel::fromContext},
};
}  // namespace

Status registerBuiltinChannels(ChannelRegistry& registry) {
  for (const auto& c : kChannels) {
    if (auto s = registry.add(c.provider, c.factory); !s) return s;
  }
  return {};
}

}  // namespace talon::gateway::channels
