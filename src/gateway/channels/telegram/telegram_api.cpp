#include "gateway/channels/telegram/telegram_api.h"

#include <fmt/format.h>

#include <charconv>
#include <cstddef>
#include <vector>

namespace talon::gateway::channels::telegram {

namespace {

std::string asciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// OpenClaw isTelegramMentionWordChar: /[a-z0-9_]/i on one UTF-16 unit. A byte of a multi-byte UTF-8
/// sequence is never one, as a non-ASCII UTF-16 unit never is.
bool isMentionWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/// OpenClaw hasStandaloneTelegramMention, on lower-cased text.
bool hasStandaloneMention(std::string_view text, std::string_view mention) {
  for (std::size_t at = text.find(mention); at != std::string_view::npos; at = text.find(mention, at + 1)) {
    const bool prevWord = at > 0 && isMentionWordChar(text[at - 1]);
    const std::size_t end = at + mention.size();
    const bool nextWord = end < text.size() && isMentionWordChar(text[end]);
    if (!prevWord && !nextWord) return true;
  }
  return false;
}

/// The byte offset in UTF-8 `text` of the UTF-16 code unit `units` (clamped to the end).
std::size_t byteOffsetOfUtf16(std::string_view text, int64_t units) {
  std::size_t i = 0;
  int64_t u = 0;
  while (i < text.size() && u < units) {
    const auto b = static_cast<unsigned char>(text[i]);
    std::size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
    u += len == 4 ? 2 : 1;  // a code point outside the BMP is a surrogate pair
    i = std::min(text.size(), i + len);
  }
  return i;
}

/// The entity's text: `length` UTF-16 units from `offset`.
std::string_view entitySlice(std::string_view text, int64_t offset, int64_t length) {
  const std::size_t from = byteOffsetOfUtf16(text, offset);
  const std::size_t to = from + byteOffsetOfUtf16(text.substr(from), length);
  return text.substr(from, to - from);
}

/// OpenClaw getTelegramTextParts: the text (or caption) and its entities.
struct TextParts {
  std::string_view text;
  const json::array* entities = nullptr;
};

TextParts textParts(const json::object& message) {
  TextParts parts;
  if (auto t = getString(message, "text"); t && !t->empty()) {
    parts.text = *t;
  } else if (auto c = getString(message, "caption"); c && !c->empty()) {
    parts.text = *c;
  }
  if (parts.text.empty()) return parts;
  parts.entities = getArray(message, "entities");
  if (!parts.entities) parts.entities = getArray(message, "caption_entities");
  return parts;
}

/// OpenClaw isBotCommandAddressedToMention.
bool commandAddressedTo(std::string_view command, std::string_view mention) {
  const std::string lower = asciiLower(command);
  if (lower.empty() || lower.front() != '/' || lower.size() < mention.size()) return false;
  if (lower.compare(lower.size() - mention.size(), mention.size(), mention) != 0) return false;
  const std::size_t last = lower.rfind(mention);
  return last != std::string::npos && last > 1;
}

/// OpenClaw TELEGRAM_FORUM_SERVICE_FIELDS (dist bot-message-*.mjs).
bool isForumServiceMessage(const json::object& message) {
  for (const char* field : {"forum_topic_created", "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened",
                            "general_forum_topic_hidden", "general_forum_topic_unhidden"}) {
    if (auto it = message.find(field); it != message.end() && !it->value().is_null()) return true;
  }
  return false;
}

}  // namespace

Error telegramError(int errorCode, std::string_view description, std::optional<int64_t> retryAfterSeconds) {
  ErrorCode code;
  if (errorCode == 401) {
    code = ErrorCode::kUnauthenticated;
  } else if (errorCode == 403) {
    code = ErrorCode::kPermissionDenied;
  } else if (errorCode == 400) {
    code = ErrorCode::kInvalidArgument;
  } else if (errorCode == 404) {
    code = ErrorCode::kNotFound;
  } else if (errorCode == 409) {
    code = ErrorCode::kFailedPrecondition;
  } else if (errorCode == 429) {
    code = ErrorCode::kResourceExhausted;
  } else if (errorCode >= 500 && errorCode <= 599) {
    code = ErrorCode::kUnavailable;
  } else {
    code = ErrorCode::kUpstream;
  }
  Error e(code, fmt::format("Telegram Bot API error {}: {}", errorCode, description),
          fmt::format("Telegram answered {}", errorCode));
  if (retryAfterSeconds && *retryAfterSeconds >= 0) e.retryAfterMs = *retryAfterSeconds * 1000;
  return e;
}

Result<json::value> parseApiResponse(int httpStatus, std::string_view body) {
  auto parsed = parseJson(body);
  const json::object* envelope = parsed && parsed->is_object() ? &parsed->as_object() : nullptr;
  if (!envelope || !getBool(*envelope, "ok")) {
    if (httpStatus >= 200 && httpStatus < 300) {
      return fail(ErrorCode::kUpstream, fmt::format("Telegram answered {} without a Bot API envelope", httpStatus));
    }
    return fail(telegramError(httpStatus, "(no Bot API error body)", std::nullopt));
  }
  if (*getBool(*envelope, "ok")) {
    auto it = envelope->find("result");
    if (it == envelope->end()) return fail(ErrorCode::kUpstream, "Telegram answered ok without a result");
    return it->value();
  }
  const int code = static_cast<int>(getInt(*envelope, "error_code").value_or(httpStatus));
  std::optional<int64_t> retryAfter;
  if (const json::object* params = getObject(*envelope, "parameters")) retryAfter = getInt(*params, "retry_after");
  return fail(telegramError(code, getString(*envelope, "description").value_or(""), retryAfter));
}

Result<BotIdentity> parseBotIdentity(const json::value& result) {
  const json::object* user = result.if_object();
  auto id = user ? getInt(*user, "id") : std::nullopt;
  auto username = user ? getString(*user, "username") : std::nullopt;
  if (!id || !username || username->empty()) {
    return fail(ErrorCode::kUpstream, "Telegram getMe answered without the bot's id and username");
  }
  return BotIdentity{*id, std::string(*username)};
}

bool mentionsBot(const json::object& message, const BotIdentity& bot) {
  if (bot.username.empty()) return false;
  const TextParts parts = textParts(message);
  const std::string mention = "@" + asciiLower(bot.username);
  if (hasStandaloneMention(asciiLower(parts.text), mention)) return true;
  if (!parts.entities) return false;
  for (const auto& v : *parts.entities) {
    const json::object* ent = v.if_object();
    if (!ent) continue;
    const std::string_view type = getString(*ent, "type").value_or("");
    const std::string_view slice =
        entitySlice(parts.text, getInt(*ent, "offset").value_or(0), getInt(*ent, "length").value_or(0));
    if (type == "mention" && asciiLower(slice) == mention) return true;
    if (type == "bot_command" && commandAddressedTo(slice, mention)) return true;
    if (type == "text_mention") {
      const json::object* user = getObject(*ent, "user");
      if (user && getInt(*user, "id") == bot.id) return true;
    }
  }
  return false;
}

bool repliesToBot(const json::object& message, const BotIdentity& bot) {
  const json::object* replied = getObject(message, "reply_to_message");
  if (!replied) return false;
  const json::object* from = getObject(*replied, "from");
  return from && getInt(*from, "id") == bot.id && !isForumServiceMessage(*replied);
}

std::optional<routing::InboundMessage> inboundFromUpdate(const json::object& update, const BotIdentity& bot) {
  const json::object* message = getObject(update, "message");
  if (!message) return std::nullopt;
  const json::object* chat = getObject(*message, "chat");
  const json::object* from = getObject(*message, "from");
  if (!chat || !from) return std::nullopt;
  auto chatId = getInt(*chat, "id");
  auto fromId = getInt(*from, "id");
  if (!chatId || !fromId || *fromId == bot.id) return std::nullopt;
  const TextParts parts = textParts(*message);
  if (parts.text.empty()) return std::nullopt;

  routing::InboundMessage m;
  m.channel = "telegram";
  m.sender = std::to_string(*fromId);
  m.text = std::string(parts.text);
  m.peer.id = std::to_string(*chatId);
  const std::string_view type = getString(*chat, "type").value_or("");
  if (type == "private") {
    m.peer.kind = routing::PeerKind::kDirect;
    return m;
  }
  if (type != "group" && type != "supergroup") return std::nullopt;
  m.peer.kind = routing::PeerKind::kGroup;
  if (getBool(*chat, "is_forum").value_or(false)) {
    m.threadId = std::to_string(getInt(*message, "message_thread_id").value_or(1));
  }
  m.mentioned = mentionsBot(*message, bot) || repliesToBot(*message, bot);
  return m;
}

json::value chatIdValue(std::string_view peerId) {
  int64_t id = 0;
  const char* end = peerId.data() + peerId.size();
  auto [ptr, ec] = std::from_chars(peerId.data(), end, id);
  if (ec == std::errc() && ptr == end && !peerId.empty()) return json::value(id);
  return json::value(json::string(peerId));
}

std::optional<int64_t> sendThreadId(const std::optional<std::string>& threadId) {
  if (!threadId) return std::nullopt;
  int64_t id = 0;
  const char* end = threadId->data() + threadId->size();
  auto [ptr, ec] = std::from_chars(threadId->data(), end, id);
  if (ec != std::errc() || ptr != end || id <= 1) return std::nullopt;
  return id;
}

}  // namespace talon::gateway::channels::telegram
