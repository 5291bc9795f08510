#include "protocol/handshake.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "base/json.h"
#include "protocol/errors.h"
#include "protocol/methods.h"

namespace talon::protocol {
namespace {

// A valid connect params object as the OpenClaw CLI sends it; tests patch one member at a time.
json::object baseConnect() {
  auto v = parseJson(R"({"minProtocol":4,"maxProtocol":4,
    "client":{"id":"cli","version":"2026.9.6","platform":"linux","mode":"cli"},
    "caps":[],"auth":{"token":"t"},"role":"operator","scopes":["operator.read"]})");
  return v->as_object();
}

std::string connectError(const json::value& params) {
  auto r = parseConnectParams(params);
  if (r) return "";
  EXPECT_EQ(protocolErrorCode(r.error().code), "INVALID_REQUEST");
  return r.error().publicMessage();
}

TEST(ConnectChallenge, Shape) {
  const std::string text = encodeConnectChallenge("1af7d80a-17bf-4bac-b2a1-abe8d6ca00ae", 1795263638110);
  EXPECT_EQ(text,
            R"({"type":"event","event":"connect.challenge","payload":{"nonce":"1af7d80a-17bf-4bac-b2a1-abe8d6ca00ae",)"
            R"("ts":1795263638110,"capabilities":["model-catalog-snapshot"]}})");
}

TEST(ConnectParamsParse, ValidFull) {
  json::object p = baseConnect();
  p["client"].as_object()["displayName"] = "gateway:health";
  p["client"].as_object()["instanceId"] = "i-1";
  p["client"].as_object()["deviceFamily"] = "Linux";
  p["caps"] = json::array{"tool-events"};
  p["locale"] = "en";
  p["permissions"] = json::object{{"camera", false}};
  auto r = parseConnectParams(p);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->minProtocol, 4);
  EXPECT_EQ(r->maxProtocol, 4);
  EXPECT_EQ(r->client.id, "cli");
  EXPECT_EQ(r->client.version, "2026.9.6");
  EXPECT_EQ(r->client.platform, "linux");
  EXPECT_EQ(r->client.mode, ClientMode::kCli);
  EXPECT_EQ(r->client.displayName, "gateway:health");
  EXPECT_EQ(r->client.instanceId, "i-1");
  EXPECT_EQ(r->client.deviceFamily, "Linux");
  EXPECT_EQ(r->role, "operator");
  EXPECT_EQ(r->scopes, std::vector<std::string>{"operator.read"});
  EXPECT_EQ(r->caps, std::vector<std::string>{"tool-events"});
  EXPECT_EQ(r->auth.token, "t");
  EXPECT_FALSE(r->auth.password);
  EXPECT_TRUE(r->auth.hasSharedSecret());
  EXPECT_FALSE(r->device);
}

TEST(ConnectParamsParse, DefaultsWhenOptionalMembersAbsent) {
  auto v = parseJson(R"({"minProtocol":4,"maxProtocol":4,
    "client":{"id":"gateway-client","version":"1","platform":"linux","mode":"backend"}})");
  auto r = parseConnectParams(*v);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->role, "operator");
  EXPECT_TRUE(r->scopes.empty());
  EXPECT_TRUE(r->caps.empty());
  EXPECT_FALSE(r->auth.hasSharedSecret());
  EXPECT_EQ(r->client.mode, ClientMode::kBackend);
}

TEST(ConnectParamsParse, IntegralDoublesAreIntegers) {
  json::object p = baseConnect();
  p["minProtocol"] = 4.0;
  EXPECT_EQ(connectError(p), "");
}

TEST(ConnectParamsParse, DeviceIsParsed) {
  json::object p = baseConnect();
  p["device"] = json::object{{"id", "d"}, {"publicKey", "k"}, {"signature", "s"}, {"signedAt", 5}, {"nonce", "n"}};
  auto r = parseConnectParams(p);
  ASSERT_TRUE(r) << r.error().toString();
  ASSERT_TRUE(r->device);
  EXPECT_EQ(r->device->id, "d");
  EXPECT_EQ(r->device->signedAt, 5);
  EXPECT_EQ(r->device->nonce, "n");
}

