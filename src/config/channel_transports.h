#pragma once
// The channel transport seam in config (ARCHITECTURE.md "Seams"): besides the access keys every channel
// shares (dmPolicy, allowFrom, groupPolicy, groupAllowFrom, groups — channels_section.cpp), each channel
// adapter has its own transport keys (a bot token, a server and port, a mailbox). An adapter declares them
// as one row of the table in config/sections/channel_transports.cpp; the channels section then type-checks
// those keys and keeps them in ChannelConfig::settings / accountSettings for the adapter's factory, and
// reports every other key as not supported yet, never ignoring it.
#include <span>
#include <string_view>

#include "base/json.h"

namespace talon::config {

class ConfigReader;
struct ConfigNode;

/// The type of one transport setting, as the channels section checks it.
enum class ChannelSettingType {
  kString,      // a string (after `${VAR}` substitution)
  kSecret,      // a SecretInput: a string, `${VAR}`, or a `{source, provider, id}` ref resolved at start
  kInteger,     // an integer (any int64)
  kBoolean,     // true | false
  kStringList,  // an array of strings
  kObject,      // an object, kept as written (the adapter checks its members)
  kArray,       // an array, kept as written (the adapter checks its items)
};

/// An adapter's own check of one setting's value, run after the type check passed: it reports what is
/// wrong through `reader` at `node` (or a node under it), so the error names its file, line and key path.
using ChannelSettingCheck = void (*)(ConfigReader& reader, const ConfigNode& node, const json::value& value);

/// One transport key of a channel (at the channel level and in each `accounts.<id>` object).
struct ChannelSettingSpec {
  std::string_view key;
  ChannelSettingType type;
  ChannelSettingCheck check = nullptr;  // optional: the value's format beyond its type
};

/// A channel adapter's transport keys. `provider` is the channel id under `channels` (OpenClaw's ids:
/// "telegram", "irc", ...; Talon's own: "loopback", "webchat", "mqtt"). For a channel OpenClaw's schema
/// knows, each key must also be one of OpenClaw's key paths for that channel (a test checks it).
struct ChannelTransportSpec {
  std::string_view provider;
  std::span<const ChannelSettingSpec> settings;
  /// True for Talon's own channels, which OpenClaw's schema does not list.
  bool talonOnly = false;
};

/// The keys every channel and account has besides its transport and access keys: `enabled` (boolean,
/// default true) and `name` (a display name). `defaultAccount` (string) applies at the channel level only.
std::span<const ChannelSettingSpec> commonChannelSettings();

/// Every channel adapter's transport keys (the table in config/sections/channel_transports.cpp), in
/// table order.
std::span<const ChannelTransportSpec> channelTransports();

/// The transport spec of `provider`, or nullptr when no adapter exists for it (its transport keys are
/// then not supported).
const ChannelTransportSpec* findChannelTransport(std::string_view provider);

}  // namespace talon::config
