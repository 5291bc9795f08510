#include "security/secret.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

namespace talon::security {
namespace {

constexpr std::string_view kValue = "s3cr3t-t0ken-value";

template <class T>
concept Streamable = requires(std::ostream& os, const T& v) {
  os << v;
};
template <class T>
concept HasToString = requires(const T& v) {
  v.toString();
};

static_assert(!Streamable<Secret>, "a Secret must not be streamable");
static_assert(!HasToString<Secret>, "a Secret has no toString()");

TEST(Secret, FormatsAsStars) {
  const Secret secret(kValue);
  EXPECT_EQ(fmt::format("{}", secret), "***");
  EXPECT_EQ(fmt::format("token={:>5}!", secret), "token=  ***!");
  const std::string formatted = fmt::format("{} {}", secret, Secret());
  EXPECT_EQ(formatted.find(kValue), std::string::npos);
}

TEST(Secret, LogLineDoesNotCarryTheSecret) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("secret-test", sink);
  const Secret secret(kValue);
  logger.info("configured secret {}", secret);
  logger.flush();
  EXPECT_NE(out.str().find("configured secret ***"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find(kValue), std::string::npos);
}

TEST(Secret, GoogleTestPrintsStars) {
  const Secret secret(kValue);
  EXPECT_EQ(::testing::PrintToString(secret), "***");
}

TEST(Secret, RevealReturnsTheBytes) {
  const Secret secret(kValue);
  EXPECT_EQ(secret.reveal(), kValue);
  EXPECT_FALSE(secret.empty());
  EXPECT_TRUE(Secret().empty());
  EXPECT_EQ(Secret().reveal(), "");
}

TEST(Secret, EqualsComparesTheWholeValue) {
  const Secret secret(kValue);
  EXPECT_TRUE(secret.equals(kValue));
  EXPECT_FALSE(secret.equals("s3cr3t-t0ken-valuE"));
  EXPECT_FALSE(secret.equals("s3cr3t-t0ken-valu"));    // a prefix
  EXPECT_FALSE(secret.equals("s3cr3t-t0ken-value-"));  // longer
  EXPECT_FALSE(secret.equals(""));
  EXPECT_TRUE(Secret().equals(""));
  EXPECT_FALSE(Secret().equals("x"));
  // Embedded NUL bytes count.
  const Secret withNul(std::string_view("a\0b", 3));
  EXPECT_TRUE(withNul.equals(std::string_view("a\0b", 3)));
  EXPECT_FALSE(withNul.equals("a"));
}

TEST(Secret, EqualsAnotherSecret) {
  EXPECT_TRUE(Secret(kValue).equals(Secret(kValue)));
  EXPECT_FALSE(Secret(kValue).equals(Secret("other")));
  EXPECT_TRUE(Secret().equals(Secret()));
}

TEST(Secret, CopyAndMove) {
  Secret a(kValue);
  Secret copy(a);
  EXPECT_EQ(copy.reveal(), kValue);
  EXPECT_TRUE(copy.equals(kValue));

  Secret moved(std::move(a));
  EXPECT_EQ(moved.reveal(), kValue);
  EXPECT_TRUE(moved.equals(kValue));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): a moved-from Secret is empty by contract
  EXPECT_TRUE(a.equals(""));

  Secret assigned("old");
  assigned = copy;
  EXPECT_TRUE(assigned.equals(kValue));
  assigned = Secret("new");
  EXPECT_TRUE(assigned.equals("new"));
  EXPECT_FALSE(assigned.equals(kValue));

  Secret self("same");
  const Secret& alias = self;
  self = alias;
  EXPECT_TRUE(self.equals("same"));
  EXPECT_EQ(self.reveal(), "same");
}

}  // namespace
}  // namespace talon::security
