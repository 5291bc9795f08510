// Recorded OpenClaw 2026.9.6 frames (tests/data/wire, copied from reference/openclaw-wire) against the
// protocol module: requests parse, and what Talon builds has the shape the real gateway sends.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "base/json.h"
#include "protocol/frames.h"
#include "protocol/handshake.h"
#include "protocol/methods.h"
#include "protocol/scopes.h"

namespace talon::protocol {
namespace {

const std::filesystem::path kWireDir = std::filesystem::path(TALON_SOURCE_DIR) / "tests" / "data" / "wire";

std::string readWire(const std::string& name) {
  auto text = readFile(kWireDir / name);
  EXPECT_TRUE(text) << name << ": " << text.error().toString();
  return text ? *text : std::string();
}

json::value readWireJson(const std::string& name) {
  auto v = parseJson(readWire(name));
  EXPECT_TRUE(v) << name;
  return v ? *v : json::value();
}

TEST(RecordedFrames, EveryRecordedRequestParses) {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kWireDir)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("req.")) continue;
    ++count;
    const std::string text = readWire(name);
    auto frame = parseRequestFrame(text);
    ASSERT_TRUE(frame) << name << ": " << frame.error().error.message;
    const auto recorded = parseJson(text)->as_object();
    EXPECT_EQ(frame->id, recorded.at("id").as_string()) << name;
    EXPECT_EQ(frame->method, recorded.at("method").as_string()) << name;
    if (recorded.contains("params")) {
      EXPECT_EQ(toCanonicalJson(frame->params), toCanonicalJson(recorded.at("params"))) << name;
    } else {
      EXPECT_TRUE(frame->params.is_null()) << name;
    }
  }
  EXPECT_EQ(count, 17u);  // one connect and sixteen method calls
}

TEST(RecordedFrames, RecordedCallsAuthorizeWithTheCliScopes) {
  // The CLI's scopes from req.connect.json include admin: every recorded method passes the scope check,
  // then is reported as unsupported when Talon has no handler (never "unknown method").
  const ScopeSet admin = ScopeSet::of({Scope::kAdmin});
  for (const auto& entry : std::filesystem::directory_iterator(kWireDir)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("req.") || name == "req.connect.json") continue;
    auto frame = parseRequestFrame(readWire(name));
    ASSERT_TRUE(frame);
    auto r = authorize(frame->method, admin, Role::kOperator, false);
    if (frame->method == "health") {
      EXPECT_TRUE(r) << name;
    } else {
      ASSERT_FALSE(r) << name;
      EXPECT_EQ(r.error().details.at("code").as_string(), "UNSUPPORTED_METHOD") << name;
    }
  }
}

TEST(RecordedFrames, RecordedConnectIsAcceptedAndKeepsItsScopes) {
  auto frame = parseRequestFrame(readWire("req.connect.json"));
  ASSERT_TRUE(frame);
  auto params = parseConnectRequest(*frame);
  ASSERT_TRUE(params) << params.error().error.message;
  EXPECT_EQ(params->client.id, "cli");
  EXPECT_EQ(params->client.mode, ClientMode::kCli);
  EXPECT_EQ(params->client.deviceFamily, "Linux");
  EXPECT_EQ(params->auth.token, "<redacted>");
  auto role = validateConnect(*params);
  ASSERT_TRUE(role);
  EXPECT_EQ(*role, Role::kOperator);

  // The real gateway granted exactly the requested scopes on loopback with the token (res.hello-ok.json).
  const auto granted = grantScopes({.isLoopback = true,
                                    .sharedSecretAuth = params->auth.hasSharedSecret(),
                                    .clientId = params->client.id,
                                    .clientMode = params->client.mode,
                                    .requested = params->scopes});
  const json::value hello = readWireJson("res.hello-ok.json");
  std::vector<std::string> real;
  for (const auto& s : hello.at("payload").at("auth").at("scopes").as_array()) {
    real.emplace_back(s.as_string());
  }
  EXPECT_EQ(granted, real);
}

