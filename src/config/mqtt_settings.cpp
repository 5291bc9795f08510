#include "config/mqtt_settings.h"

#include <charconv>
#include <set>

namespace talon::config {

namespace {

constexpr std::size_t kMaxTopicBytes = 65535;

std::vector<std::string_view> splitLevels(std::string_view topic) {
  std::vector<std::string_view> levels;
  std::size_t start = 0;
  while (true) {
    const auto slash = topic.find('/', start);
    levels.push_back(topic.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return levels;
}

}  // namespace

Result<MqttUrl> parseMqttUrl(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kConfigInvalid, "\"" + std::string(url) + "\" " + std::string(why));
  };
  MqttUrl out;
  std::string_view rest;
  if (url.starts_with("mqtt://")) {
    rest = url.substr(7);
  } else if (url.starts_with("mqtts://")) {
    rest = url.substr(8);
    out.tls = true;
    out.port = 8883;
  } else {
    return bad("is not an MQTT URL (mqtt://host[:port] or mqtts://host[:port])");
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos) return bad("must not have a path, query or fragment");
  if (rest.find('@') != std::string_view::npos) {
    return bad("must not carry credentials (use username and password)");
  }
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("has an unterminated IPv6 address");
    host = rest.substr(1, close - 1);
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("has text after the IPv6 address");
      port = after.substr(1);
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return bad("has no host");
  if (host.find_first_of(" \t\r\n") != std::string_view::npos) return bad("has a space in its host");
  if (!port.empty() || rest.ends_with(':')) {
    int p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p < 1 || p > 65535) {
      return bad("has a port outside 1-65535");
    }
    out.port = static_cast<uint16_t>(p);
  }
  out.host = std::string(host);
  return out;
}

bool isMqttTopicFilter(std::string_view filter) {
  if (filter.empty() || filter.size() > kMaxTopicBytes) return false;
  if (filter.find('\0') != std::string_view::npos) return false;
  const auto levels = splitLevels(filter);
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const auto level = levels[i];
    if (level.find('#') != std::string_view::npos && (level != "#" || i + 1 != levels.size())) return false;
    if (level.find('+') != std::string_view::npos && level != "+") return false;
  }
  return true;
}

bool isMqttTopicName(std::string_view topic) {
  return isMqttTopicFilter(topic) && topic.find_first_of("+#") == std::string_view::npos;
}

bool mqttTopicMatches(std::string_view filter, std::string_view topic) {
  if (!isMqttTopicFilter(filter) || !isMqttTopicName(topic)) return false;
  if (topic.front() == '$' && (filter.front() == '+' || filter.front() == '#')) return false;
  const auto f = splitLevels(filter);
  const auto t = splitLevels(topic);
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] == "#") return true;  // also matches the parent level ("a/#" matches "a")
    if (i >= t.size()) return false;
    if (f[i] != "+" && f[i] != t[i]) return false;
  }
  return f.size() == t.size();
}

Expected<std::vector<MqttSubscription>, MqttSubscriptionError> parseMqttSubscriptions(const json::value& value) {
  using Bad = Unexpected<MqttSubscriptionError>;
  if (!value.is_array()) return Bad({0, "", "must be an array of {topic, qos, senderLevel, session} objects"});
  static const std::set<std::string, std::less<>> kMembers = {"topic", "qos", "senderLevel", "session"};
  std::vector<MqttSubscription> out;
  const auto& items = value.as_array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_object()) return Bad({i, "", "must be an object {topic, qos, senderLevel, session}"});
    const auto& o = items[i].as_object();
    for (const auto& kv : o) {
      if (!kMembers.contains(kv.key())) {
        return Bad({i, std::string(kv.key()), "is not a subscription setting (topic, qos, senderLevel, session)"});
      }
    }
    MqttSubscription sub;
    const auto* topic = o.if_contains("topic");
    if (topic == nullptr) return Bad({i, "topic", "is required (the topic filter to subscribe to)"});
    if (!topic->is_string() || !isMqttTopicFilter(topic->as_string())) {
      return Bad({i, "topic", "must be an MQTT topic filter ('+' and '#' as whole levels, '#' last)"});
    }
    sub.topic = std::string(topic->as_string());
    if (const auto* q = o.if_contains("qos")) {
      if (!q->is_int64() || q->as_int64() < 0 || q->as_int64() > 2) return Bad({i, "qos", "must be 0, 1 or 2"});
      sub.qos = static_cast<int>(q->as_int64());
    }
    if (const auto* l = o.if_contains("senderLevel")) {
      if (!l->is_int64() || l->as_int64() < 0) {
        return Bad({i, "senderLevel", "must be a topic level index (0 is the first level)"});
      }
      const auto levels = splitLevels(sub.topic);
      const bool multi = levels.back() == "#";
      const auto fixed = multi ? levels.size() - 1 : levels.size();
      if (!multi && static_cast<std::size_t>(l->as_int64()) >= fixed) {
        return Bad({i, "senderLevel", "is past the last level of \"" + sub.topic + "\" (levels are counted from 0)"});
      }
      if (static_cast<std::size_t>(l->as_int64()) < fixed && levels[l->as_int64()] != "+") {
        return Bad({i, "senderLevel",
                    "must point at a '+' (or a level under '#') of \"" + sub.topic +
                        "\": a fixed level names the same sender for every message"});
      }
      sub.senderLevel = static_cast<int>(l->as_int64());
    }
    if (const auto* s = o.if_contains("session")) {
      if (s->is_string() && s->as_string() == "sender") {
        sub.session = MqttSessionBy::kSender;
      } else if (s->is_string() && s->as_string() == "topic") {
        sub.session = MqttSessionBy::kTopic;
      } else {
        return Bad({i, "session", "must be \"sender\" or \"topic\""});
      }
    }
    out.push_back(std::move(sub));
  }
  return out;
}

std::string expandMqttReplyTopic(std::string_view replyTopic, std::string_view peerId) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const auto at = replyTopic.find(kMqttPeerPlaceholder, pos);
    if (at == std::string_view::npos) {
      out += replyTopic.substr(pos);
      return out;
    }
    out += replyTopic.substr(pos, at - pos);
    out += peerId;
    pos = at + kMqttPeerPlaceholder.size();
  }
}

Status checkMqttReplyTopic(std::string_view replyTopic) {
  const std::string filled = expandMqttReplyTopic(replyTopic, "peer");
  if (filled.find('{') != std::string::npos || filled.find('}') != std::string::npos) {
    return fail(ErrorCode::kConfigInvalid, "has a placeholder other than {peer}");
  }
  if (!isMqttTopicName(filled)) {
    return fail(ErrorCode::kConfigInvalid, "is not an MQTT topic name (no '+' or '#', not empty)");
  }
  return {};
}

}  // namespace talon::config