struct BadConnect {
  const char* name;
  // Mutates the base params.
  void (*mutate)(json::object&);
  const char* message;
};

void PrintTo(const BadConnect& c, std::ostream* os) { *os << c.name; }

class ConnectParamsInvalid : public ::testing::TestWithParam<BadConnect> {};

TEST_P(ConnectParamsInvalid, Message) {
  json::object p = baseConnect();
  GetParam().mutate(p);
  EXPECT_EQ(connectError(p), std::string("invalid connect params: ") + GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConnectParamsInvalid,
    ::testing::Values(
        BadConnect{"missingClient", [](json::object& p) { p.erase("client"); }, "must have required property 'client'"},
        BadConnect{"missingMinProtocol", [](json::object& p) { p.erase("minProtocol"); },
                   "must have required property 'minProtocol'"},
        BadConnect{"unknownClientId", [](json::object& p) { p["client"].as_object()["id"] = "my-bot"; },
                   "at /client/id: must be equal to one of the allowed values"},
        BadConnect{"clientIdWrongCase", [](json::object& p) { p["client"].as_object()["id"] = "CLI"; },
                   "at /client/id: must be equal to one of the allowed values"},
        BadConnect{"unknownMode", [](json::object& p) { p["client"].as_object()["mode"] = "daemon"; },
                   "at /client/mode: must be equal to one of the allowed values"},
        BadConnect{"emptyVersion", [](json::object& p) { p["client"].as_object()["version"] = ""; },
                   "at /client/version: must NOT have fewer than 1 characters"},
        BadConnect{"missingPlatform", [](json::object& p) { p["client"].as_object().erase("platform"); },
                   "at /client: must have required property 'platform'"},
        BadConnect{"extraClientKey", [](json::object& p) { p["client"].as_object()["color"] = "red"; },
                   "at /client: unexpected property 'color'"},
        BadConnect{"extraTopKey", [](json::object& p) { p["debug"] = true; }, "at root: unexpected property 'debug'"},
        BadConnect{"protocolNotInteger", [](json::object& p) { p["minProtocol"] = "4"; },
                   "at /minProtocol: must be integer"},
        BadConnect{"protocolFraction", [](json::object& p) { p["maxProtocol"] = 4.5; },
                   "at /maxProtocol: must be integer"},
        BadConnect{"protocolZero", [](json::object& p) { p["minProtocol"] = 0; }, "at /minProtocol: must be >= 1"},
        BadConnect{"roleNotString", [](json::object& p) { p["role"] = 1; }, "at /role: must be string"},
        BadConnect{"roleEmpty", [](json::object& p) { p["role"] = ""; },
                   "at /role: must NOT have fewer than 1 characters"},
        BadConnect{"scopesNotArray", [](json::object& p) { p["scopes"] = "operator.read"; },
                   "at /scopes: must be array"},
        BadConnect{"emptyScope",
                   [](json::object& p) {
                     p["scopes"] = json::array{"operator.read", ""};
                   },
                   "at /scopes/1: must NOT have fewer than 1 characters"},
        BadConnect{"authExtraKey",
                   [](json::object& p) {
                     p["auth"] = json::object{{"apiKey", "x"}};
                   },
                   "at /auth: unexpected property 'apiKey'"},
        BadConnect{"authTokenNotString",
                   [](json::object& p) {
                     p["auth"] = json::object{{"token", 5}};
                   },
                   "at /auth/token: must be string"},
        BadConnect{"deviceMissingNonce",
                   [](json::object& p) {
                     p["device"] = json::object{{"id", "d"}, {"publicKey", "k"}, {"signature", "s"}, {"signedAt", 1}};
                   },
                   "at /device: must have required property 'nonce'"},
        BadConnect{"permissionsNotBool",
                   [](json::object& p) {
                     p["permissions"] = json::object{{"camera", "yes"}};
                   },
                   "at /permissions/camera: must be boolean"},
        BadConnect{"buildIdTooLong", [](json::object& p) { p["client"].as_object()["buildId"] = std::string(97, 'b'); },
                   "at /client/buildId: must NOT have more than 96 characters"}),
    [](const ::testing::TestParamInfo<BadConnect>& info) { return std::string(info.param.name); });

TEST(ConnectParamsParse, NotAnObject) {
  EXPECT_EQ(connectError(json::value(nullptr)), "invalid connect params: must be object");
  EXPECT_EQ(connectError(json::array{}), "invalid connect params: must be object");
}

TEST(ConnectRequest, FirstRequestMustBeConnect) {
  auto frame = parseRequestFrame(R"({"type":"req","id":"1","method":"health"})");
  ASSERT_TRUE(frame);
  auto r = parseConnectRequest(*frame);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.publicMessage(), "invalid handshake: first request must be connect");
  EXPECT_EQ(protocolErrorCode(r.error().error.code), "INVALID_REQUEST");
  EXPECT_EQ(r.error().closeCode, kClosePolicyViolation);
  EXPECT_EQ(r.error().closeReason, "invalid handshake: first request must be connect");
}

