#include "security/audit_chain.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <ctime>
#include <utility>

#include "base/clock.h"
#include "base/file_io.h"
#include "base/hash.h"
#include "base/json.h"
#include "store/store.h"

namespace talon::security {
namespace {

namespace json = boost::json;

constexpr std::string_view kEncodingTag = "talon.audit.v1\n";
constexpr int kCheckpointVersion = 1;
constexpr int64_t kVerifyPageSize = 1000;

void appendField(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}

// The record at `seq`, or nullopt.
Result<std::optional<store::AuditRecord>> recordAt(store::Store& store, int64_t seq) {
  store::AuditQuery q;
  q.afterSeq = seq - 1;
  q.limit = 1;
  auto page = store.audit().list(q);
  if (!page) return fail(page.error());
  if (page->empty() || page->front().seq != seq) return std::optional<store::AuditRecord>{};
  return std::optional<store::AuditRecord>(std::move(page->front()));
}

// Whether the log (with `headSeq` records) still extends `cp`: nullopt when it does, else why not.
Result<std::optional<std::string>> checkExtends(store::Store& store, int64_t headSeq, const AuditCheckpoint& cp) {
  if (headSeq < cp.count) {
    return std::optional<std::string>(fmt::format("the log has {} records but the checkpoint of {} counted {}", headSeq,
                                                  formatRfc3339Ms(cp.timeMs), cp.count));
  }
  if (cp.count == 0) return std::optional<std::string>{};
  auto at = recordAt(store, cp.count);
  if (!at) return fail(at.error());
  if (!*at || (*at)->hash != cp.headHash) {
    return std::optional<std::string>(fmt::format("record {} does not have the hash the checkpoint of {} recorded",
                                                  cp.count, formatRfc3339Ms(cp.timeMs)));
  }
  return std::optional<std::string>{};
}

}  // namespace

std::string auditRecordEncoding(const store::AuditRecord& r) {
  std::string out;
  out.reserve(kEncodingTag.size() + r.kind.size() + r.actor.size() + r.target.size() + r.detailsJson.size() + 160);
  out += kEncodingTag;
  appendField(out, std::to_string(r.seq));
  appendField(out, std::to_string(r.timeMs));
  appendField(out, r.kind);
  appendField(out, r.actor);
  appendField(out, r.target);
  appendField(out, r.outcome);
  appendField(out, r.detailsJson);
  appendField(out, r.prevHash);
  return out;
}

std::string auditRecordHash(const store::AuditRecord& r) { return sha256Hex(auditRecordEncoding(r)); }

json::object auditRecordToJson(const store::AuditRecord& r) {
  json::object o;
  o["seq"] = r.seq;
  o["time"] = formatRfc3339Ms(r.timeMs);
  o["timeMs"] = r.timeMs;
  o["kind"] = r.kind;
  o["actor"] = r.actor;
  o["target"] = r.target;
  o["outcome"] = r.outcome;
  auto details = parseJson(r.detailsJson);
  if (details && details->is_object()) {
    o["details"] = std::move(details->as_object());
  } else {
    o["details"] = r.detailsJson;  // not an object: shown as stored (verify flags an edit anyway)
  }
  o["prevHash"] = r.prevHash;
  o["hash"] = r.hash;
  return o;
}

std::filesystem::path auditCheckpointPath(const std::filesystem::path& stateDir) {
  return stateDir / "audit.checkpoint";
}

Result<std::optional<AuditCheckpoint>> readAuditCheckpoint(const std::filesystem::path& path) {
  auto text = readFile(path, 64 * 1024);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return std::optional<AuditCheckpoint>{};
    return fail(text.error());
  }
  auto malformed = [&](std::string_view why) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("audit checkpoint {}: {}", path.string(), why),
                "the audit checkpoint file is malformed");
  };
  auto parsed = parseJson(*text);
  if (!parsed || !parsed->is_object()) return malformed("not a JSON object");
  const json::object& o = parsed->as_object();
  auto version = getInt(o, "version");
  auto count = getInt(o, "count");
  auto headHash = getString(o, "headHash");
  auto timeMs = getInt(o, "timeMs");
  if (!version || *version != kCheckpointVersion) return malformed("version is not 1");
  if (!count || *count < 0) return malformed("count is missing or negative");
  if (!headHash || headHash->size() != 64) return malformed("headHash is not 64 hex characters");
  if (!timeMs) return malformed("timeMs is missing");
  return std::optional<AuditCheckpoint>(AuditCheckpoint{*count, std::string(*headHash), *timeMs});
}

