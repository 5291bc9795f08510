#include "protocol/frames.h"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "base/json.h"
#include "protocol/errors.h"

namespace talon::protocol {
namespace {

struct ParseCase {
  const char* name;
  std::string text;
  // Expected outcome: nullopt = parses; otherwise the error kind.
  std::optional<FrameErrorKind> error;
  // For kInvalidRequest: the full public message; for success: the expected method.
  std::string expect;
  // The id recovered from an invalid frame (nullopt: none).
  std::optional<std::string> id;
};

void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.name; }

class RequestFrameParse : public ::testing::TestWithParam<ParseCase> {};

TEST_P(RequestFrameParse, Outcome) {
  const ParseCase& c = GetParam();
  auto r = parseRequestFrame(c.text);
  if (!c.error) {
    ASSERT_TRUE(r) << r.error().error.message;
    EXPECT_EQ(r->method, c.expect);
    return;
  }
  ASSERT_FALSE(r) << "parsed: " << c.text;
  EXPECT_EQ(r.error().kind, *c.error);
  EXPECT_EQ(r.error().id, c.id);
  if (*c.error == FrameErrorKind::kInvalidRequest) {
    EXPECT_EQ(r.error().error.publicMessage(), c.expect);
    EXPECT_EQ(protocolErrorCode(r.error().error.code), "INVALID_REQUEST");
  }
}

const std::string k129(129, 't');

INSTANTIATE_TEST_SUITE_P(
    Table, RequestFrameParse,
    ::testing::Values(
        ParseCase{"minimal", R"({"type":"req","id":"1","method":"health"})", {}, "health", {}},
        ParseCase{"withParams", R"({"type":"req","id":"1","method":"status","params":{"a":1}})", {}, "status", {}},
        ParseCase{"paramsNull", R"({"type":"req","id":"1","method":"status","params":null})", {}, "status", {}},
        ParseCase{"paramsArray", R"({"type":"req","id":"1","method":"x","params":[1,2]})", {}, "x", {}},
        ParseCase{"traceparentAndProfile",
                  R"({"type":"req","id":"1","method":"m","traceparent":"00-ab-cd-01","expectedProfileId":"p"})",
                  {},
                  "m",
                  {}},
        ParseCase{"traceparentAtLimit",
                  R"({"type":"req","id":"1","method":"m","traceparent":")" + std::string(128, 't') + R"("})",
                  {},
                  "m",
                  {}},
        ParseCase{"whitespaceAround", " \n{\"type\":\"req\",\"id\":\"1\",\"method\":\"m\"}\n ", {}, "m", {}},
        ParseCase{"notJsonGarbage", "hello", FrameErrorKind::kNotJson, "", {}},
        ParseCase{"notJsonEmpty", "", FrameErrorKind::kNotJson, "", {}},
        ParseCase{"notJsonTruncated", R"({"type":"req","id":"1")", FrameErrorKind::kNotJson, "", {}},
        ParseCase{"notJsonTrailing", R"({"type":"req","id":"1","method":"m"} x)", FrameErrorKind::kNotJson, "", {}},
        ParseCase{
            "notJsonBadUtf8", "{\"type\":\"req\",\"id\":\"\xff\",\"method\":\"m\"}", FrameErrorKind::kNotJson, "", {}},
        ParseCase{"notObject", "[1]", FrameErrorKind::kInvalidRequest, "invalid request frame: must be object", {}},
        ParseCase{"missingId",
                  R"({"type":"req","method":"m"})",
                  FrameErrorKind::kInvalidRequest,
                  "invalid request frame: must have required property 'id'",
                  {}},
        ParseCase{"missingType", R"({"id":"7","method":"m"})", FrameErrorKind::kInvalidRequest,
                  "invalid request frame: must have required property 'type'", "7"},
        ParseCase{"missingMethod", R"({"type":"req","id":"7"})", FrameErrorKind::kInvalidRequest,
                  "invalid request frame: must have required property 'method'", "7"},
        ParseCase{"emptyId",
                  R"({"type":"req","id":"","method":"m"})",
                  FrameErrorKind::kInvalidRequest,
                  "invalid request frame: at /id: must NOT have fewer than 1 characters",
                  {}},
        ParseCase{"numericId",
                  R"({"type":"req","id":5,"method":"m"})",
                  FrameErrorKind::kInvalidRequest,
                  "invalid request frame: at /id: must be string",
                  {}},
        ParseCase{"emptyMethod", R"({"type":"req","id":"7","method":""})", FrameErrorKind::kInvalidRequest,
                  "invalid request frame: at /method: must NOT have fewer than 1 characters", "7"},
        ParseCase{"methodNotString", R"({"type":"req","id":"7","method":true})", FrameErrorKind::kInvalidRequest,
                  "invalid request frame: at /method: must be string", "7"},
        ParseCase{"wrongType", R"({"type":"res","id":"7","method":"m"})", FrameErrorKind::kInvalidRequest,
                  "invalid request frame: at /type: must be equal to constant", "7"},
        ParseCase{"typeNotString", R"({"type":1,"id":"7","method":"m"})", FrameErrorKind::kInvalidRequest,
                  "invalid request frame: at /type: must be equal to constant", "7"},
        ParseCase{"extraKey", R"({"type":"req","id":"7","method":"m","extra":1})", FrameErrorKind::kInvalidRequest,
                  "invalid request frame: at root: unexpected property 'extra'", "7"},
        ParseCase{"traceparentTooLong", R"({"type":"req","id":"7","method":"m","traceparent":")" + k129 + R"("})",
                  FrameErrorKind::kInvalidRequest,
                  "invalid request frame: at /traceparent: must NOT have more than 128 characters", "7"},
        ParseCase{"traceparentNotString", R"({"type":"req","id":"7","method":"m","traceparent":1})",
                  FrameErrorKind::kInvalidRequest, "invalid request frame: at /traceparent: must be string", "7"},
        ParseCase{"emptyProfileId", R"({"type":"req","id":"7","method":"m","expectedProfileId":""})",
                  FrameErrorKind::kInvalidRequest,
                  "invalid request frame: at /expectedProfileId: must NOT have fewer than 1 characters", "7"}),
    [](const ::testing::TestParamInfo<ParseCase>& info) { return std::string(info.param.name); });

TEST(RequestFrame, ParamsAbsentIsNullAndPresentIsKept) {
  auto absent = parseRequestFrame(R"({"type":"req","id":"1:a","method":"health"})");
  ASSERT_TRUE(absent);
  EXPECT_EQ(absent->id, "1:a");
  EXPECT_TRUE(absent->params.is_null());
  EXPECT_FALSE(absent->traceparent);

  auto present = parseRequestFrame(R"({"type":"req","id":"2","method":"health","params":{"probe":true}})");
  ASSERT_TRUE(present);
  ASSERT_TRUE(present->params.is_object());
  EXPECT_EQ(present->params.as_object().at("probe").as_bool(), true);
}

// The flat fast path gives exactly the frame (or, by declining, the error) of the JSON tree.
void expectSameOutcome(const Expected<RequestFrame, FrameError>& a, const Expected<RequestFrame, FrameError>& b,
                       const std::string& text) {
  ASSERT_EQ(a.has_value(), b.has_value()) << text;
  if (a) {
    EXPECT_EQ(a->id, b->id) << text;
    EXPECT_EQ(a->method, b->method) << text;
    EXPECT_EQ(a->params, b->params) << text;
    EXPECT_EQ(a->traceparent, b->traceparent) << text;
    EXPECT_EQ(a->expectedProfileId, b->expectedProfileId) << text;
    return;
  }
  EXPECT_EQ(a.error().kind, b.error().kind) << text;
  EXPECT_EQ(a.error().id, b.error().id) << text;
  EXPECT_EQ(a.error().error.publicMessage(), b.error().error.publicMessage()) << text;
  EXPECT_EQ(a.error().error.message, b.error().error.message) << text;
}

TEST(FlatRequestFrame, TakesTheCommonRequestsAsTheTreeDoes) {
  const std::string tp128(128, 't');
  const std::vector<std::string> texts = {
      R"({"type":"req","id":"1","method":"health"})",
      R"({"method":"health","id":"abc-123","type":"req"})",
      " \t\r\n{ \"type\" : \"req\" ,\n \"id\":\"1\", \"method\":\"status\" } \n",
      R"({"type":"req","id":"1","method":"health","params":{}})",
      R"({"params":{ },"type":"req","id":"1","method":"health"})",
      R"({"type":"req","id":"1","method":"m","traceparent":"","expectedProfileId":"p"})",
      R"({"type":"req","id":"1","method":"m","traceparent":")" + tp128 + R"("})",
      R"({"type":"req","id":"1","method":"m","expectedProfileId":")" + tp128 + R"("})",
      R"({"type":"req","id":"~ /'{}[]:,","method":"a.b"})",
  };
  RequestFrameParser parser;
  for (const auto& text : texts) {
    auto flat = parseFlatRequestFrame(text);
    ASSERT_TRUE(flat) << "declined: " << text;
    expectSameOutcome(*flat, parser.parseTree(text), text);
  }
  auto withParams = parseFlatRequestFrame(R"({"type":"req","id":"1","method":"health","params":{}})");
  ASSERT_TRUE(withParams);
  EXPECT_TRUE(withParams->params.is_object());
  auto withoutParams = parseFlatRequestFrame(R"({"type":"req","id":"1","method":"health"})");
  ASSERT_TRUE(withoutParams);
  EXPECT_TRUE(withoutParams->params.is_null());
}

TEST(FlatRequestFrame, DeclinesEverythingElseWhichTheTreeAnswers) {
  const std::string tp129(129, 't');
  const std::vector<std::string> texts = {
      "",
      " ",
      "{}",
      "[]",
      R"({"type":"req","id":"1","method":"health"} x)",
      R"({"type":"req","id":"1","method":"health"},)",
      R"({"type":"req","id":"1","method":"health",})",
      R"({"type":"req","id":"1","method":"health")",
      R"({"type":"req","id":"1","method":"health)",
      R"({"type":"req","id":"1","method" "health"})",
      R"({"type":"req","id":"1";"method":"health"})",
      R"({"type":"req","id":"1","method":"health","params":{"a":1}})",
      R"({"type":"req","id":"1","method":"health","params":null})",
      R"({"type":"req","id":"1","method":"health","params":[]})",
      R"({"type":"req","id":"1","method":"health","params":{}, "params":{}})",
      R"({"type":"req","id":"1","id":"2","method":"health"})",
      R"({"type":"req","id":"1\u0041","method":"health"})",
      R"({"type":"req","id":"1\"","method":"health"})",
      R"({"type":"req","id":"é","method":"health"})",
      "{\"type\":\"req\",\"id\":\"1\x01\",\"method\":\"health\"}",
      "{\"type\":\"req\",\"id\":\"\xff\",\"method\":\"health\"}",
      R"({"type":"res","id":"1","method":"health"})",
      R"({"type":"req","id":"","method":"health"})",
      R"({"type":"req","id":"1","method":""})",
      R"({"type":"req","method":"health"})",
      R"({"type":"req","id":"1"})",
      R"({"id":"1","method":"health"})",
      R"({"type":"req","id":1,"method":"health"})",
      R"({"type":"req","id":"1","method":"health","extra":"x"})",
      R"({"type":"req","id":"1","method":"m","traceparent":")" + tp129 + R"("})",
      R"({"type":"req","id":"1","method":"m","expectedProfileId":""})",
      R"({"type":"req","id":"1","method":"m","expectedProfileId":")" + tp129 + R"("})",
      R"({"ty\u0070e":"req","id":"1","method":"health"})",
      "{\"type\":\"req\",\"id\":\"1\",\"method\":\"health\"}\v",
  };
  RequestFrameParser parser;
  for (const auto& text : texts) {
    EXPECT_FALSE(parseFlatRequestFrame(text)) << "taken: " << text;
    expectSameOutcome(parser.parse(text), parser.parseTree(text), text);
  }
}

