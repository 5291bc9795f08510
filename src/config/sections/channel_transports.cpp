// The channel adapters' transport keys (config/channel_transports.h): one row per adapter.
#include "config/channel_transports.h"

#include <algorithm>

namespace talon::config {

namespace {

constexpr ChannelSettingSpec kCommon[] = {
    {"enabled", ChannelSettingType::kBoolean},
    {"name", ChannelSettingType::kString},
};

/// Talon's in-process channel (tests, the CLI): no transport.
constexpr std::span<const ChannelSettingSpec> kLoopback{};

/// IRC (gateway/channels/irc/irc_channel.h; OpenClaw docs/channels/irc.md). Not yet: the delivery keys
/// (streaming, markdown, replyToMode, ...).
constexpr ChannelSettingSpec kIrc[] = {
    {"host", ChannelSettingType::kString},
    {"port", ChannelSettingType::kInteger},
    {"tls", ChannelSettingType::kBoolean},
    {"nick", ChannelSettingType::kString},
    {"username", ChannelSettingType::kString},
    {"realname", ChannelSettingType::kString},
    {"password", ChannelSettingType::kSecret},
    {"channels", ChannelSettingType::kStringList},
    {"nickserv", ChannelSettingType::kObject},
    {"passwordFile", ChannelSettingType::kString},
    {"textChunkLimit", ChannelSettingType::kInteger},
};

/// Telegram (gateway/channels/telegram/): the bot token inline or from a file, the Bot API root and webhook
/// mode (OpenClaw docs/channels/telegram.md: `botToken`, `tokenFile`, `apiRoot`, `webhookUrl`,
/// `webhookSecret`, `webhookPath`).
constexpr ChannelSettingSpec kTelegram[] = {
    {"botToken", ChannelSettingType::kSecret},      {"tokenFile", ChannelSettingType::kString},
    {"apiRoot", ChannelSettingType::kString},       {"webhookUrl", ChannelSettingType::kString},
    {"webhookSecret", ChannelSettingType::kSecret}, {"webhookPath", ChannelSettingType::kString},
};

/// The table: one line per channel adapter.
constexpr ChannelTransportSpec kTransports[] = {
    {"loopback", kLoopback, true},
    {"irc", kIrc},
    {"telegram", kTelegram},
};

}  // namespace

std::span<const ChannelSettingSpec> commonChannelSettings() { return kCommon; }

std::span<const ChannelTransportSpec> channelTransports() { return kTransports; }

const ChannelTransportSpec* findChannelTransport(std::string_view provider) {
  for (const auto& t : kTransports) {
    if (t.provider == provider) return &t;
  }
  return nullptr;
}

}  // namespace talon::config