Status writeAuditCheckpoint(const std::filesystem::path& path, const AuditCheckpoint& cp) {
  json::object o;
  o["version"] = kCheckpointVersion;
  o["count"] = cp.count;
  o["headHash"] = cp.headHash;
  o["timeMs"] = cp.timeMs;
  return writeFileAtomic(path, json::serialize(o) + "\n", 0600);
}

Result<AuditVerifyReport> verifyAuditChain(store::Store& store, const std::optional<AuditCheckpoint>& checkpoint) {
  AuditVerifyReport report;
  report.checkpoint = checkpoint;
  report.headHash = std::string(store::kAuditGenesisHash);
  auto bad = [&](int64_t seq, std::string problem, std::string message) {
    report.ok = false;
    report.badSeq = seq;
    report.problem = std::move(problem);
    report.message = std::move(message);
    return report;
  };
  int64_t expected = 1;
  std::string checkpointSeen;  // hash of record checkpoint->count, once read
  for (;;) {
    store::AuditQuery q;
    q.afterSeq = expected - 1;
    q.limit = kVerifyPageSize;
    auto page = store.audit().list(q);
    if (!page) return fail(page.error());
    for (const store::AuditRecord& r : *page) {
      if (r.seq != expected) {
        return bad(
            expected, "missing",
            fmt::format("record {} is missing: the record after {} is {} (deleted)", expected, expected - 1, r.seq));
      }
      if (r.prevHash != report.headHash) {
        return bad(r.seq, "chain-broken",
                   expected == 1
                       ? fmt::format("record 1 does not start the chain (its prevHash is not the genesis hash)")
                       : fmt::format("record {}: its prevHash is not the hash of record {} (a record was "
                                     "inserted, removed or moved here)",
                                     r.seq, r.seq - 1));
      }
      if (auditRecordHash(r) != r.hash) {
        return bad(
            r.seq, "hash-mismatch",
            fmt::format("record {} ({}): its content does not match its hash (edited or forged)", r.seq, r.kind));
      }
      report.headHash = r.hash;
      report.records = r.seq;
      if (checkpoint && r.seq == checkpoint->count) checkpointSeen = r.hash;
      ++expected;
    }
    if (static_cast<int64_t>(page->size()) < kVerifyPageSize) break;
  }
  if (!checkpoint) {
    if (report.records > 0) {
      report.warnings.push_back("no audit checkpoint file: truncation of the tail cannot be detected");
    }
    return report;
  }
  if (report.records < checkpoint->count) {
    return bad(report.records + 1, "truncated",
               fmt::format("the log ends at record {} but the checkpoint of {} counted {} records: records {}..{} "
                           "were removed",
                           report.records, formatRfc3339Ms(checkpoint->timeMs), checkpoint->count, report.records + 1,
                           checkpoint->count));
  }
  if (checkpoint->count > 0 && checkpointSeen != checkpoint->headHash) {
    return bad(checkpoint->count, "checkpoint-mismatch",
               fmt::format("record {} does not have the hash the checkpoint of {} recorded: the log was rewritten "
                           "up to it",
                           checkpoint->count, formatRfc3339Ms(checkpoint->timeMs)));
  }
  return report;
}

