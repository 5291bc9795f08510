#pragma once
// Built-in file tools confined to the agent workspace: `read`, `write`, `edit`, `ls`.
//
// Names, argument names and result texts follow OpenClaw 2026.9.6's session tools (dist
// `tools-*.mjs`: `readToolInputSchema`, `writeSchema`, `editSchema`, `lsSchema`) so that models and
// prompts written for OpenClaw work unchanged:
// - read  {path, offset? (1-based line), limit? (lines), cursor? (character in the start line),
//          optional? (true: a missing file is not an error)}
// - write {path, content}: creates parent directories; atomic replace
// - edit  {path, edits: [{oldText, newText}]} (also accepts top-level oldText/newText, as OpenClaw's
//          argument preparation does): exact, unique, non-overlapping replacements
// - ls    {path? (default "."), limit? (default 500), after? (name cursor)}
// Differences from OpenClaw: paths are confined to the workspace (OpenClaw's
// `tools.fs.workspaceOnly`-style boundary, always on; see workspace_fs.h), read returns text only
// (images and binary files are refused with a message), read pages are capped at 256 KiB instead of
// 50 KiB, and edit matches exactly (OpenClaw falls back to a Unicode-normalised fuzzy match).
#include <cstddef>

#include "base/error.h"
#include "gateway/tools/tool.h"

namespace talon::gateway::tools {

/// Most bytes of file text one read call returns (the page is cut at a line or, for a single long
/// line, a character boundary, and a continuation hint is appended).
inline constexpr std::size_t kReadMaxBytes = 256 * 1024;
/// Most lines one read call returns (OpenClaw DEFAULT_MAX_LINES).
inline constexpr std::size_t kReadMaxLines = 2000;
/// Largest file edit will load (bytes).
inline constexpr std::size_t kEditMaxFileBytes = 16u << 20;
/// Default and byte budget of one ls page (OpenClaw: 500 entries, 51200 bytes).
inline constexpr std::size_t kLsDefaultLimit = 500;
inline constexpr std::size_t kLsMaxBytes = 51200;

ToolPtr makeReadTool();
ToolPtr makeWriteTool();
ToolPtr makeEditTool();
ToolPtr makeLsTool();

}  // namespace talon::gateway::tools
