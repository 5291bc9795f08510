// The channel adapters' transport keys (config/channel_transports.h): one row per adapter.
#include "config/channel_transports.h"

#include <algorithm>

#include "config/config_reader.h"
#include "config/email_settings.h"
#include "config/mqtt_settings.h"
#include "config/xmpp_settings.h"

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

void checkMqttUrl(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  if (auto u = parseMqttUrl(value.as_string()); !u) r.error(node, DiagnosticCode::kValue, u.error().message);
}
void checkMqttQos(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  if (value.as_int64() < 0 || value.as_int64() > 2) r.error(node, DiagnosticCode::kValue, "must be 0, 1 or 2");
}
void checkMqttKeepalive(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  if (value.as_int64() < 5 || value.as_int64() > 65535) {
    r.error(node, DiagnosticCode::kValue, "must be between 5 and 65535 (seconds)");
  }
}
void checkMqttReplyTopicSetting(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  if (auto s = checkMqttReplyTopic(value.as_string()); !s) r.error(node, DiagnosticCode::kValue, s.error().message);
}
void checkMqttTopicName(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  if (!isMqttTopicName(value.as_string())) {
    r.error(node, DiagnosticCode::kValue, "is not an MQTT topic name (no '+' or '#', not empty)");
  }
}
void checkMqttReplyFormat(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  static constexpr std::string_view kFormats[] = {"text", "json"};
  r.enumeration(node, value, kFormats);
}
void checkMqttSubscriptions(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  auto parsed = parseMqttSubscriptions(value);
  if (parsed) return;
  const auto& e = parsed.error();
  ConfigNode at = r.item(node, e.index);
  if (!e.member.empty()) at = r.child(at, e.member);
  r.error(at, DiagnosticCode::kValue, e.message);
}

void checkEmailImapUrl(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  if (auto u = parseMailServerUrl("imap", value.as_string()); !u) {
    r.error(node, DiagnosticCode::kValue, u.error().message);
  }
}
void checkEmailSmtpUrl(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  if (auto u = parseMailServerUrl("smtp", value.as_string()); !u) {
    r.error(node, DiagnosticCode::kValue, u.error().message);
  }
}
void checkEmailAddress(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  if (!isMailAddress(value.as_string())) {
    r.error(node, DiagnosticCode::kValue, "must be a bare address (name@example.com)");
  }
}
void checkEmailPollSeconds(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  if (value.as_int64() < 1 || value.as_int64() > 3600) {
    r.error(node, DiagnosticCode::kValue, "must be between 1 and 3600 (seconds)");
  }
}

/// MQTT (gateway/channels/mqtt/mqtt_channel.h; Talon's own channel, docs/channels.md "MQTT").
constexpr ChannelSettingSpec kMqtt[] = {
    {"url", ChannelSettingType::kString, checkMqttUrl},
    {"clientId", ChannelSettingType::kString},
    {"username", ChannelSettingType::kString},
    {"password", ChannelSettingType::kSecret},
    {"caFile", ChannelSettingType::kString},
    {"subscriptions", ChannelSettingType::kArray, checkMqttSubscriptions},
    {"replyTopic", ChannelSettingType::kString, checkMqttReplyTopicSetting},
    {"replyFormat", ChannelSettingType::kString, checkMqttReplyFormat},
    {"probeTopic", ChannelSettingType::kString, checkMqttTopicName},
    {"qos", ChannelSettingType::kInteger, checkMqttQos},
    {"keepaliveSeconds", ChannelSettingType::kInteger, checkMqttKeepalive},
};

/// Email (gateway/channels/email/email_channel.h; Talon's own channel — OpenClaw 2026.9.6 has only a
/// receive-only IMAP trigger plugin; docs/channels.md "Email"). Flat keys, so the passwords are secret
/// settings like every other channel's.
constexpr ChannelSettingSpec kEmail[] = {
    {"imapUrl", ChannelSettingType::kString, checkEmailImapUrl},
    {"imapUsername", ChannelSettingType::kString},
    {"imapPassword", ChannelSettingType::kSecret},
    {"mailbox", ChannelSettingType::kString},
    {"pollSeconds", ChannelSettingType::kInteger, checkEmailPollSeconds},
    {"smtpUrl", ChannelSettingType::kString, checkEmailSmtpUrl},
    {"smtpUsername", ChannelSettingType::kString},
    {"smtpPassword", ChannelSettingType::kSecret},
    {"from", ChannelSettingType::kString, checkEmailAddress},
    {"caFile", ChannelSettingType::kString},
    {"allowPlaintext", ChannelSettingType::kBoolean},
    {"idle", ChannelSettingType::kBoolean},
};

void checkXmppJidSetting(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  if (auto j = parseXmppAccountJid(value.as_string()); !j) r.error(node, DiagnosticCode::kValue, j.error().message);
}
void checkXmppPort(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  if (value.as_int64() < 1 || value.as_int64() > 65535) r.error(node, DiagnosticCode::kValue, "must be 1-65535");
}
void checkXmppNickSetting(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  if (auto s = checkXmppNick(value.as_string()); !s) r.error(node, DiagnosticCode::kValue, s.error().message);
}
void checkXmppRooms(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  auto parsed = parseXmppRooms(value);
  if (parsed) return;
  const auto& e = parsed.error();
  ConfigNode at = r.item(node, e.index);
  if (!e.member.empty()) at = r.child(at, e.member);
  r.error(at, DiagnosticCode::kValue, e.message);
}

/// XMPP (gateway/channels/xmpp/xmpp_channel.h; Talon's own channel, docs/channels.md "XMPP"). Whether
/// `allowPlaintext` fits the server (loopback only) is the adapter's check: it needs `server` and `jid`.
constexpr ChannelSettingSpec kXmpp[] = {
    {"jid", ChannelSettingType::kString, checkXmppJidSetting},
    {"password", ChannelSettingType::kSecret},
    {"resource", ChannelSettingType::kString},
    {"server", ChannelSettingType::kString},
    {"port", ChannelSettingType::kInteger, checkXmppPort},
    {"allowPlaintext", ChannelSettingType::kBoolean},
    {"caFile", ChannelSettingType::kString},
    {"nick", ChannelSettingType::kString, checkXmppNickSetting},
    {"rooms", ChannelSettingType::kArray, checkXmppRooms},
};

/// The table: one line per channel adapter.
constexpr ChannelTransportSpec kTransports[] = {
    {"loopback", kLoopback, true}, {"irc", kIrc},           {"telegram", kTelegram},
    {"mqtt", kMqtt, true},         {"email", kEmail, true}, {"xmpp", kXmpp, true},
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
