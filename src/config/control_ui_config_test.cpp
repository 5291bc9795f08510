// `gateway.controlUi` (sections/gateway_section.cpp): OpenClaw's keys for the browser UI and browser
// origins, their normalisation and their errors.
#include <gtest/gtest.h>

#include "config/config_test_util.h"
#include "config/config_validator.h"
#include "config/json5.h"

namespace talon::config {
namespace {

using testing::messages;
using testing::validate;

TEST(ControlUiConfig, DefaultsServeThePageWithNoExtraOrigins) {
  auto r = validate("{}");
  ASSERT_TRUE(r.diagnostics.empty()) << messages(r);
  EXPECT_TRUE(r.config.gateway.controlUi.enabled);
  EXPECT_EQ(r.config.gateway.controlUi.basePath, "");
  EXPECT_TRUE(r.config.gateway.controlUi.allowedOrigins.empty());
  EXPECT_FALSE(r.config.gateway.controlUi.allowHostHeaderOriginFallback);
}

TEST(ControlUiConfig, OpenClawKeysAreReadAndNormalised) {
  auto r = validate(R"({gateway: {controlUi: {
    enabled: false, basePath: 'talon/',
    allowedOrigins: ['HTTPS://Chat.Example.com/', 'http://10.0.0.5:18789', '*'],
    dangerouslyAllowHostHeaderOriginFallback: true }}})");
  ASSERT_TRUE(r.diagnostics.empty()) << messages(r);
  const auto& ui = r.config.gateway.controlUi;
  EXPECT_FALSE(ui.enabled);
  EXPECT_EQ(ui.basePath, "/talon");
  EXPECT_EQ(ui.allowedOrigins, (std::vector<std::string>{"https://chat.example.com", "http://10.0.0.5:18789", "*"}));
  EXPECT_TRUE(ui.allowHostHeaderOriginFallback);
  EXPECT_EQ(validate("{gateway: {controlUi: {basePath: '/'}}}").config.gateway.controlUi.basePath, "");
}

TEST(ControlUiConfig, AnOriginThatCouldNeverMatchIsAnError) {
  auto r = validate(
      "{gateway: {controlUi: {allowedOrigins: ['https://chat.example.com/app', 'chat.example.com', 'http://', "
      "'http:///']}}}");
  ASSERT_EQ(r.diagnostics.size(), 4u) << messages(r);
  EXPECT_EQ(r.diagnostics[0].code, DiagnosticCode::kValue);
  EXPECT_NE(r.diagnostics[0].toString().find("gateway.controlUi.allowedOrigins[0]"), std::string::npos) << messages(r);
  EXPECT_EQ(r.diagnostics[1].code, DiagnosticCode::kValue);
}

TEST(ControlUiConfig, OtherOpenClawKeysAreReportedAsNotSupported) {
  auto r = validate("{gateway: {controlUi: {root: '/srv/ui'}}}");
  ASSERT_EQ(r.diagnostics.size(), 1u) << messages(r);
  EXPECT_EQ(r.diagnostics[0].code, DiagnosticCode::kUnsupportedKey);
  auto bad = validate("{gateway: {controlUi: {basePath: '/a?b'}}}");
  ASSERT_EQ(bad.diagnostics.size(), 1u) << messages(bad);
  EXPECT_EQ(bad.diagnostics[0].code, DiagnosticCode::kValue);
}

}  // namespace
}  // namespace talon::config