TEST(ConnectRequest, InvalidParamsCloseWithPolicyViolation) {
  auto frame = parseRequestFrame(R"({"type":"req","id":"c","method":"connect","params":{"minProtocol":4}})");
  ASSERT_TRUE(frame);
  auto r = parseConnectRequest(*frame);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.publicMessage(), "invalid connect params: must have required property 'maxProtocol'");
  EXPECT_EQ(r.error().closeCode, kClosePolicyViolation);
}

ConnectParams params(int64_t min, int64_t max, ClientMode mode = ClientMode::kCli, std::string role = "operator") {
  ConnectParams p;
  p.minProtocol = min;
  p.maxProtocol = max;
  p.client.id = "cli";
  p.client.version = "1";
  p.client.platform = "linux";
  p.client.mode = mode;
  p.role = std::move(role);
  p.auth.token = "t";
  return p;
}

TEST(ValidateConnect, ProtocolRanges) {
  EXPECT_TRUE(validateConnect(params(4, 4)));
  EXPECT_TRUE(validateConnect(params(3, 5)));
  EXPECT_TRUE(validateConnect(params(1, 4)));
  EXPECT_FALSE(validateConnect(params(3, 3)));
  EXPECT_FALSE(validateConnect(params(5, 6)));
  EXPECT_TRUE(validateConnect(params(3, 3, ClientMode::kProbe)));  // probe: min 3
  EXPECT_FALSE(validateConnect(params(2, 2, ClientMode::kProbe)));
  EXPECT_TRUE(validateConnect(params(3, 3, ClientMode::kNode, "node")));  // node: MIN_NODE 3
  EXPECT_FALSE(validateConnect(params(3, 3, ClientMode::kCli, "node")));  // node role needs node mode
}

TEST(ValidateConnect, ProtocolMismatchDetails) {
  auto r = validateConnect(params(3, 3));
  ASSERT_FALSE(r);
  EXPECT_EQ(protocolErrorCode(r.error().error.code), "INVALID_REQUEST");
  EXPECT_EQ(r.error().error.publicMessage(), "protocol mismatch");
  EXPECT_EQ(toCanonicalJson(r.error().error.details),
            R"({"clientMaxProtocol":3,"clientMinProtocol":3,"code":"PROTOCOL_MISMATCH","expectedProtocol":4,)"
            R"("minimumProbeProtocol":3})");
  EXPECT_EQ(r.error().closeCode, kCloseProtocolError);
  EXPECT_EQ(r.error().closeReason, "protocol mismatch");
}

