#include "security/webhook_signature.h"

#include <gtest/gtest.h>

namespace talon::security {
namespace {

constexpr int64_t kNow = 1'700'000'000;  // SimulatedClock's default start, seconds

// Computed independently: python3 hmac.new(b"whsec_test", b'1700000000.{"a":1}', hashlib.sha256).
constexpr std::string_view kKnownSignature = "sha256=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789";

TEST(WebhookSignature, SignsTimestampDotBodyWithHmacSha256) {
  EXPECT_EQ(signWebhook("whsec_test", kNow, R"({"a":1})"), kKnownSignature);
}

TEST(WebhookSignature, AcceptsAFreshSignatureOnce) {
  auto clock = std::make_shared<SimulatedClock>();
  WebhookVerifier v(Secret("whsec_test"), 300, clock);
  EXPECT_EQ(v.verify("1700000000", kKnownSignature, R"({"a":1})"), SignatureCheck::kValid);
  EXPECT_EQ(v.verify("1700000000", kKnownSignature, R"({"a":1})"), SignatureCheck::kReplayed);
  // Once the window has passed the remembered signature is forgotten, and the timestamp is stale.
  clock->advance(302'000);
  EXPECT_EQ(v.verify("1700000000", kKnownSignature, R"({"a":1})"), SignatureCheck::kStale);
}

TEST(WebhookSignature, UpperCaseHexIsAccepted) {
  auto clock = std::make_shared<SimulatedClock>();
  WebhookVerifier v(Secret("whsec_test"), 300, clock);
  std::string upper(kKnownSignature);
  for (std::size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  EXPECT_EQ(v.verify("1700000000", upper, R"({"a":1})"), SignatureCheck::kValid);
}

TEST(WebhookSignature, RefusesWhatIsNotSignedWithTheSecret) {
  auto clock = std::make_shared<SimulatedClock>();
  WebhookVerifier v(Secret("whsec_test"), 300, clock);
  EXPECT_EQ(v.verify("1700000000", kKnownSignature, R"({"a":2})"), SignatureCheck::kMismatch);  // body changed
  EXPECT_EQ(v.verify("1700000001", kKnownSignature, R"({"a":1})"), SignatureCheck::kMismatch);  // re-dated
  EXPECT_EQ(v.verify("1700000000", signWebhook("other", kNow, R"({"a":1})"), R"({"a":1})"), SignatureCheck::kMismatch);
}

TEST(WebhookSignature, ReplayWindowBothWays) {
  auto clock = std::make_shared<SimulatedClock>();
  WebhookVerifier v(Secret("s"), 300, clock);
  EXPECT_EQ(v.verify(std::to_string(kNow - 300), signWebhook("s", kNow - 300, "b"), "b"), SignatureCheck::kValid);
  EXPECT_EQ(v.verify(std::to_string(kNow - 301), signWebhook("s", kNow - 301, "b"), "b"), SignatureCheck::kStale);
  EXPECT_EQ(v.verify(std::to_string(kNow + 300), signWebhook("s", kNow + 300, "b"), "b"), SignatureCheck::kValid);
  EXPECT_EQ(v.verify(std::to_string(kNow + 301), signWebhook("s", kNow + 301, "b"), "b"), SignatureCheck::kStale);
  EXPECT_EQ(v.verify("99999999999999999999", signWebhook("s", kNow, "b"), "b"), SignatureCheck::kMalformed);
}

TEST(WebhookSignature, MissingAndMalformedHeaders) {
  auto clock = std::make_shared<SimulatedClock>();
  WebhookVerifier v(Secret("s"), 300, clock);
  EXPECT_EQ(v.verify("", signWebhook("s", kNow, "b"), "b"), SignatureCheck::kMissing);
  EXPECT_EQ(v.verify("1700000000", "", "b"), SignatureCheck::kMissing);
  EXPECT_EQ(v.verify("17e8", signWebhook("s", kNow, "b"), "b"), SignatureCheck::kMalformed);
  EXPECT_EQ(v.verify("1700000000", "sha1=abc", "b"), SignatureCheck::kMalformed);
  EXPECT_EQ(v.verify("1700000000", signWebhook("s", kNow, "b").substr(7), "b"), SignatureCheck::kMalformed);
  EXPECT_EQ(signatureCheckName(SignatureCheck::kStale), "stale");
}

}  // namespace
}  // namespace talon::security
