#include "store/transcript_repository.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {
namespace {

// Indexed by TranscriptRole; the names stored since schema step 1.
constexpr std::array<std::string_view, 4> kRoleNames = {"user", "assistant", "tool", "system"};

constexpr const char kInsert[] =
    "INSERT INTO transcript_entries (session_key, seq, run_id, role, content, tool_calls_json, tool_call_id, "
    "tool_name, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
// Run after the insert, in its transaction: the session exists (the insert's foreign key checked it).
constexpr const char kCountOne[] = "UPDATE sessions SET message_count = message_count + 1 WHERE session_key = ?1";
// Newest first from the unique index; reversed to oldest first.
constexpr const char kTail[] =
    "SELECT session_key, seq, run_id, role, content, tool_calls_json, tool_call_id, tool_name, ts "
    "FROM transcript_entries WHERE session_key = ?1 ORDER BY seq DESC LIMIT ?2";
constexpr const char kForRun[] =
    "SELECT session_key, seq, run_id, role, content, tool_calls_json, tool_call_id, tool_name, ts "
    "FROM transcript_entries WHERE session_key = ?1 AND run_id = ?2 ORDER BY seq";

class AppendEntry final : public WriteOp {
 public:
  explicit AppendEntry(TranscriptEntry entry) : e_(std::move(entry)) {}

  Status validate() const override {
    if (e_.sessionKey.empty()) {
      return fail(ErrorCode::kInvalidArgument, "transcript entry without sessionKey", "invalid record");
    }
    if (e_.seq < 1) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("transcript entry {}#{}: seq must be ≥ 1", e_.sessionKey, e_.seq), "invalid record");
    }
    if (static_cast<std::size_t>(e_.role) >= kRoleNames.size()) {
      return fail(
          ErrorCode::kInvalidArgument,
          fmt::format("transcript entry {}#{}: unknown role {}", e_.sessionKey, e_.seq, static_cast<int>(e_.role)),
          "invalid record");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    auto context = [&] { return fmt::format("transcript entry {}#{}", e_.sessionKey, e_.seq); };
    SQLite::Statement& insert = tx.statement(kInsert);
    insert.bindNoCopy(1, e_.sessionKey);
    insert.bind(2, e_.seq);
    insert.bindNoCopy(3, e_.runId);
    std::string_view role = transcriptRoleName(e_.role);
    insert.bind(4, std::string(role));  // copied: bindNoCopy with a size would bind a BLOB
    insert.bindNoCopy(5, e_.content);
    insert.bindNoCopy(6, e_.toolCallsJson);
    insert.bindNoCopy(7, e_.toolCallId);
    insert.bindNoCopy(8, e_.toolName);
    insert.bind(9, e_.ts);
    if (auto st = tx.run(insert, context); !st) return st;
    SQLite::Statement& count = tx.statement(kCountOne);
    count.bindNoCopy(1, e_.sessionKey);
    return tx.run(count, context);
  }

 private:
  TranscriptEntry e_;
};

}  // namespace

std::string_view transcriptRoleName(TranscriptRole role) {
  auto index = static_cast<std::size_t>(role);
  return index < kRoleNames.size() ? kRoleNames[index] : std::string_view("unknown");
}

std::optional<TranscriptRole> parseTranscriptRole(std::string_view name) {
  auto it = std::find(kRoleNames.begin(), kRoleNames.end(), name);
  if (it == kRoleNames.end()) return std::nullopt;
  return static_cast<TranscriptRole>(it - kRoleNames.begin());
}

void TranscriptRepository::append(WriteBatch& batch, TranscriptEntry entry) {
  batch.emplace<AppendEntry>(std::move(entry));
}

namespace {

/// The rows of `q` (columns as kTail's) as entries, in the order read.
Status readEntries(SQLite::Statement& q, std::vector<TranscriptEntry>& entries) {
  while (q.executeStep()) {
    TranscriptEntry e;
    e.sessionKey = q.getColumn(0).getString();
    e.seq = q.getColumn(1).getInt64();
    e.runId = q.getColumn(2).getString();
    std::string role = q.getColumn(3).getString();
    auto parsed = parseTranscriptRole(role);
    if (!parsed) {
      return fail(ErrorCode::kIo,
                  fmt::format("transcript entry {}#{} has unknown role '{}'", e.sessionKey, e.seq, role),
                  "storage failure");
    }
    e.role = *parsed;
    e.content = q.getColumn(4).getString();
    e.toolCallsJson = q.getColumn(5).getString();
    e.toolCallId = q.getColumn(6).getString();
    e.toolName = q.getColumn(7).getString();
    e.ts = q.getColumn(8).getInt64();
    entries.push_back(std::move(e));
  }
  return {};
}

}  // namespace

Result<std::vector<TranscriptEntry>> TranscriptRepository::tail(const std::string& sessionKey, int64_t limit) const {
  std::vector<TranscriptEntry> entries;
  auto st = store_->read("reading a transcript", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kTail);
    StatementReset reset(q);
    q.bind(1, sessionKey);
    q.bind(2, limit > 0 ? limit : int64_t{-1});
    return readEntries(q, entries);
  });
  if (!st) return fail(st.error());
  std::reverse(entries.begin(), entries.end());
  return entries;
}

Result<std::vector<TranscriptEntry>> TranscriptRepository::forRun(const std::string& sessionKey,
                                                                  const std::string& runId) const {
  std::vector<TranscriptEntry> entries;
  auto st = store_->read("reading a run's transcript", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kForRun);
    StatementReset reset(q);
    q.bind(1, sessionKey);
    q.bind(2, runId);
    return readEntries(q, entries);
  });
  if (!st) return fail(st.error());
  return entries;
}

}  // namespace talon::store
