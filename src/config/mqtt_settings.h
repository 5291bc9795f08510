#pragma once
// The MQTT channel's setting formats (Talon's own channel `channels.mqtt`, docs/channels.md "MQTT"), as
// pure checks shared by the config section (which reports file:line, config/sections/channel_transports.cpp)
// and the adapter (gateway/channels/mqtt/mqtt_channel.h, which reads the values). Topic syntax: MQTT
// 3.1.1 §4.7 and MQTT 5.0 §4.7 (levels split by '/', '+' a whole level, '#' a whole last level, no NUL,
// at most 65,535 bytes). Pure functions: no sockets, thread-safe.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/expected.h"
#include "base/json.h"

namespace talon::config {

/// Where an MQTT broker is: `url` is `mqtt://host[:port]` (TCP, default port 1883) or
/// `mqtts://host[:port]` (TLS, default port 8883).
struct MqttUrl {
  std::string host;
  uint16_t port = 1883;
  bool tls = false;
};

/// Parses `url`. Errors: kConfigInvalid for another scheme, a missing host, a port outside 1–65535, or a
/// path, query, fragment or user info (credentials go in `username` / `password`).
Result<MqttUrl> parseMqttUrl(std::string_view url);

/// A topic filter a client may subscribe to ("a/+/c", "a/#", "#").
bool isMqttTopicFilter(std::string_view filter);
/// A topic name a client may publish to: a filter without wildcards, and not empty.
bool isMqttTopicName(std::string_view topic);

/// Whether a topic filter matches a topic name (MQTT §4.7; topics starting with '$' are not matched by
/// a filter starting with a wildcard).
bool mqttTopicMatches(std::string_view filter, std::string_view topic);

/// Which conversation (session) an inbound MQTT message belongs to.
enum class MqttSessionBy {
  kSender,  // "sender": a direct conversation with the sender (peer {direct, <sender>})
  kTopic,   // "topic": a group conversation per topic (peer {group, <topic>}), the sender a member of it
};

/// One entry of `subscriptions`: `{topic, qos?, senderLevel?, session?}`.
struct MqttSubscription {
  std::string topic;                               // `topic`: the filter subscribed to (required)
  std::optional<int> qos;                          // `qos`: 0, 1 or 2; unset = the account's `qos`
  std::optional<int> senderLevel;                  // `senderLevel`: the 0-based topic level that names the sender
  MqttSessionBy session = MqttSessionBy::kSender;  // `session`: "sender" (default) | "topic"
};

/// A problem with one entry of `subscriptions`: its index, the member at fault ("" = the entry itself)
/// and what is wrong.
struct MqttSubscriptionError {
  std::size_t index = 0;
  std::string member;
  std::string message;
};

/// Parses the `subscriptions` array. Errors: an entry that is not an object, an unknown member, a
/// missing or invalid `topic` filter, a `qos` outside 0–2, a negative `senderLevel` or one past the
/// filter's levels when the filter has no '#', or a `session` other than "sender" / "topic". (An entry
/// without `senderLevel` is valid: the payload's `from` may name the sender.)
Expected<std::vector<MqttSubscription>, MqttSubscriptionError> parseMqttSubscriptions(const json::value& value);

/// The placeholder of `replyTopic` that stands for the reply's peer id.
inline constexpr std::string_view kMqttPeerPlaceholder = "{peer}";

/// `replyTopic` with every `{peer}` replaced by `peerId`.
std::string expandMqttReplyTopic(std::string_view replyTopic, std::string_view peerId);

/// Checks a `replyTopic` template: a valid topic name once `{peer}` is filled in, with no other '{…}'
/// placeholder. Errors: kConfigInvalid.
Status checkMqttReplyTopic(std::string_view replyTopic);

}  // namespace talon::config