TEST(RecordedFrames, ConnectChallengeMatchesRecording) {
  const json::value recorded = readWireJson("event.connect.challenge.json");
  const auto& payload = recorded.at("payload").as_object();
  const std::string ours =
      encodeConnectChallenge(std::string(payload.at("nonce").as_string()), payload.at("ts").as_int64());
  EXPECT_EQ(toCanonicalJson(*parseJson(ours)), toCanonicalJson(recorded));
}

TEST(RecordedFrames, EventsMatchRecording) {
  const json::value recorded = readWireJson("events.sample.json");
  std::size_t checked = 0;
  for (const auto& ev : recorded.as_array()) {
    const auto& o = ev.as_object();
    std::optional<StateVersion> sv;
    if (o.contains("stateVersion")) {
      sv = StateVersion{o.at("stateVersion").at("presence").as_int64(), o.at("stateVersion").at("health").as_int64()};
    }
    const std::string ours = encodeEvent(std::string(o.at("event").as_string()), json::serialize(o.at("payload")),
                                         static_cast<uint64_t>(o.at("seq").as_int64()), sv);
    EXPECT_EQ(toCanonicalJson(*parseJson(ours)), toCanonicalJson(ev));
    if (o.at("event") == "tick") {
      EXPECT_EQ(ours, encodeTickEvent(o.at("payload").at("ts").as_int64(), o.at("seq").as_int64()));
    }
    ++checked;
  }
  EXPECT_GT(checked, 0u);
}

TEST(RecordedFrames, HealthResponseMatchesRecording) {
  const json::value recorded = readWireJson("res.health.json");
  const std::string ours =
      encodeResponseOk(std::string(recorded.at("id").as_string()), json::serialize(recorded.at("payload")));
  EXPECT_EQ(toCanonicalJson(*parseJson(ours)), toCanonicalJson(recorded));
}

// HelloOkSchema's required members (schema/frames.ts), as paths; "[]" marks an array, "{}" an object.
struct RequiredField {
  std::vector<std::string> path;
  json::kind kind;
};
const std::vector<RequiredField> kHelloRequired = {
    {{"type"}, json::kind::string},
    {{"protocol"}, json::kind::int64},
    {{"server", "version"}, json::kind::string},
    {{"server", "connId"}, json::kind::string},
    {{"features", "methods"}, json::kind::array},
    {{"features", "events"}, json::kind::array},
    {{"snapshot", "presence"}, json::kind::array},
    {{"snapshot", "health"}, json::kind::object},
    {{"snapshot", "stateVersion", "presence"}, json::kind::int64},
    {{"snapshot", "stateVersion", "health"}, json::kind::int64},
    {{"snapshot", "uptimeMs"}, json::kind::int64},
    {{"auth", "role"}, json::kind::string},
    {{"auth", "scopes"}, json::kind::array},
    {{"policy", "maxPayload"}, json::kind::int64},
    {{"policy", "maxBufferedBytes"}, json::kind::int64},
    {{"policy", "tickIntervalMs"}, json::kind::int64},
};

const json::value* at(const json::value& root, const std::vector<std::string>& path) {
  const json::value* v = &root;
  for (const auto& key : path) {
    if (!v->is_object()) return nullptr;
    auto it = v->as_object().find(key);
    if (it == v->as_object().end()) return nullptr;
    v = &it->value();
  }
  return v;
}

std::string joined(const std::vector<std::string>& path) {
  std::string s;
  for (const auto& p : path) s += (s.empty() ? "" : ".") + p;
  return s;
}

// Our hello-ok built from the real one's snapshot, with Talon's methods, events and capabilities.
json::value buildOurHello(const json::object& real, const std::vector<std::string>& scopes) {
  const auto& realSnap = real.at("snapshot").as_object();
  HelloSnapshot snap;
  snap.presence = realSnap.at("presence").as_array();
  snap.health = realSnap.at("health").as_object();
  snap.stateVersion = {realSnap.at("stateVersion").at("presence").as_int64(),
                       realSnap.at("stateVersion").at("health").as_int64()};
  snap.uptimeMs = realSnap.at("uptimeMs").as_int64();
  for (const auto& kv : realSnap) {
    if (kv.key() != "presence" && kv.key() != "health" && kv.key() != "stateVersion" && kv.key() != "uptimeMs") {
      snap.extra[kv.key()] = kv.value();
    }
  }
  const std::vector<std::string_view> methods = {"health", "status", "chat.send"};
  HelloOkInput in{.serverVersion = "0.1.0",
                  .connId = "545a4873-c7a4-4d34-823d-bab2fc2b67c3",
                  .methods = methods,
                  .events = kTalonEvents,
                  .capabilities = kTalonServerCapabilities,
                  .snapshot = &snap,
                  .auth = {.role = "operator", .scopes = scopes, .method = "token"}};
  auto text = encodeHelloOk(in);
  EXPECT_TRUE(text) << text.error().toString();
  auto v = parseJson(text ? *text : "null");
  EXPECT_TRUE(v);
  return *v;
}