TEST(ValidateConnect, Roles) {
  EXPECT_EQ(*validateConnect(params(4, 4)), Role::kOperator);
  EXPECT_EQ(*validateConnect(params(4, 4, ClientMode::kNode, "node")), Role::kNode);
  EXPECT_EQ(*validateConnect(params(4, 4, ClientMode::kWorker, "worker")), Role::kWorker);
  auto bad = validateConnect(params(4, 4, ClientMode::kCli, "admin"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().error.publicMessage(), "invalid role");
  EXPECT_EQ(protocolErrorCode(bad.error().error.code), "INVALID_REQUEST");
  EXPECT_EQ(bad.error().closeCode, kClosePolicyViolation);
  EXPECT_EQ(bad.error().closeReason, "invalid role");
}

TEST(ValidateConnect, ProtocolIsCheckedBeforeRole) {
  auto r = validateConnect(params(9, 9, ClientMode::kCli, "admin"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.publicMessage(), "protocol mismatch");
}

// Credentials and device identities are the Authenticator's: validateConnect lets them through.
TEST(ValidateConnect, CredentialsAreLeftToTheAuthenticator) {
  ConnectParams p = params(4, 4);
  p.auth.token.reset();
  p.device = ConnectDevice{"d", "k", "s", 1, "n"};
  EXPECT_TRUE(validateConnect(p));
  ConnectParams deviceToken = params(4, 4);
  deviceToken.auth.token.reset();
  deviceToken.auth.deviceToken = "dt";
  EXPECT_TRUE(validateConnect(deviceToken));
  ConnectParams nothing = params(4, 4);
  nothing.auth.token.reset();
  EXPECT_TRUE(validateConnect(nothing));
}

TEST(PairingErrors, AsOpenClawSendsThem) {
  const std::vector<std::string> scopes = {"operator.read"};
  Error e = pairingRequiredError(PairingReason::kNotPaired, "req-1", "dev", "operator", scopes);
  EXPECT_EQ(protocolErrorCode(e.code), "NOT_PAIRED");
  EXPECT_EQ(e.publicMessage(), "pairing required: device is not approved yet");
  EXPECT_EQ(json::serialize(e.details),
            R"({"code":"PAIRING_REQUIRED","reason":"not-paired","requestId":"req-1","remediationHint":"Approve this )"
            R"(device from the pending pairing requests.","deviceId":"dev","requestedRole":"operator",)"
            R"("requestedScopes":["operator.read"]})");
  EXPECT_EQ(pairingCloseReason(PairingReason::kNotPaired, "req-1"),
            "pairing required: device is not approved yet (requestId: req-1)");
  Error required = deviceIdentityRequiredError();
  EXPECT_EQ(protocolErrorCode(required.code), "NOT_PAIRED");
  EXPECT_EQ(required.details.at("code"), "DEVICE_IDENTITY_REQUIRED");
  EXPECT_EQ(deviceTokenMismatchError().details.at("code"), "AUTH_DEVICE_TOKEN_MISMATCH");
}

TEST(CloseReason, TruncatesAtUtf8Boundary) {
  EXPECT_EQ(truncateCloseReason(""), "invalid handshake");
  EXPECT_EQ(truncateCloseReason("short"), "short");
  EXPECT_EQ(truncateCloseReason(std::string(200, 'a')).size(), kCloseReasonMaxBytes);
  std::string multi(119, 'a');
  multi += "\xc3\xa9\xc3\xa9";  // é crosses the 120-byte limit
  EXPECT_EQ(truncateCloseReason(multi), std::string(119, 'a'));
}

TEST(HandshakeErrors, AuthTokenMismatchForLocalCli) {
  const Error e = authFailureError(AuthFailure::kTokenMismatch, "cli", ClientMode::kCli, true);
  EXPECT_EQ(protocolErrorCode(e.code), "INVALID_REQUEST");
  EXPECT_EQ(e.publicMessage(),
            "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token or pair the device)");
  EXPECT_EQ(toCanonicalJson(e.details),
            R"({"authReason":"token_mismatch","canRetryWithDeviceToken":false,"code":"AUTH_TOKEN_MISMATCH",)"
            R"("recommendedNextStep":"update_auth_credentials"})");
}

TEST(HandshakeErrors, AuthFailureHintsByClientKind) {
  EXPECT_EQ(authFailureError(AuthFailure::kTokenMismatch, "cli", ClientMode::kCli, false).publicMessage(),
            "unauthorized: gateway token mismatch (set gateway.remote.token to match gateway.auth.token)");
  EXPECT_EQ(authFailureError(AuthFailure::kTokenMismatch, "gateway-client", ClientMode::kBackend, true).publicMessage(),
            "unauthorized: gateway token mismatch (provide gateway auth token)");
  EXPECT_EQ(authFailureError(AuthFailure::kTokenMismatch, "openclaw-control-ui", ClientMode::kUi, true).publicMessage(),
            "unauthorized: gateway token mismatch (open the dashboard URL and paste the token in Control UI settings)");
  const Error missing = authFailureError(AuthFailure::kTokenMissing, "cli", ClientMode::kCli, true);
  EXPECT_EQ(missing.details.at("code").as_string(), "AUTH_TOKEN_MISSING");
  EXPECT_EQ(missing.details.at("recommendedNextStep").as_string(), "update_auth_configuration");
  const Error pw = authFailureError(AuthFailure::kPasswordMismatch, "cli", ClientMode::kCli, true);
  EXPECT_EQ(pw.publicMessage(), "unauthorized: gateway password mismatch (use this gateway's gateway.auth.password)");
  EXPECT_EQ(pw.details.at("code").as_string(), "AUTH_PASSWORD_MISMATCH");
}

