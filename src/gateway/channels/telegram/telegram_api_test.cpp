// The Bot API as data: the response envelope and its errors, and Update → InboundMessage with OpenClaw's
// peer, topic and mention rules (dist helpers-*.mjs hasBotMention, bot-message-*.mjs reply_to_bot).
#include "gateway/channels/telegram/telegram_api.h"

#include <gtest/gtest.h>

namespace talon::gateway::channels::telegram {
namespace {

const BotIdentity kBot{777, "Talon_Bot"};

json::object parse(std::string_view text) {
  auto v = parseJson(text);
  EXPECT_TRUE(v && v->is_object()) << text;
  return v && v->is_object() ? v->as_object() : json::object{};
}

TEST(TelegramApi, OkEnvelopeGivesTheResult) {
  auto r = parseApiResponse(200, R"({"ok":true,"result":[{"update_id":1}]})");
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_TRUE(r->is_array());
}

TEST(TelegramApi, ErrorEnvelopesMapToErrorsWithRetryAfter) {
  auto r = parseApiResponse(
      429,
      R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(r.error().retryAfterMs, 7000);
  EXPECT_NE(r.error().message.find("Too Many Requests"), std::string::npos);

  auto u = parseApiResponse(401, R"({"ok":false,"error_code":401,"description":"Unauthorized"})");
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(parseApiResponse(409, R"({"ok":false,"error_code":409,"description":"Conflict"})").error().code,
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(parseApiResponse(400, R"({"ok":false,"error_code":400,"description":"Bad Request: chat not found"})")
                .error()
                .code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      parseApiResponse(403, R"({"ok":false,"error_code":403,"description":"Forbidden: bot was blocked"})").error().code,
      ErrorCode::kPermissionDenied);
  // A proxy's HTML error page: the HTTP status decides.
  EXPECT_EQ(parseApiResponse(502, "<html>Bad Gateway</html>").error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(parseApiResponse(200, "not json").error().code, ErrorCode::kUpstream);
  EXPECT_EQ(parseApiResponse(200, R"({"ok":true})").error().code, ErrorCode::kUpstream);
}

TEST(TelegramApi, GetMeGivesTheBotIdentity) {
  auto id = parseBotIdentity(*parseJson(R"({"id":777,"is_bot":true,"first_name":"T","username":"Talon_Bot"})"));
  ASSERT_TRUE(id);
  EXPECT_EQ(id->id, 777);
  EXPECT_EQ(id->username, "Talon_Bot");
  EXPECT_FALSE(parseBotIdentity(*parseJson(R"({"id":777})")));
}

TEST(TelegramApi, MentionsAsOpenClawDetectsThem) {
  // A standalone @username, case-insensitive; not inside a longer name or word.
  EXPECT_TRUE(mentionsBot(parse(R"({"text":"hey @talon_bot, help"})"), kBot));
  EXPECT_FALSE(mentionsBot(parse(R"({"text":"hey @talon_bot_two"})"), kBot));
  EXPECT_FALSE(mentionsBot(parse(R"({"text":"mail x@talon_bot"})"), kBot));
  EXPECT_FALSE(mentionsBot(parse(R"({"text":"hello everyone"})"), kBot));
  // In a caption.
  EXPECT_TRUE(mentionsBot(parse(R"({"caption":"@Talon_Bot look"})"), kBot));
  // A bot_command addressed to the bot; offsets are UTF-16 units (the emoji is two).
  EXPECT_TRUE(mentionsBot(
      parse(R"({"text":"\ud83d\ude00 /start@talon_bot","entities":[{"type":"bot_command","offset":3,"length":16}]})"),
      kBot));
  EXPECT_FALSE(mentionsBot(
      parse(R"({"text":"/start@other_bot","entities":[{"type":"bot_command","offset":0,"length":16}]})"), kBot));
  // A text_mention of the bot's user id (no @username in the text).
  EXPECT_TRUE(mentionsBot(
      parse(R"({"text":"Talon please","entities":[{"type":"text_mention","offset":0,"length":5,"user":{"id":777}}]})"),
      kBot));
}

TEST(TelegramApi, ARepliesToTheBotUnlessToAForumServiceMessage) {
  EXPECT_TRUE(repliesToBot(parse(R"({"text":"yes","reply_to_message":{"message_id":1,"from":{"id":777}}})"), kBot));
  EXPECT_FALSE(repliesToBot(parse(R"({"text":"yes","reply_to_message":{"message_id":1,"from":{"id":5}}})"), kBot));
  EXPECT_FALSE(repliesToBot(
      parse(R"({"text":"x","reply_to_message":{"from":{"id":777},"forum_topic_created":{"name":"t"}}})"), kBot));
}

TEST(TelegramApi, PrivateChatsAreDirectPeers) {
  auto m = inboundFromUpdate(
      parse(R"({"update_id":9,"message":{"message_id":1,"from":{"id":42,"is_bot":false,"first_name":"A"},
               "chat":{"id":42,"type":"private"},"date":1,"text":"hello"}})"),
      kBot);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->channel, "telegram");
  EXPECT_EQ(m->peer.kind, routing::PeerKind::kDirect);
  EXPECT_EQ(m->peer.id, "42");
  EXPECT_EQ(m->sender, "42");
  EXPECT_EQ(m->text, "hello");
  EXPECT_FALSE(m->mentioned);
  EXPECT_FALSE(m->threadId);
}

TEST(TelegramApi, GroupsCarryMentionsAndForumTopics) {
  auto plain = inboundFromUpdate(
      parse(R"({"update_id":1,"message":{"message_id":1,"from":{"id":5},"chat":{"id":-100,"type":"group"},
               "text":"just chatting"}})"),
      kBot);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->peer.kind, routing::PeerKind::kGroup);
  EXPECT_EQ(plain->peer.id, "-100");
  EXPECT_EQ(plain->sender, "5");
  EXPECT_EQ(plain->mentioned, std::optional<bool>(false));
  EXPECT_FALSE(plain->threadId);

  auto topic = inboundFromUpdate(parse(R"({"update_id":2,"message":{"message_id":2,"from":{"id":5},
               "chat":{"id":-1001,"type":"supergroup","is_forum":true},"message_thread_id":7,"is_topic_message":true,
               "text":"@talon_bot in a topic","entities":[{"type":"mention","offset":0,"length":10}]}})"),
                                 kBot);
  ASSERT_TRUE(topic);
  EXPECT_EQ(topic->threadId, std::optional<std::string>("7"));
  EXPECT_EQ(topic->mentioned, std::optional<bool>(true));

  // A forum message without message_thread_id is in the General topic (1).
  auto general = inboundFromUpdate(parse(R"({"update_id":3,"message":{"message_id":3,"from":{"id":5},
               "chat":{"id":-1001,"type":"supergroup","is_forum":true},"text":"hi",
               "reply_to_message":{"message_id":1,"from":{"id":777}}}})"),
                                   kBot);
  ASSERT_TRUE(general);
  EXPECT_EQ(general->threadId, std::optional<std::string>("1"));
  EXPECT_EQ(general->mentioned, std::optional<bool>(true));  // a reply to the bot
}

