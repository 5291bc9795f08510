#pragma once
// What a tool call came to, as a value: ok with the tool's text, or an error of a known kind with a
// message written for the model. The turn records the outcome in the transcript with its error flag
// stored explicitly (never inferred from the text) and reports it in the `agent` tool event.
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace talon::gateway::tools {

/// Why a tool call did not succeed.
enum class ToolErrorKind {
  kInvalidArguments,  // the arguments are not a JSON object, or the tool rejected them
  kNotFound,          // no tool of that name is registered
  kDenied,            // the ToolGate refused the call (policy or a denied approval)
  kFailed,            // the tool ran and failed
  kCancelled,         // the run was aborted (or timed out) before the call finished
  kTimeout,           // the tool itself gave up on a deadline
};

/// The kind's wire name: "invalid_arguments", "not_found", "denied", "failed", "cancelled", "timeout".
std::string_view toolErrorKindName(ToolErrorKind kind);
/// The kind named `name` (as toolErrorKindName prints it), or nullopt.
std::optional<ToolErrorKind> parseToolErrorKind(std::string_view name);

/// The outcome of one tool call.
struct ToolOutcome {
  /// nullopt: the call succeeded.
  std::optional<ToolErrorKind> error;
  /// The tool's output (ok), or what went wrong, written for the model (error).
  std::string text;

  bool ok() const { return !error.has_value(); }

  static ToolOutcome success(std::string text) { return ToolOutcome{std::nullopt, std::move(text)}; }
  static ToolOutcome failure(ToolErrorKind kind, std::string message) { return ToolOutcome{kind, std::move(message)}; }
  /// From a tool's Result: kInvalidArgument → invalid_arguments, kCancelled → cancelled,
  /// kDeadlineExceeded → timeout, kPermissionDenied → denied, anything else → failed. The text is the
  /// error's public message (tool errors are written for the model, see tool.h).
  static ToolOutcome fromResult(Result<std::string> result);

  /// The content handed back to the model and stored in the transcript: the text, prefixed with
  /// "error: " for an error so the model knows the call failed (OpenAI chat-completions tool messages
  /// carry no error flag). Nothing parses this prefix back: the flag is stored separately
  /// (encodeTranscriptMeta).
  std::string modelContent() const;
};

/// How a tool result's error flag is kept in the store until the transcript gains a column of its own:
/// a transcript entry of role "tool" never uses `toolCallsJson` (only assistant entries carry tool
/// calls), so it holds `{"isError":true,"errorKind":"<kind>","durationMs":N}` for an error and
/// `{"isError":false,"durationMs":N}` for a success (durationMs: how long the tool ran, in ms; the run
/// ledger shows it). Returns that column's value for `outcome`.
std::string encodeTranscriptMeta(const ToolOutcome& outcome, int64_t durationMs = 0);

/// The error flag of a stored tool result, read back from its entry.
struct ToolResultMeta {
  bool isError = false;
  std::optional<ToolErrorKind> errorKind;  // set when isError and the kind is known
  std::optional<int64_t> durationMs;       // how long the tool ran; nullopt for rows written before it was kept
};
/// Reads what encodeTranscriptMeta wrote in `toolCallsJson` of a role "tool" entry. Rows written before
/// this encoding existed (empty column) fall back to the old convention: content starting with
/// "error: " is an error of unknown kind.
ToolResultMeta decodeTranscriptMeta(std::string_view toolCallsJson, std::string_view content);

}  // namespace talon::gateway::tools
