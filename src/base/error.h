#pragma once
// Talon's one error taxonomy: an ErrorCode and an Error value that crosses threads and APIs.
// The mappings to OpenClaw protocol error codes, HTTP statuses and CLI exit codes live in error.cpp
// and nowhere else.
#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "base/expected.h"

namespace talon {

enum class ErrorCode {
  kInvalidArgument,         // bad input from a client or user (malformed request, bad params)
  kConfigInvalid,           // a config file failed parsing or validation
  kUnsupported,             // a known OpenClaw feature Talon does not implement yet
  kNotFound,                // the named thing does not exist
  kAlreadyExists,           // create of something that exists
  kUnauthenticated,         // missing or wrong credentials
  kNotPaired,               // a device identity is required, or the device is not (or no longer) paired
  kPermissionDenied,        // authenticated but lacking a scope or right
  kFailedPrecondition,      // the system is not in a state that allows the operation
  kAgentSelectionRequired,  // routing found no owning agent (OpenClaw AGENT_SELECTION_REQUIRED)
  kResourceExhausted,       // a limit was reached (rate, size, queue)
  kUnavailable,             // temporarily unable (starting, upstream down); retryable
  kDeadlineExceeded,        // a timeout elapsed
  kCancelled,               // the operation was aborted
  kUpstream,                // a peer (model provider, channel) answered with an error or garbage
  kIo,                      // file system or socket failure
  kInternal,                // a bug or an invariant broken
};

/// Stable lower-case name of a code ("invalid_argument"), used in logs and JSON output.
std::string_view errorCodeName(ErrorCode code);

/// A failure. `message` is internal (logged; may name paths and values). `externalMessage` is what a
/// client sees: never a secret, a path or a stack; when empty, a generic text for the code is used.
/// `details` is structured data sent to clients with the error (e.g. OpenClaw's MISSING_SCOPE detail).
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string externalMessage;
  boost::json::object details;
  /// For retryable errors, the suggested delay in ms (0: none).
  long long retryAfterMs = 0;

  Error() = default;
  Error(ErrorCode c, std::string msg, std::string external = {})
      : code(c), message(std::move(msg)), externalMessage(std::move(external)) {}

  /// The client-facing text: externalMessage, or a generic one for the code.
  std::string publicMessage() const;
  bool retryable() const;
  /// "code: message" for logs.
  std::string toString() const;
};

template <class T>
using Result = Expected<T, Error>;
using Status = Expected<void, Error>;

/// Shorthand for returning an error: `return fail(ErrorCode::kNotFound, "no agent " + id);`
inline Unexpected<Error> fail(ErrorCode code, std::string message, std::string external = {}) {
  return Unexpected<Error>(Error(code, std::move(message), std::move(external)));
}
inline Unexpected<Error> fail(Error e) { return Unexpected<Error>(std::move(e)); }

/// The one error for a known OpenClaw feature Talon does not implement yet: kUnsupported with "<what> is
/// not supported by Talon yet" as both messages and details {code:"UNSUPPORTED"}. Every such answer
/// (RPC params, HTTP parameters, config values reaching run time) goes through it, so the protocol code,
/// HTTP status and CLI exit code are the same everywhere.
Error notSupportedYet(std::string_view what);

/// OpenClaw gateway protocol error code for an ErrorCode (INVALID_REQUEST, FORBIDDEN, UNAVAILABLE,
/// NOT_FOUND, AGENT_SELECTION_REQUIRED, ...; kUnsupported is INVALID_REQUEST, as OpenClaw answers a request
/// it cannot act on). Source: reference/openclaw-protocol.md, "Errors seen on the wire".
std::string_view protocolErrorCode(ErrorCode code);
/// HTTP status for an ErrorCode (400, 401, 403, 404, 409, 429, 502, 503, 504, 500).
int httpStatus(ErrorCode code);
/// OpenAI-style error "type" for HTTP API bodies (invalid_request_error, authentication_error, ...).
std::string_view openAiErrorType(ErrorCode code);
/// CLI process exit code for an ErrorCode: 2 usage/invalid input, 3 config, 4 auth, 5 unavailable/
/// unreachable, 6 not found, 78 already exists (EX_CONFIG: another gateway holds the state dir or the
/// port, as OpenClaw exits when a gateway already runs), 1 anything else. (0 is success and never an
/// error.)
int exitCode(ErrorCode code);

}  // namespace talon
