#include "base/error.h"

#include <fmt/format.h>

namespace talon {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kConfigInvalid:
      return "config_invalid";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kAlreadyExists:
      return "already_exists";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kNotPaired:
      return "not_paired";
    case ErrorCode::kPermissionDenied:
      return "permission_denied";
    case ErrorCode::kFailedPrecondition:
      return "failed_precondition";
    case ErrorCode::kAgentSelectionRequired:
      return "agent_selection_required";
    case ErrorCode::kResourceExhausted:
      return "resource_exhausted";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kUpstream:
      return "upstream";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

std::string Error::publicMessage() const {
  if (!externalMessage.empty()) return externalMessage;
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid request";
    case ErrorCode::kConfigInvalid:
      return "invalid config";
    case ErrorCode::kUnsupported:
      return "not supported by Talon yet";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kAlreadyExists:
      return "already exists";
    case ErrorCode::kUnauthenticated:
      return "unauthorized";
    case ErrorCode::kNotPaired:
      return "pairing required";
    case ErrorCode::kPermissionDenied:
      return "forbidden";
    case ErrorCode::kFailedPrecondition:
      return "failed precondition";
    case ErrorCode::kAgentSelectionRequired:
      return "agent selection required";
    case ErrorCode::kResourceExhausted:
      return "resource exhausted";
    case ErrorCode::kUnavailable:
      return "unavailable; retry shortly";
    case ErrorCode::kDeadlineExceeded:
      return "timed out";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kUpstream:
      return "upstream error";
    case ErrorCode::kIo:
      return "i/o error";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "internal error";
}

bool Error::retryable() const {
  return code == ErrorCode::kUnavailable || code == ErrorCode::kResourceExhausted ||
         code == ErrorCode::kDeadlineExceeded;
}

Error notSupportedYet(std::string_view what) {
  std::string msg = std::string(what) + " is not supported by Talon yet";
  Error e(ErrorCode::kUnsupported, msg, msg);
  e.details = {{"code", "UNSUPPORTED"}};
  return e;
}

std::string Error::toString() const { return fmt::format("{}: {}", errorCodeName(code), message); }

std::string_view protocolErrorCode(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnauthenticated:  // OpenClaw reports a bad token as INVALID_REQUEST + details.code
    case ErrorCode::kUnsupported:      // OpenClaw has no such code; details.code says UNSUPPORTED*
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kConfigInvalid:
    case ErrorCode::kFailedPrecondition:
      return "INVALID_REQUEST";
    case ErrorCode::kPermissionDenied:
      return "FORBIDDEN";
    case ErrorCode::kNotPaired:
      return "NOT_PAIRED";
    case ErrorCode::kNotFound:
      return "NOT_FOUND";
    case ErrorCode::kAlreadyExists:
      return "CONFLICT";
    case ErrorCode::kAgentSelectionRequired:
      return "AGENT_SELECTION_REQUIRED";
    case ErrorCode::kResourceExhausted:
      return "RATE_LIMITED";
    case ErrorCode::kUnavailable:
      return "UNAVAILABLE";
    case ErrorCode::kDeadlineExceeded:
      return "TIMEOUT";
    case ErrorCode::kCancelled:
      return "ABORTED";
    case ErrorCode::kUpstream:
      return "UPSTREAM_ERROR";
    case ErrorCode::kIo:
    case ErrorCode::kInternal:
      return "INTERNAL";
  }
  return "INTERNAL";
}

int httpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kConfigInvalid:
    case ErrorCode::kAgentSelectionRequired:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kNotPaired:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
      return 409;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kUnsupported:
      return 501;
    case ErrorCode::kUpstream:
      return 502;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kDeadlineExceeded:
      return 504;
    case ErrorCode::kCancelled:
      return 499;
    case ErrorCode::kIo:
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

std::string_view openAiErrorType(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnauthenticated:
      return "authentication_error";
    case ErrorCode::kPermissionDenied:
      return "permission_error";
    case ErrorCode::kNotFound:
      return "not_found_error";
    case ErrorCode::kResourceExhausted:
      return "rate_limit_error";
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kConfigInvalid:
    case ErrorCode::kAgentSelectionRequired:
      return "invalid_request_error";
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kUpstream:
      return "api_error";
    default:
      return "server_error";
  }
}

int exitCode(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 2;
    case ErrorCode::kConfigInvalid:
    case ErrorCode::kUnsupported:
      return 3;
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kNotPaired:
    case ErrorCode::kPermissionDenied:
      return 4;
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kIo:
      return 5;
    case ErrorCode::kNotFound:
      return 6;
    // 78 (EX_CONFIG, sysexits.h): another gateway already holds the state dir or the port — what
    // OpenClaw exits with when a gateway already runs, so a supervisor's Restart=always does not loop.
    case ErrorCode::kAlreadyExists:
      return 78;
    default:
      return 1;
  }
}

}  // namespace talon
