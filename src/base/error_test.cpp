#include "base/error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace talon {
namespace {

struct Mapping {
  ErrorCode code;
  std::string_view name;
  std::string_view protocol;
  int http;
  int exit;
};

// The one table of how every error leaves Talon: protocol code (OpenClaw's names where OpenClaw has the
// case), HTTP status, CLI exit code. A new ErrorCode must be added here, or the count check fails.
constexpr Mapping kMappings[] = {
    {ErrorCode::kInvalidArgument, "invalid_argument", "INVALID_REQUEST", 400, 2},
    {ErrorCode::kConfigInvalid, "config_invalid", "INVALID_REQUEST", 400, 3},
    {ErrorCode::kUnsupported, "unsupported", "INVALID_REQUEST", 501, 3},
    {ErrorCode::kNotFound, "not_found", "NOT_FOUND", 404, 6},
    {ErrorCode::kAlreadyExists, "already_exists", "CONFLICT", 409, 78},
    {ErrorCode::kUnauthenticated, "unauthenticated", "INVALID_REQUEST", 401, 4},
    {ErrorCode::kNotPaired, "not_paired", "NOT_PAIRED", 403, 4},
    {ErrorCode::kPermissionDenied, "permission_denied", "FORBIDDEN", 403, 4},
    {ErrorCode::kFailedPrecondition, "failed_precondition", "INVALID_REQUEST", 409, 1},
    {ErrorCode::kAgentSelectionRequired, "agent_selection_required", "AGENT_SELECTION_REQUIRED", 400, 1},
    {ErrorCode::kResourceExhausted, "resource_exhausted", "RATE_LIMITED", 429, 1},
    {ErrorCode::kUnavailable, "unavailable", "UNAVAILABLE", 503, 5},
    {ErrorCode::kDeadlineExceeded, "deadline_exceeded", "TIMEOUT", 504, 5},
    {ErrorCode::kCancelled, "cancelled", "ABORTED", 499, 1},
    {ErrorCode::kUpstream, "upstream", "UPSTREAM_ERROR", 502, 1},
    {ErrorCode::kIo, "io", "INTERNAL", 500, 5},
    {ErrorCode::kInternal, "internal", "INTERNAL", 500, 1},
};

TEST(ErrorMapping, EveryCodeMapsOnceToProtocolHttpAndExitCode) {
  std::set<ErrorCode> seen;
  for (const auto& m : kMappings) {
    SCOPED_TRACE(std::string(m.name));
    EXPECT_TRUE(seen.insert(m.code).second);
    EXPECT_EQ(errorCodeName(m.code), m.name);
    EXPECT_EQ(protocolErrorCode(m.code), m.protocol);
    EXPECT_EQ(httpStatus(m.code), m.http);
    EXPECT_EQ(exitCode(m.code), m.exit);
    EXPECT_NE(exitCode(m.code), 0);
  }
  // ErrorCode is contiguous from kInvalidArgument to kInternal: every value is in the table.
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(ErrorCode::kInternal) + 1);
}

TEST(ErrorMapping, NotSupportedYetIsOneShapeEverywhere) {
  auto e = notSupportedYet("chat.send param 'thinking'");
  EXPECT_EQ(e.code, ErrorCode::kUnsupported);
  EXPECT_EQ(e.publicMessage(), "chat.send param 'thinking' is not supported by Talon yet");
  EXPECT_EQ(e.message, e.publicMessage());
  EXPECT_EQ(e.details.at("code").as_string(), "UNSUPPORTED");
  EXPECT_EQ(protocolErrorCode(e.code), "INVALID_REQUEST");
  EXPECT_FALSE(e.retryable());
}

TEST(ErrorMapping, RetryableCodes) {
  for (const auto& m : kMappings) {
    bool expected = m.code == ErrorCode::kUnavailable || m.code == ErrorCode::kResourceExhausted ||
                    m.code == ErrorCode::kDeadlineExceeded;
    EXPECT_EQ(Error(m.code, "x").retryable(), expected) << m.name;
  }
}

}  // namespace
}  // namespace talon
