#pragma once
// Canonical forms of the ids routing compares: agent ids, account ids, and the string folding
// (JavaScript-style trim, ASCII lower-case) OpenClaw applies to channels, peers and session keys.
// Pure functions; thread-safe.
#include <string>
#include <string_view>

namespace talon::gateway::routing {

/// The agent used when there is no roster (OpenClaw `DEFAULT_AGENT_ID`).
inline constexpr std::string_view kDefaultAgentId = "main";
/// The account an omitted or empty account id stands for (OpenClaw `DEFAULT_ACCOUNT_ID`).
inline constexpr std::string_view kDefaultAccountId = "default";

/// Removes leading and trailing white space as JavaScript's String.prototype.trim does: ASCII
/// white space plus the UTF-8 encodings of U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F,
/// U+205F, U+3000 and U+FEFF.
std::string_view trimWhitespace(std::string_view s);

/// ASCII lower-case. OpenClaw uses JavaScript's full Unicode toLowerCase; Talon folds ASCII only, so
/// ids with non-ASCII capitals keep them (ids on the supported channels are ASCII).
std::string lowerAscii(std::string_view s);

/// trimWhitespace + lowerAscii (OpenClaw `normalizeLowercaseStringOrEmpty`).
std::string trimLower(std::string_view s);

/// Canonical agent id. OpenClaw `normalizeAgentId` (dist `agent-id-GA8mwdTG.mjs`): trim; a value
/// matching `^[a-z0-9][a-z0-9_-]{0,63}$` (any case) is just lower-cased; otherwise lower-case, each run
/// of characters outside `[a-z0-9_-]` becomes '-', leading and trailing '-' are stripped, the result is
/// cut to 64 characters, and an empty result becomes "main".
std::string normalizeAgentId(std::string_view raw);

/// True when `raw`, trimmed, is already a canonical agent-id input (OpenClaw `isValidAgentId`).
bool isValidAgentId(std::string_view raw);

/// Canonical account id. OpenClaw `normalizeAccountId` (dist `account-id-B1bfbA5J.mjs`): trim; empty
/// → "default"; the same folding as agent ids (invalid runs → '-', strip leading/trailing '-', cut to
/// 64); an empty result or a JavaScript prototype key ("__proto__", "prototype", "constructor") →
/// "default".
std::string normalizeAccountId(std::string_view raw);

}  // namespace talon::gateway::routing
