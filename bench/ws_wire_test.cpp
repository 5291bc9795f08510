#include "ws_wire.h"

#include <gtest/gtest.h>

#include <string>

namespace talon::bench {
namespace {

// A server frame (unmasked), as RFC 6455 §5.2 lays it out.
std::string serverFrame(uint8_t firstByte, std::string_view payload) {
  std::string f;
  f += static_cast<char>(firstByte);
  const std::size_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(n);
  } else if (n <= 0xFFFF) {
    f += static_cast<char>(126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xFF);
  } else {
    f += static_cast<char>(127);
    for (int shift = 56; shift >= 0; shift -= 8) f += static_cast<char>((uint64_t(n) >> shift) & 0xFF);
  }
  f += payload;
  return f;
}

TEST(WebSocketAccept, MatchesTheRfcExample) {
  // RFC 6455 §1.3.
  EXPECT_EQ(webSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketKey, IsBase64OfSixteenBytes) {
  const std::string key = newWebSocketKey();
  EXPECT_EQ(key.size(), 24u);
  EXPECT_EQ(key.substr(22), "==");
  EXPECT_NE(key, newWebSocketKey());
}

TEST(UpgradeRequest, CarriesTheRequiredHeaders) {
  const std::string r = buildUpgradeRequest("127.0.0.1", 18789, "/", "KEY");
  EXPECT_EQ(r.rfind("GET / HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(r.find("\r\nHost: 127.0.0.1:18789\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nSec-WebSocket-Key: KEY\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n");
  EXPECT_NE(buildUpgradeRequest("::1", 1, "/ws", "K").find("Host: [::1]:1\r\n"), std::string::npos);
}

TEST(UpgradeResponse, AcceptsOnlyA101WithTheRightAccept) {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  EXPECT_TRUE(
      checkUpgradeResponse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                           "sec-websocket-accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n",
                           key));
  auto wrong = checkUpgradeResponse("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: nope\r\n", key);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kUpstream);
  auto missing = checkUpgradeResponse("HTTP/1.1 101 Switching Protocols\r\n", key);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kUpstream);
  auto refused = checkUpgradeResponse("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n", key);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message.find("401"), std::string::npos);
}

// Decodes a client frame (masked) back to opcode and payload, to check appendClientFrame.
struct Decoded {
  uint8_t first = 0;
  bool masked = false;
  std::string payload;
};
Decoded decodeClientFrame(const std::string& f) {
  Decoded d;
  d.first = static_cast<uint8_t>(f[0]);
  d.masked = (static_cast<uint8_t>(f[1]) & 0x80) != 0;
  uint64_t n = static_cast<uint8_t>(f[1]) & 0x7F;
  std::size_t at = 2;
  if (n == 126) {
    n = (uint64_t(uint8_t(f[2])) << 8) | uint8_t(f[3]);
    at = 4;
  } else if (n == 127) {
    n = 0;
    for (int i = 0; i < 8; ++i) n = (n << 8) | uint8_t(f[2 + i]);
    at = 10;
  }
  const std::string mask = f.substr(at, 4);
  at += 4;
  EXPECT_EQ(f.size(), at + n);
  for (uint64_t i = 0; i < n; ++i) d.payload += static_cast<char>(f[at + i] ^ mask[i & 3]);
  return d;
}

TEST(ClientFrame, IsMaskedAndRoundTripsAtEveryLengthEncoding) {
  for (std::size_t n : {0u, 5u, 125u, 126u, 65535u, 65536u, 200000u}) {
    std::string payload(n, '\0');
    for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>('a' + i % 26);
    std::string out = "prefix";
    appendClientFrame(out, Opcode::kText, payload, 0xA1B2C3D4);
    ASSERT_EQ(out.substr(0, 6), "prefix");
    const Decoded d = decodeClientFrame(out.substr(6));
    EXPECT_EQ(d.first, 0x81) << n;
    EXPECT_TRUE(d.masked);
    EXPECT_EQ(d.payload, payload) << n;
    if (n >= 4) {
      EXPECT_NE(out.substr(out.size() - 4), payload.substr(n - 4)) << "payload not masked";
    }
  }
}