TEST(RequestFrame, TraceparentLengthCountsCharactersNotBytes) {
  // 128 two-byte characters: 256 bytes, still within maxLength 128.
  std::string tp;
  for (int i = 0; i < 128; ++i) tp += "\xc3\xa9";
  auto r = parseRequestFrame(R"({"type":"req","id":"1","method":"m","traceparent":")" + tp + R"("})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->traceparent, tp);
}

TEST(JsonString, EscapesQuotesBackslashesAndControls) {
  std::string out;
  appendJsonString(out, std::string("a\"b\\c\n\t\x01\x1f\x7f", 10));
  EXPECT_EQ(out, R"("a\"b\\c\n\t\u0001\u001f)"
                 "\x7f\"");
  auto parsed = parseJson(out);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->as_string(), std::string("a\"b\\c\n\t\x01\x1f\x7f", 10));
}

TEST(JsonString, KeepsValidUtf8AndReplacesInvalidBytes) {
  std::string out;
  appendJsonString(out, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");  // é € 😀
  EXPECT_EQ(out, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");

  out.clear();
  appendJsonString(out,
                   "a\xff"
                   "b\xc0\xaf"
                   "c\xed\xa0\x80"
                   "d\xe2\x82");  // stray, overlong, surrogate, truncated
  auto parsed = parseJson(out);
  ASSERT_TRUE(parsed) << out;
  EXPECT_EQ(out, R"("a\ufffdb\ufffd\ufffdc\ufffd\ufffd\ufffdd\ufffd\ufffd")");
}

TEST(JsonString, EverySpecialByteIsFoundAtEveryOffsetOfALongRun) {
  // The plain-ASCII fast path reads 8 bytes at a time: a byte that needs care must be found wherever it
  // falls in a word, and the text after it must continue correctly. Boost.JSON's serializer is the
  // reference for ASCII and valid UTF-8.
  const std::vector<std::string> specials = {"\"",   "\\",   "\n",       std::string(1, '\0'),
                                             "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac"};
  for (const auto& special : specials) {
    for (std::size_t at = 0; at < 24; ++at) {
      std::string text(at, 'a');
      text += special;
      text += std::string(19, 'z');
      std::string out;
      appendJsonString(out, text);
      EXPECT_EQ(out, json::serialize(json::string(text))) << "special byte at offset " << at;
    }
  }
}

TEST(JsonString, EverySpecialByteIsFoundAtEveryOffsetOfAShortString) {
  // Strings of up to 16 bytes are checked as two space-padded words: a byte that needs care must be
  // found at every offset of every length, the padding never mistaken for text.
  const std::vector<std::string> specials = {"\"",       "\\",           "\n",  std::string(1, '\0'), "\x1f", "\x7f",
                                             "\xc3\xa9", "\xe2\x82\xac", "\xff"};
  for (std::size_t length = 0; length <= 17; ++length) {
    std::string plain(length, 'a');
    std::string out;
    appendJsonString(out, plain);
    EXPECT_EQ(out, "\"" + plain + "\"");
    for (const auto& special : specials) {
      for (std::size_t at = 0; at + special.size() <= length; ++at) {
        std::string text = plain;
        text.replace(at, special.size(), special);
        std::string encoded;
        appendJsonString(encoded, text);
        const std::string expected =
            special == "\xff" ? "\"" + std::string(at, 'a') + "\\ufffd" + std::string(length - at - 1, 'a') + "\""
                              : json::serialize(json::string(text));
        EXPECT_EQ(encoded, expected) << "length " << length << ", special byte at offset " << at;
      }
    }
  }
}

TEST(ResponseEncoding, OkWithPreSerializedPayloadRoundTrips) {
  const std::string id = "1:\"quoted\"\\id\n";
  const std::string text = encodeResponseOk(id, R"({"ok":true,"ts":5})");
  auto v = parseJson(text);
  ASSERT_TRUE(v) << text;
  const auto& o = v->as_object();
  EXPECT_EQ(o.at("type").as_string(), "res");
  EXPECT_EQ(o.at("id").as_string(), id);
  EXPECT_EQ(o.at("ok").as_bool(), true);
  EXPECT_EQ(o.at("payload").as_object().at("ts").as_int64(), 5);
  EXPECT_FALSE(o.contains("error"));
  EXPECT_EQ(o.size(), 4u);
}

TEST(ResponseEncoding, OkWithoutPayloadOmitsIt) {
  EXPECT_EQ(encodeResponseOk("9", std::string_view{}), R"({"type":"res","id":"9","ok":true})");
}

TEST(ResponseEncoding, OkFromJsonValueMatchesPreSerialized) {
  json::value payload = {{"a", 1}, {"b", json::array{"x"}}};
  EXPECT_EQ(encodeResponseOkValue("3", payload), encodeResponseOk("3", json::serialize(payload)));
}

TEST(ResponseEncoding, ErrorCarriesCodeMessageAndDetails) {
  const std::string text = encodeResponseError("4", missingScopeError(Scope::kAdmin, {Scope::kAdmin}));
  auto v = parseJson(text);
  ASSERT_TRUE(v) << text;
  const auto& o = v->as_object();
  EXPECT_EQ(o.at("ok").as_bool(), false);
  EXPECT_FALSE(o.contains("payload"));
  const auto& err = o.at("error").as_object();
  EXPECT_EQ(err.at("code").as_string(), "FORBIDDEN");
  EXPECT_EQ(err.at("message").as_string(), "missing scope: operator.admin");
  EXPECT_EQ(err.at("details").as_object().at("code").as_string(), "MISSING_SCOPE");
  EXPECT_FALSE(err.contains("retryable"));
  EXPECT_FALSE(err.contains("retryAfterMs"));
}

TEST(ResponseEncoding, RetryableErrorCarriesRetryFields) {
  const std::string text = encodeResponseError("5", gatewayStartingError());
  auto v = parseJson(text);
  ASSERT_TRUE(v) << text;
  const auto& err = v->as_object().at("error").as_object();
  EXPECT_EQ(err.at("code").as_string(), "UNAVAILABLE");
  EXPECT_EQ(err.at("message").as_string(), "gateway starting; retry shortly");
  EXPECT_EQ(err.at("retryable").as_bool(), true);
  EXPECT_EQ(err.at("retryAfterMs").as_int64(), 500);
  EXPECT_EQ(err.at("details").as_object().at("reason").as_string(), "startup-sidecars");
}

TEST(ResponseEncoding, ErrorShapeObjectMatchesEncodedError) {
  const Error e = protocolMismatchError(1, 2);
  auto v = parseJson(encodeResponseError("6", e));
  ASSERT_TRUE(v);
  EXPECT_EQ(toCanonicalJson(v->as_object().at("error")), toCanonicalJson(errorShape(e)));
}

TEST(ResponseEncoding, GenericErrorUsesPublicMessageNotInternal) {
  Error e(ErrorCode::kInternal, "sqlite: disk I/O error at /var/lib/talon/db");
  auto v = parseJson(encodeResponseError("7", e));
  ASSERT_TRUE(v);
  const auto& err = v->as_object().at("error").as_object();
  EXPECT_EQ(err.at("code").as_string(), "INTERNAL");
  EXPECT_EQ(err.at("message").as_string(), "internal error");
}

TEST(ResponseEncoding, ErrorWithPayload) {
  Error e(ErrorCode::kUpstream, "provider failed", "provider failed");
  auto v = parseJson(encodeResponseError("8", e, R"({"runId":"r","status":"error"})"));
  ASSERT_TRUE(v);
  const auto& o = v->as_object();
  EXPECT_EQ(o.at("ok").as_bool(), false);
  EXPECT_EQ(o.at("payload").as_object().at("status").as_string(), "error");
  EXPECT_EQ(o.at("error").as_object().at("message").as_string(), "provider failed");
}

TEST(EventEncoding, AllPartsRoundTrip) {
  const std::string text = encodeEvent("health", R"({"ok":true})", 3, StateVersion{1, 6});
  EXPECT_EQ(
      text,
      R"({"type":"event","event":"health","payload":{"ok":true},"seq":3,"stateVersion":{"presence":1,"health":6}})");
  ASSERT_TRUE(parseJson(text));
}

TEST(EventEncoding, OptionalPartsOmitted) {
  EXPECT_EQ(encodeEvent("x", std::string_view{}), R"({"type":"event","event":"x"})");
  json::value payload = {{"k", "v"}};
  EXPECT_EQ(encodeEventValue("x", payload, 1), R"({"type":"event","event":"x","payload":{"k":"v"},"seq":1})");
}

TEST(EventEncoding, TickAndShutdown) {
  EXPECT_EQ(encodeTickEvent(1795263639485, 2),
            R"({"type":"event","event":"tick","payload":{"ts":1795263639485},"seq":2})");
  EXPECT_EQ(encodeShutdownEvent("restart", 1500, 9),
            R"({"type":"event","event":"shutdown","payload":{"reason":"restart","restartExpectedMs":1500},"seq":9})");
  EXPECT_EQ(encodeShutdownEvent("stop", std::nullopt, 10),
            R"({"type":"event","event":"shutdown","payload":{"reason":"stop"},"seq":10})");
}

}  // namespace
}  // namespace talon::protocol
