#include "protocol/trace_context.h"

#include <gtest/gtest.h>

namespace talon::protocol {
namespace {

constexpr const char* kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kParentId = "00f067aa0ba902b7";

TEST(Traceparent, ParsesTheSpecExample) {
  // W3C Trace Context §3.2.2.5 example.
  auto t = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->traceId, kTraceId);
  EXPECT_EQ(t->parentId, kParentId);
  EXPECT_EQ(t->flags, "01");
}

TEST(Traceparent, NormalizesCaseAndSurroundingWhitespace) {
  auto t = parseTraceparent("  00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00\t");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->traceId, kTraceId);
  EXPECT_EQ(t->parentId, kParentId);
  EXPECT_EQ(t->flags, "00");
}

TEST(Traceparent, LaterVersionsMayCarryMoreFields) {
  auto t = parseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->traceId, kTraceId);
}

TEST(Traceparent, MalformedValuesAreRefused) {
  const char* bad[] = {
      "",
      "garbage",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",           // three fields
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // version 00 has four
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",        // version ff is invalid
      "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",         // version is two digits
      "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",        // not hex
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",        // all-zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",        // all-zero parent id
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",         // trace id too short
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",         // parent id too short
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",         // flags too short
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",        // flags not hex
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 trailing",
  };
  for (const char* value : bad) EXPECT_FALSE(parseTraceparent(value)) << value;
  EXPECT_FALSE(parseTraceparent(std::string(200, 'a')));  // longer than 128
}

TEST(Traceparent, FormatsAChildSpan) {
  TraceContext t{kTraceId, kParentId, "01"};
  EXPECT_EQ(formatTraceparent(t, "b7ad6b7169203331"), "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01");
  auto back = parseTraceparent(formatTraceparent(t, "b7ad6b7169203331"));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->parentId, "b7ad6b7169203331");
}

}  // namespace
}  // namespace talon::protocol