TEST(FrameDecoder, ReturnsMessagesOnlyWhenComplete) {
  FrameDecoder d;
  const std::string a = serverFrame(0x81, "hello");
  const std::string b = serverFrame(0x81, std::string(300, 'x'));
  const std::string c = serverFrame(0x81, std::string(70000, 'y'));
  const std::string all = a + b + c;
  std::vector<std::string> got;
  // Byte by byte: every split point is exercised.
  for (char ch : all) {
    d.append(std::string_view(&ch, 1));
    for (;;) {
      auto e = d.next();
      ASSERT_TRUE(e) << e.error().message;
      if (!*e) break;
      ASSERT_EQ((*e)->kind, WsEvent::Kind::kMessage);
      got.emplace_back((*e)->data);
    }
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "hello");
  EXPECT_EQ(got[1], std::string(300, 'x'));
  EXPECT_EQ(got[2], std::string(70000, 'y'));
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoder, JoinsFragmentsAndPassesControlFramesBetweenThem) {
  FrameDecoder d;
  d.append(serverFrame(0x01, "he"));  // text, not FIN
  d.append(serverFrame(0x89, "p"));   // ping in the middle
  d.append(serverFrame(0x00, "ll"));  // continuation, not FIN
  d.append(serverFrame(0x80, "o"));   // continuation, FIN
  d.append(serverFrame(0x88,
                       "\x03\xe8"  // close 1000 "bye"
                       "bye"));
  auto ping = d.next();
  ASSERT_TRUE(ping && *ping);
  EXPECT_EQ((*ping)->kind, WsEvent::Kind::kPing);
  EXPECT_EQ((*ping)->data, "p");
  auto message = d.next();
  ASSERT_TRUE(message && *message);
  EXPECT_EQ((*message)->kind, WsEvent::Kind::kMessage);
  EXPECT_EQ((*message)->data, "hello");
  auto close = d.next();
  ASSERT_TRUE(close && *close);
  EXPECT_EQ((*close)->kind, WsEvent::Kind::kClose);
  EXPECT_EQ((*close)->closeCode, 1000);
  EXPECT_EQ((*close)->data, "bye");
  auto none = d.next();
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST(FrameDecoder, UnmasksMaskedFrames) {
  std::string f;
  appendClientFrame(f, Opcode::kText, "masked text", 0x01020304);
  FrameDecoder d;
  d.append(f);
  auto e = d.next();
  ASSERT_TRUE(e && *e);
  EXPECT_EQ((*e)->data, "masked text");
}

TEST(FrameDecoder, RejectsProtocolViolations) {
  auto firstError = [](const std::string& bytes, std::size_t limit = 1 << 20) {
    FrameDecoder d(limit);
    d.append(bytes);
    for (;;) {
      auto e = d.next();
      if (!e) return e.error().code;
      if (!*e) return ErrorCode::kInternal;  // no error at all
    }
  };
  EXPECT_EQ(firstError(serverFrame(0xC1, "x")), ErrorCode::kUpstream);  // RSV1 without an extension
  EXPECT_EQ(firstError(serverFrame(0x80, "x")), ErrorCode::kUpstream);  // continuation without a start
  EXPECT_EQ(firstError(serverFrame(0x09, "x")), ErrorCode::kUpstream);  // fragmented ping
  EXPECT_EQ(firstError(serverFrame(0x83, "x")), ErrorCode::kUpstream);  // reserved opcode
  EXPECT_EQ(firstError(serverFrame(0x01, "a") + serverFrame(0x81, "b")), ErrorCode::kUpstream);
  EXPECT_EQ(firstError(serverFrame(0x81, std::string(200, 'z')), 100), ErrorCode::kResourceExhausted);
  EXPECT_EQ(firstError(serverFrame(0x01, std::string(80, 'z')) + serverFrame(0x80, std::string(80, 'z')), 100),
            ErrorCode::kResourceExhausted);
}

TEST(ScanFrame, ReadsTopLevelFieldsAndIgnoresNestedOnes) {
  auto f = scanFrame(R"({"payload":{"ok":false,"id":"inner","type":"x"},"type":"res","id":"7:ab","ok":true})");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->type, "res");
  EXPECT_EQ(f->id, "7:ab");
  EXPECT_EQ(f->ok, true);
  EXPECT_EQ(f->payload, R"({"ok":false,"id":"inner","type":"x"})");
  EXPECT_TRUE(f->error.empty());
}

TEST(ScanFrame, HandlesEscapesWhitespaceArraysAndErrors) {
  auto f = scanFrame(
      " { \"type\" : \"res\" , \"id\":\"q\\\"\\\\\", \"ok\": false,"
      " \"error\": {\"code\":\"INVALID_REQUEST\",\"message\":\"a } ] \\\" b\",\"details\":[1,[2,{}]]} } ");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->id, "q\\\"\\\\");  // raw, escapes not decoded
  EXPECT_EQ(f->ok, false);
  EXPECT_EQ(f->error, R"({"code":"INVALID_REQUEST","message":"a } ] \" b","details":[1,[2,{}]]})");
  auto event = scanFrame(R"({"type":"event","event":"chat","payload":{"state":"final","runId":"r1"},"seq":3})");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->event, "chat");
  EXPECT_EQ(scanStringField(event->payload, "state"), "final");
  EXPECT_EQ(scanStringField(event->payload, "runId"), "r1");
  EXPECT_EQ(scanStringField(event->payload, "missing"), std::nullopt);
  EXPECT_EQ(scanStringField(R"({"state":3})", "state"), std::nullopt);
  EXPECT_TRUE(scanFrame("{}"));
}

TEST(ScanFrame, RejectsWhatIsNotAnObject) {
  for (const char* bad : {"", "[]", "\"s\"", "{", R"({"a":1)", R"({"a" 1})", R"({"a":[1})", R"({"a":{]})", R"({"a":"x)",
                          R"({"a":1}x)", R"({"a":})", R"({a:1})"}) {
    auto f = scanFrame(bad);
    ASSERT_FALSE(f) << bad;
    EXPECT_EQ(f.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace talon::bench