TEST(HandshakeErrors, StartupErrors) {
  const Error connect = gatewayStartingError();
  EXPECT_EQ(protocolErrorCode(connect.code), "UNAVAILABLE");
  EXPECT_TRUE(connect.retryable());
  EXPECT_EQ(connect.retryAfterMs, 500);
  EXPECT_EQ(toCanonicalJson(connect.details), R"({"reason":"startup-sidecars"})");

  const Error method = methodStartingError("chat.send");
  EXPECT_EQ(method.publicMessage(), "chat.send unavailable during gateway startup");
  EXPECT_EQ(toCanonicalJson(method.details), R"({"method":"chat.send","reason":"startup-sidecars"})");
}

HelloSnapshot minimalSnapshot() {
  HelloSnapshot s;
  s.health = {{"ok", true}};
  s.stateVersion = {1, 2};
  s.uptimeMs = 10;
  return s;
}

TEST(HelloOk, AddsPublishedModelCatalogOnce) {
  const HelloSnapshot snap = minimalSnapshot();
  const std::vector<std::string> scopes = {"operator.read"};
  HelloOkInput in{.serverVersion = "0.1.0", .connId = "c1", .snapshot = &snap};
  in.auth.scopes = scopes;
  auto without = encodeHelloOk(in);
  ASSERT_TRUE(without) << without.error().toString();
  auto v = parseJson(*without);
  ASSERT_TRUE(v);
  EXPECT_EQ(json::serialize(v->at("features").at("capabilities")), R"(["published-model-catalog"])");

  in.capabilities = kTalonServerCapabilities;
  auto with = encodeHelloOk(in);
  ASSERT_TRUE(with);
  EXPECT_EQ(json::serialize(parseJson(*with)->at("features").at("capabilities")), R"(["published-model-catalog"])");
}

TEST(HelloOk, RejectsBadInput) {
  HelloSnapshot snap = minimalSnapshot();
  HelloOkInput in{.serverVersion = "0.1.0", .connId = "", .snapshot = &snap};
  EXPECT_FALSE(encodeHelloOk(in));
  in.connId = "c";
  EXPECT_TRUE(encodeHelloOk(in));
  in.snapshot = nullptr;
  EXPECT_FALSE(encodeHelloOk(in));
  snap.extra["notASnapshotField"] = 1;
  in.snapshot = &snap;
  auto r = encodeHelloOk(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  const std::vector<std::string_view> methods = {"health", ""};
  snap.extra.clear();
  in.methods = methods;
  EXPECT_FALSE(encodeHelloOk(in));
}

TEST(HelloOk, AuthMethodOptional) {
  const HelloSnapshot snap = minimalSnapshot();
  HelloOkInput in{.serverVersion = "0.1.0", .connId = "c1", .snapshot = &snap};
  auto v = parseJson(*encodeHelloOk(in));
  EXPECT_FALSE(v->at("auth").as_object().contains("method"));
  in.auth.method = "token";
  v = parseJson(*encodeHelloOk(in));
  EXPECT_EQ(v->at("auth").at("method").as_string(), "token");
  EXPECT_EQ(v->at("policy").at("maxPayload").as_int64(), kMaxPayloadBytes);
  EXPECT_EQ(v->at("policy").at("maxBufferedBytes").as_int64(), kMaxBufferedBytes);
  EXPECT_EQ(v->at("policy").at("tickIntervalMs").as_int64(), kTickIntervalMs);
}

}  // namespace
}  // namespace talon::protocol