TEST(RecordedFrames, HelloOkHasEveryRequiredFieldOfTheRealOne) {
  const json::value realFrame = readWireJson("res.hello-ok.json");
  const json::value& real = realFrame.at("payload");
  const std::vector<std::string> scopes = {"operator.admin", "operator.read"};
  const json::value ours = buildOurHello(real.as_object(), scopes);

  for (const auto& f : kHelloRequired) {
    const json::value* r = at(real, f.path);
    ASSERT_NE(r, nullptr) << "the recording lacks " << joined(f.path);  // the list is right
    EXPECT_EQ(r->kind(), f.kind) << joined(f.path);
    const json::value* o = at(ours, f.path);
    ASSERT_NE(o, nullptr) << "ours lacks " << joined(f.path);
    EXPECT_EQ(o->kind(), f.kind) << joined(f.path);
  }
  EXPECT_EQ(ours.at("type"), "hello-ok");
  EXPECT_EQ(ours.at("protocol"), real.at("protocol"));
  EXPECT_EQ(ours.at("policy"), json::value({{"maxPayload", real.at("policy").at("maxPayload")},
                                            {"maxBufferedBytes", real.at("policy").at("maxBufferedBytes")},
                                            {"tickIntervalMs", real.at("policy").at("tickIntervalMs")}}));
  EXPECT_EQ(toCanonicalJson(ours.at("snapshot")), toCanonicalJson(real.at("snapshot")));

  // Closed schemas: every member we send exists in the real frame's objects too.
  for (const char* obj : {"", "server", "features", "auth", "policy"}) {
    const json::value& ourObj = *obj ? ours.at(obj) : ours;
    const json::value& realObj = *obj ? real.at(obj) : real;
    for (const auto& kv : ourObj.as_object()) {
      EXPECT_TRUE(realObj.as_object().contains(kv.key())) << obj << "." << std::string(kv.key());
    }
  }

  // Talon's advertised names are a subset of OpenClaw's.
  auto contains = [](const json::value& arr, std::string_view s) {
    for (const auto& x : arr.as_array()) {
      if (x.as_string() == s) return true;
    }
    return false;
  };
  for (const auto& m : ours.at("features").at("methods").as_array()) {
    EXPECT_TRUE(contains(real.at("features").at("methods"), m.as_string())) << m;
  }
  for (const auto& e : ours.at("features").at("events").as_array()) {
    EXPECT_TRUE(contains(real.at("features").at("events"), e.as_string())) << e;
  }
  EXPECT_TRUE(contains(ours.at("features").at("capabilities"), "published-model-catalog"));
  EXPECT_TRUE(contains(real.at("features").at("capabilities"), "published-model-catalog"));
}

TEST(RecordedFrames, HelloOkWrappedInResponseLikeTheRealOne) {
  const json::value realFrame = readWireJson("res.hello-ok.json");
  const std::vector<std::string> scopes = {"operator.read"};
  const json::value ours = buildOurHello(realFrame.at("payload").as_object(), scopes);
  const std::string frame = encodeResponseOk(std::string(realFrame.at("id").as_string()), json::serialize(ours));
  auto v = parseJson(frame);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->at("type"), realFrame.at("type"));
  EXPECT_EQ(v->at("id"), realFrame.at("id"));
  EXPECT_EQ(v->at("ok"), realFrame.at("ok"));
  EXPECT_EQ(v->at("payload").at("type"), "hello-ok");
}

}  // namespace
}  // namespace talon::protocol