TEST(TelegramApi, UpdatesWithNothingToRouteAreSkipped) {
  EXPECT_FALSE(inboundFromUpdate(parse(R"({"update_id":1,"edited_message":{"text":"x"}})"), kBot));
  EXPECT_FALSE(inboundFromUpdate(
      parse(R"({"update_id":1,"message":{"from":{"id":5},"chat":{"id":5,"type":"private"},"photo":[]}})"), kBot));
  EXPECT_FALSE(inboundFromUpdate(
      parse(R"({"update_id":1,"message":{"from":{"id":777},"chat":{"id":5,"type":"private"},"text":"echo"}})"), kBot));
  EXPECT_FALSE(inboundFromUpdate(
      parse(R"({"update_id":1,"message":{"from":{"id":5},"chat":{"id":-5,"type":"channel"},"text":"post"}})"), kBot));
}

TEST(TelegramApi, ChatIdsAndThreadIdsForSending) {
  EXPECT_EQ(chatIdValue("-1001234"), json::value(-1001234));
  EXPECT_EQ(chatIdValue("@public_channel"), json::value("@public_channel"));
  EXPECT_EQ(sendThreadId(std::nullopt), std::nullopt);
  EXPECT_EQ(sendThreadId(std::string("1")), std::nullopt);  // the General topic: Telegram rejects it
  EXPECT_EQ(sendThreadId(std::string("42")), std::optional<int64_t>(42));
  EXPECT_EQ(sendThreadId(std::string("x")), std::nullopt);
}

}  // namespace
}  // namespace talon::gateway::channels::telegram
