#include "gateway/methods/method_registry.h"

#include <gtest/gtest.h>

#include "protocol/methods.h"

namespace talon::gateway::methods {
namespace {

/// A responder that records answers.
class Recorder final : public RpcResponder {
 public:
  void respondOk(std::string_view id, std::string_view payload) override {
    answers.push_back(std::string(id) + " ok " + std::string(payload));
  }
  void respondError(std::string_view id, const Error& e, std::optional<std::string_view>) override {
    answers.push_back(std::string(id) + " error " + std::string(protocolErrorCode(e.code)) + " " + e.publicMessage());
  }
  void subscribeSession(const std::string&) override {}
  std::vector<std::string> answers;
};

MethodDefinition echo(std::string_view name, protocol::Scope scope, ParamsSchema params = {}) {
  return {name, scope, std::move(params), [](const MethodCall& call) { call.ok(json::serialize(call.params)); }};
}

TEST(MethodRegistry, RefusesWhatOpenClawsTableContradicts) {
  MethodRegistry r;
  EXPECT_EQ(r.add(echo("no.such.method", protocol::Scope::kRead)).error().code, ErrorCode::kInvalidArgument);
  // chat.send needs operator.write in OpenClaw: a handler cannot declare read.
  auto weaker = r.add(echo("chat.send", protocol::Scope::kRead));
  ASSERT_FALSE(weaker);
  EXPECT_NE(weaker.error().message.find("operator.write"), std::string::npos);
  // Node-only methods are not for operators.
  EXPECT_FALSE(r.add(echo("node.event", protocol::Scope::kAdmin)));
  EXPECT_FALSE(r.add({"status", protocol::Scope::kRead, {}, nullptr}));
  ASSERT_TRUE(r.add(echo("status", protocol::Scope::kRead)));
  EXPECT_EQ(r.add(echo("status", protocol::Scope::kRead)).error().code, ErrorCode::kAlreadyExists);
}

TEST(MethodRegistry, NamesFollowTheTableOrderAndDriveAuthorize) {
  MethodRegistry r;
  ASSERT_TRUE(r.add(echo("status", protocol::Scope::kRead)));
  ASSERT_TRUE(r.add(echo("chat.send", protocol::Scope::kWrite)));
  ASSERT_TRUE(r.add(echo("health", protocol::Scope::kRead)));
  EXPECT_EQ(r.names(), (std::vector<std::string_view>{"chat.send", "health", "status"}));
  ASSERT_NE(r.find("status"), nullptr);
  EXPECT_EQ(r.find("status")->spec, protocol::findMethod("status"));  // the row authorizeFound reads
  EXPECT_EQ(r.find("cron.list"), nullptr);
  auto admin = protocol::ScopeSet::of({protocol::Scope::kAdmin});
  auto unsupported = protocol::authorize("cron.list", admin, protocol::Role::kOperator, r.find("cron.list") != nullptr);
  ASSERT_FALSE(unsupported);
  EXPECT_EQ(unsupported.error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(unsupported.error().details.at("code").as_string(), "UNSUPPORTED_METHOD");
}

TEST(MethodRegistry, DispatchHandsEveryRequestTheConnectionsCallerAndAnUnknownOneOtherwise) {
  MethodRegistry r;
  std::vector<const MethodCaller*> seen;
  ASSERT_TRUE(r.add({"health", protocol::Scope::kRead, {}, [&](const MethodCall& call) {
                       seen.push_back(call.caller.get());
                       call.ok(R"({"clientId":")" + call.caller->clientId + R"("})");
                     }}));
  auto rec = std::make_shared<Recorder>();
  auto caller = std::make_shared<const MethodCaller>(MethodCaller{"cli", "127.0.0.1:1", {}, {}, std::nullopt});
  protocol::RequestFrame f;
  f.id = "1";
  f.method = "health";
  MethodRegistry::dispatch(*r.find("health"), f, rec, caller);
  MethodRegistry::dispatch(*r.find("health"), f, rec, caller);
  MethodRegistry::dispatch(*r.find("health"), f, rec);  // in-process: no caller
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], caller.get());  // shared, not copied per request
  EXPECT_EQ(seen[1], caller.get());
  ASSERT_NE(seen[2], nullptr);
  EXPECT_EQ(rec->answers, (std::vector<std::string>{R"(1 ok {"clientId":"cli"})", R"(1 ok {"clientId":"cli"})",
                                                    R"(1 ok {"clientId":""})"}));
}

TEST(MethodRegistry, DispatchValidatesParamsAgainstTheDeclaredSchema) {
  MethodRegistry r;
  ASSERT_TRUE(r.add(echo("sessions.list", protocol::Scope::kRead,
                         {{"limit", ParamType::kInteger}, {"search", ParamType::kString, false, true}})));
  auto rec = std::make_shared<Recorder>();
  auto call = [&](std::string paramsJson) {
    protocol::RequestFrame f;
    f.id = "1";
    f.method = "sessions.list";
    f.params = paramsJson.empty() ? json::value(nullptr) : *parseJson(paramsJson);
    MethodRegistry::dispatch(*r.find("sessions.list"), f, rec);
  };
  call("");
  call(R"({"limit":5})");
  call(R"({"limit":"x"})");
  call(R"({"bogus":1})");
  call(R"({"search":"a"})");
  call(R"([])");
  ASSERT_EQ(rec->answers.size(), 6u);
  EXPECT_EQ(rec->answers[0], "1 ok {}");
  EXPECT_EQ(rec->answers[1], R"(1 ok {"limit":5})");
  EXPECT_EQ(rec->answers[2], "1 error INVALID_REQUEST invalid sessions.list params: at /limit: must be integer");
  EXPECT_EQ(rec->answers[3],
            "1 error INVALID_REQUEST invalid sessions.list params: at root: unexpected property 'bogus'");
  EXPECT_EQ(rec->answers[4], "1 error INVALID_REQUEST sessions.list param 'search' is not supported by Talon yet");
  EXPECT_EQ(rec->answers[5], "1 error INVALID_REQUEST invalid sessions.list params: must be object");
}

TEST(MethodCaller, AuditActorNamesTheClientOrUnknown) {
  MethodCaller caller;
  EXPECT_EQ(caller.auditActor(), "operator:unknown");
  caller.clientId = "openclaw-control-ui";
  EXPECT_EQ(caller.auditActor(), "operator:openclaw-control-ui");
}

}  // namespace
}  // namespace talon::gateway::methods
