#include "gateway/tools/tool_outcome.h"

#include <gtest/gtest.h>

#include "gateway/tools/tool.h"

namespace talon::gateway::tools {
namespace {

TEST(ToolOutcomeTest, ErrorCodesMapToKinds) {
  EXPECT_TRUE(ToolOutcome::fromResult(std::string("out")).ok());
  auto kindOf = [](ErrorCode code) { return *ToolOutcome::fromResult(fail(toolError(code, "m"))).error; };
  EXPECT_EQ(kindOf(ErrorCode::kInvalidArgument), ToolErrorKind::kInvalidArguments);
  EXPECT_EQ(kindOf(ErrorCode::kCancelled), ToolErrorKind::kCancelled);
  EXPECT_EQ(kindOf(ErrorCode::kDeadlineExceeded), ToolErrorKind::kTimeout);
  EXPECT_EQ(kindOf(ErrorCode::kPermissionDenied), ToolErrorKind::kDenied);
  EXPECT_EQ(kindOf(ErrorCode::kNotFound), ToolErrorKind::kFailed);  // a missing file is the tool failing
  EXPECT_EQ(kindOf(ErrorCode::kIo), ToolErrorKind::kFailed);
}

TEST(ToolOutcomeTest, KindNamesRoundTrip) {
  for (auto kind : {ToolErrorKind::kInvalidArguments, ToolErrorKind::kNotFound, ToolErrorKind::kDenied,
                    ToolErrorKind::kFailed, ToolErrorKind::kCancelled, ToolErrorKind::kTimeout}) {
    EXPECT_EQ(parseToolErrorKind(toolErrorKindName(kind)), kind);
  }
  EXPECT_FALSE(parseToolErrorKind("exploded"));
}

TEST(ToolOutcomeTest, TheTranscriptKeepsTheErrorFlagExplicitly) {
  auto ok = ToolOutcome::success("error: this text only looks like an error");
  EXPECT_EQ(encodeTranscriptMeta(ok, 12), R"({"isError":false,"durationMs":12})");
  auto denied = ToolOutcome::failure(ToolErrorKind::kDenied, "No.");
  EXPECT_EQ(denied.modelContent(), "error: No.");
  auto meta = encodeTranscriptMeta(denied);
  EXPECT_EQ(meta, R"({"isError":true,"errorKind":"denied","durationMs":0})");
  auto back = decodeTranscriptMeta(meta, denied.modelContent());
  EXPECT_TRUE(back.isError);
  EXPECT_EQ(back.errorKind, ToolErrorKind::kDenied);
  EXPECT_EQ(back.durationMs, 0);
  EXPECT_EQ(decodeTranscriptMeta(encodeTranscriptMeta(ok, 250), ok.text).durationMs, 250);
  EXPECT_EQ(decodeTranscriptMeta(R"({"isError":false})", "old row").durationMs, std::nullopt);
  // A success whose text starts like an error stays a success once the flag is stored...
  EXPECT_FALSE(decodeTranscriptMeta(encodeTranscriptMeta(ok), ok.text).isError);
  // ...while rows written before the flag existed keep the old reading.
  EXPECT_TRUE(decodeTranscriptMeta("", "error: old failure").isError);
  EXPECT_FALSE(decodeTranscriptMeta("", "old success").isError);
}

}  // namespace
}  // namespace talon::gateway::tools
