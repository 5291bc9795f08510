#pragma once
// JSON written as text in tests: parameters of RPC calls, expected objects, config fragments. A text
// that does not parse fails the calling test (EXPECT) and yields an empty value, so a typo in a test's
// JSON is reported where it is written.
#include <gtest/gtest.h>

#include <cstdint>
#include <string_view>

#include "base/json.h"

namespace talon::testing {

/// One minute and one hour in milliseconds, for simulated clocks and schedules.
inline constexpr int64_t kMinuteMs = 60'000;
inline constexpr int64_t kHourMs = 60 * kMinuteMs;

/// `text` parsed as JSON; null (and a test failure) when it does not parse.
inline boost::json::value jsonValue(std::string_view text) {
  auto v = parseJson(text);
  EXPECT_TRUE(v) << text;
  return v ? *v : boost::json::value(nullptr);
}

/// `text` parsed as a JSON object; {} (and a test failure) when it does not parse or is not an object.
inline boost::json::object jsonObject(std::string_view text) {
  auto v = parseJson(text);
  EXPECT_TRUE(v && v->is_object()) << text;
  return v && v->is_object() ? v->as_object() : boost::json::object{};
}

}  // namespace talon::testing
