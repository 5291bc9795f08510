#pragma once
// The Telegram Bot API as data (https://core.telegram.org/bots/api): the response envelope
// (`{"ok":true,"result":…}` / `{"ok":false,"error_code":…,"description":…,"parameters":{"retry_after":…}}`),
// its mapping to talon::Error, and the conversion of an Update's Message into a routing::InboundMessage
// with OpenClaw's rules for peers, forum topics and mentions. Pure: no sockets, no threads.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/json.h"
#include "gateway/routing/inbound_message.h"

namespace talon::gateway::channels::telegram {

/// The bot as getMe describes it (Bot API `User`): its numeric id and its username (without '@').
struct BotIdentity {
  int64_t id = 0;
  std::string username;
};

/// Parses a Bot API response body. Returns the `result` value of an `ok:true` envelope; otherwise the
/// error the envelope (or the HTTP status, when the body is not an envelope) describes, as
/// telegramError() maps it. `httpStatus` is the response's status code.
Result<json::value> parseApiResponse(int httpStatus, std::string_view body);

/// The talon::Error for a Bot API failure: 401 → kUnauthenticated (the bot token was rejected), 403 →
/// kPermissionDenied (e.g. the user blocked the bot), 400 → kInvalidArgument, 404 → kNotFound (Telegram
/// answers 404 to a malformed token), 409 → kFailedPrecondition (another getUpdates poller or a webhook
/// is active), 429 → kResourceExhausted with retryAfterMs from `parameters.retry_after` (seconds), 5xx →
/// kUnavailable, anything else → kUpstream. The message names the code and Telegram's description.
Error telegramError(int errorCode, std::string_view description, std::optional<int64_t> retryAfterSeconds);

/// The bot's identity from getMe's `result`. Errors: kUpstream when `id` or `username` is missing.
Result<BotIdentity> parseBotIdentity(const json::value& result);

/// Whether `message` (a Bot API `Message`) addresses the bot explicitly, as OpenClaw's hasBotMention
/// decides (dist helpers-*.mjs): a standalone `@username` in the text or caption (case-insensitive, not
/// inside a longer word), a `mention` entity equal to it, a `bot_command` entity addressed to it
/// (`/cmd@username`), or a `text_mention` entity of the bot's user id. Entity offsets are UTF-16 code
/// units, as the Bot API defines them.
bool mentionsBot(const json::object& message, const BotIdentity& bot);

/// Whether `message` replies to one of the bot's own messages (not to a forum service message such as
/// "topic created"): OpenClaw's implicit mention "reply_to_bot".
bool repliesToBot(const json::object& message, const BotIdentity& bot);

/// The inbound message for one Bot API `Update`, or nullopt when it carries nothing to route (no
/// `message`, no text or caption, a message from the bot itself, a chat type other than private,
/// group or supergroup). Rules (OpenClaw docs/channels/telegram/threads-and-sessions.md):
/// - private chat: peer {direct, chat.id}; group and supergroup: peer {group, chat.id};
/// - sender: from.id as a decimal string;
/// - forum supergroups (chat.is_forum): threadId is message_thread_id, "1" (the General topic) when absent;
/// - groups only: `mentioned` = mentionsBot() || repliesToBot().
/// `channel` is "telegram"; accountId is left empty for the channel to fill.
std::optional<routing::InboundMessage> inboundFromUpdate(const json::object& update, const BotIdentity& bot);

/// The Bot API `chat_id` for a peer id: a JSON integer when the id is a decimal integer, else the string
/// (a public `@channelusername`).
json::value chatIdValue(std::string_view peerId);

/// The `message_thread_id` to send to for `threadId`, or nullopt when none should be sent: Telegram
/// rejects sendMessage to the General forum topic (id 1) with "thread not found" (OpenClaw
/// buildTelegramThreadParams); a non-numeric id is not sent either.
std::optional<int64_t> sendThreadId(const std::optional<std::string>& threadId);

}  // namespace talon::gateway::channels::telegram
