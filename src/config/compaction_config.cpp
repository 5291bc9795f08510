#include "config/compaction_config.h"

#include <fmt/format.h>

#include <limits>
#include <string>

namespace talon::config {
namespace {

// OpenClaw's compaction keys that Talon does not implement, with what Talon does instead.
struct UnimplementedCompactionKey {
  std::string_view key;
  std::string_view instead;
};
constexpr UnimplementedCompactionKey kUnimplementedCompactionKeys[] = {
    {"provider", "summaries are written by the built-in summariser"},
    {"thinkingLevel", "the summary call sends no thinking level"},
    {"identifierPolicy", "the fixed summary prompt always asks to keep identifiers verbatim"},
    {"qualityGuard", "summaries are not audited"},
    {"midTurnPrecheck", "the budget is checked before a turn's first model call only"},
    {"postIndexSync", "compaction does not reindex session memory"},
    {"postCompactionSections", "no AGENTS.md section is re-injected after compaction"},
    {"maxActiveTranscriptBytes", "only the token budget triggers compaction"},
    {"memoryFlush", "no memory flush turn runs before compaction"},
};

void warnUnimplemented(ConfigReader& r, const ConfigNode& node, std::string_view key, std::string_view instead) {
  r.warning(node, DiagnosticCode::kUnsupportedKey,
            fmt::format("agents.defaults.compaction.{} is not implemented by Talon and is ignored ({})", key, instead));
}

}  // namespace

void readCompactionConfig(ConfigReader& r, const ConfigNode& node, const json::value& value, CompactionConfig& out) {
  const json::object* object = r.object(node, value);
  if (object == nullptr) return;
  for (const auto& kv : *object) {
    std::string_view key(kv.key().data(), kv.key().size());
    ConfigNode c = r.child(node, key);
    const json::value& x = kv.value();
    if (key == "enabled") {
      if (auto b = r.boolean(c, x)) out.enabled = *b;
    } else if (key == "notifyUser") {
      if (auto b = r.boolean(c, x)) out.notifyUser = *b;
    } else if (key == "keepRecentTokens") {
      if (auto i = r.integer(c, x, 1, kMaxSafeInteger, "> 0")) out.keepRecentTokens = *i;
    } else if (key == "recentTurnsPreserve") {
      if (auto i = r.integer(c, x, 0, std::numeric_limits<int>::max(), ">= 0")) {
        out.recentTurnsPreserve = static_cast<int>(*i);
      }
    } else if (key == "timeoutSeconds") {
      if (auto i = r.integer(c, x, 1, 86'400, "1..86400")) out.timeoutSeconds = *i;
    } else if (key == "model") {
      if (auto s = r.string(c, x, true)) out.model = *s;
    } else if (key == "mode") {
      static constexpr std::string_view kModes[] = {"default", "safeguard"};
      if (auto m = r.enumeration(c, x, kModes); m && *m == "safeguard") {
        warnUnimplemented(r, c, "mode \"safeguard\"",
                          "Talon summarises in one call as mode \"default\" does, without the quality guard");
      }
    } else {
      bool known = false;
      for (const auto& k : kUnimplementedCompactionKeys) {
        if (k.key == key) {
          warnUnimplemented(r, c, key, k.instead);
          known = true;
        }
      }
      if (!known) r.unknownKey(node, key);
    }
  }
}

}  // namespace talon::config