json::object auditVerifyReportToJson(const AuditVerifyReport& r) {
  json::object o;
  o["ok"] = r.ok;
  o["records"] = r.records;
  o["headHash"] = r.headHash;
  if (r.badSeq) {
    o["badSeq"] = *r.badSeq;
    o["problem"] = r.problem;
    o["message"] = r.message;
  }
  if (r.checkpoint) {
    o["checkpoint"] = json::object{
        {"count", r.checkpoint->count}, {"headHash", r.checkpoint->headHash}, {"timeMs", r.checkpoint->timeMs}};
  }
  json::array warnings;
  for (const auto& w : r.warnings) warnings.emplace_back(w);
  o["warnings"] = std::move(warnings);
  return o;
}

// ---- ChainedAuditSink

ChainedAuditSink::ChainedAuditSink(store::Store& store, ChainedAuditSinkOptions options)
    : store_(store), options_(std::move(options)) {}

Result<std::shared_ptr<ChainedAuditSink>> ChainedAuditSink::create(store::Store& store,
                                                                   ChainedAuditSinkOptions options) {
  if (!options.clock) options.clock = SystemClock::instance();
  if (!options.checkpointPath.empty()) {
    auto cp = readAuditCheckpoint(options.checkpointPath);
    if (!cp) return fail(cp.error());
    if (*cp) {
      auto head = store.audit().head();
      if (!head) return fail(head.error());
      auto why = checkExtends(store, *head ? (*head)->seq : 0, **cp);
      if (!why) return fail(why.error());
      if (*why) {
        spdlog::error("audit log does not extend its checkpoint {}: {}; run `talon audit verify`",
                      options.checkpointPath.string(), **why);
      }
    }
  }
  return std::shared_ptr<ChainedAuditSink>(new ChainedAuditSink(store, std::move(options)));
}

void ChainedAuditSink::record(AuditEvent event) {
  if (options_.logLines) LogAuditSink().record(event);
  store::AuditRecord r;
  r.timeMs = options_.clock->nowMs();
  r.kind = std::move(event.kind);
  r.actor = std::move(event.actor);
  r.target = std::move(event.target);
  r.outcome = auditOutcomeName(event.outcome);
  r.detailsJson = json::serialize(event.details);
  std::string kind = r.kind;
  store::WriteBatch batch;
  store::AuditRepository::append(batch, std::move(r), &auditRecordHash);
  store_.submit(std::move(batch), [this, kind = std::move(kind)](Status st) {
    if (st) {
      ++committedSinceCheckpoint_;
      return;
    }
    ++failures_;
    spdlog::error("audit: cannot append a {} record: {}", kind, st.error().toString());
  });
}

Status ChainedAuditSink::flush() { return store_.write(store::WriteBatch{}); }

Status ChainedAuditSink::writeCheckpoint() {
  if (options_.checkpointPath.empty()) return {};
  std::lock_guard lock(checkpointMu_);
  int64_t pending = committedSinceCheckpoint_.load();
  if (pending == 0) return {};
  auto head = store_.audit().head();
  if (!head) return fail(head.error());
  AuditCheckpoint next{*head ? (*head)->seq : 0, *head ? (*head)->hash : std::string(store::kAuditGenesisHash),
                       options_.clock->nowMs()};
  auto previous = readAuditCheckpoint(options_.checkpointPath);
  if (!previous) return fail(previous.error());
  if (*previous) {
    auto why = checkExtends(store_, next.count, **previous);
    if (!why) return fail(why.error());
    if (*why) {
      return fail(ErrorCode::kFailedPrecondition,
                  fmt::format("not writing audit checkpoint {}: {}", options_.checkpointPath.string(), **why),
                  "the audit log does not extend its checkpoint");
    }
  }
  if (auto st = writeAuditCheckpoint(options_.checkpointPath, next); !st) return st;
  committedSinceCheckpoint_ -= pending;
  return {};
}

}  // namespace talon::security
