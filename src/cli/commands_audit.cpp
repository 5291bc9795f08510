// talon audit verify|list|export: the state dir's audit log (security/audit_chain.h), read from the
// store file directly — the gateway may be running or not.
//   verify [--json]   checks the hash chain and the checkpoint; exit 0 when intact, 1 naming the first
//                     bad record otherwise.
//   list [--since T] [--actor A] [--kind K] [--limit N] [--json]   matching records, oldest first.
//   export [--since T] [--actor A] [--kind K]   every matching record as one JSON line (for a log store).
#include <time.h>

#include <cctype>
#include <charconv>
#include <iostream>

#include "base/clock.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/state_store.h"
#include "config/config_paths.h"
#include "gateway/gateway.h"
#include "security/audit_chain.h"
#include "store/sqlite_store.h"

namespace talon::cli {
namespace {

struct AuditOptions {
  bool json = false;
  std::string since;
  std::string actor;
  std::string kind;
  int64_t limit = 100;
};

/// --since: a duration back from now ("90s", "15m", "2h", "7d"), ms since the epoch (all digits), or
/// a UTC date/time "YYYY-MM-DD", "YYYY-MM-DDTHH:MM", "YYYY-MM-DDTHH:MM:SS" with an optional "Z".
Result<int64_t> parseSince(const std::string& text, int64_t nowMs) {
  auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument, "--since " + text + ": not a duration, epoch ms or UTC date",
                "--since " + text +
                    ": expected a duration (90s, 15m, 2h, 7d), epoch ms or a UTC date/time "
                    "(2026-12-01 or 2026-12-01T10:00:00Z)");
  };
  if (text.empty()) return int64_t{0};
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc() && end == text.data() + text.size()) return n;
  if (ec == std::errc() && end + 1 == text.data() + text.size() && n >= 0) {
    switch (*end) {
      case 's':
        return nowMs - n * 1000;
      case 'm':
        return nowMs - n * 60'000;
      case 'h':
        return nowMs - n * 3'600'000;
      case 'd':
        return nowMs - n * 86'400'000;
      default:
        return bad();
    }
  }
  std::tm tm{};
  std::string t = text;
  if (!t.empty() && t.back() == 'Z') t.pop_back();
  const char* rest = nullptr;
  for (const char* format : {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"}) {
    tm = std::tm{};
    rest = ::strptime(t.c_str(), format, &tm);
    if (rest != nullptr && *rest == '\0') break;
    rest = nullptr;
  }
  if (rest == nullptr) return bad();
  return static_cast<int64_t>(::timegm(&tm)) * 1000;
}

Result<store::AuditQuery> makeQuery(const AuditOptions& o, int64_t limit) {
  store::AuditQuery q;
  auto since = parseSince(o.since, SystemClock::instance()->nowMs());
  if (!since) return fail(since.error());
  q.sinceMs = *since;
  q.actor = o.actor;
  q.kind = o.kind;
  q.limit = limit;
  return q;
}

int runVerify(const AuditOptions& o) {
  auto store = openStateStore(MissingStore::kFail);
  if (!store) return reportError(store.error());
  auto stateDir = config::resolveStateDir(config::processEnvironment());
  auto checkpoint = security::readAuditCheckpoint(security::auditCheckpointPath(stateDir));
  if (!checkpoint) return reportError(checkpoint.error());
  auto report = security::verifyAuditChain(**store, *checkpoint);
  (*store)->close();
  if (!report) return reportError(report.error());
  if (o.json) {
    printJson(security::auditVerifyReportToJson(*report));
  } else {
    for (const auto& w : report->warnings) std::cout << "warning: " << w << "\n";
    if (report->ok) {
      std::cout << "audit log intact: " << report->records << " record(s), head " << report->headHash;
      if (report->checkpoint) std::cout << ", checkpoint at " << report->checkpoint->count << " record(s)";
      std::cout << "\n";
    } else {
      std::cout << "audit log TAMPERED at record " << *report->badSeq << " (" << report->problem
                << "): " << report->message << "\n";
    }
  }
  return report->ok ? 0 : 1;
}

// Pages through the matching records (bounded memory), calling `each` on each; stops after `limit`
// records when limit > 0.
template <class Each>
int forEachRecord(const AuditOptions& o, int64_t limit, Each each, bool* more = nullptr) {
  auto store = openStateStore(MissingStore::kFail);
  if (!store) return reportError(store.error());
  constexpr int64_t kPage = 1000;
  int64_t seen = 0;
  auto q = makeQuery(o, kPage);
  if (!q) return reportError(q.error());
  for (;;) {
    if (limit > 0) q->limit = std::min(kPage, limit - seen + 1);  // one more than asked: is there more?
    auto page = (*store)->audit().list(*q);
    if (!page) return reportError(page.error());
    for (const auto& r : *page) {
      if (limit > 0 && seen == limit) {
        if (more) *more = true;
        return 0;
      }
      each(r);
      ++seen;
      q->afterSeq = r.seq;
    }
    if (static_cast<int64_t>(page->size()) < q->limit) return 0;
  }
}

int runList(const AuditOptions& o) {
  if (o.limit < 0) return reportError(Error(ErrorCode::kInvalidArgument, "--limit < 0", "--limit must be ≥ 0"));
  json::array out;
  std::vector<std::vector<std::string>> rows;
  bool more = false;
  int rc = forEachRecord(
      o, o.limit,
      [&](const store::AuditRecord& r) {
        auto j = security::auditRecordToJson(r);
        if (o.json) {
          out.push_back(std::move(j));
        } else {
          rows.push_back({std::to_string(r.seq), std::string(j.at("time").as_string()), r.kind, r.actor, r.target,
                          r.outcome, r.detailsJson});
        }
      },
      &more);
  if (rc != 0) return rc;
  if (o.json) {
    printJson(json::object{{"records", std::move(out)}, {"more", more}});
  } else {
    printTable({"SEQ", "TIME", "KIND", "ACTOR", "TARGET", "OUTCOME", "DETAILS"}, rows);
    if (more) std::cout << "(more records: raise --limit or narrow with --since/--actor/--kind)\n";
  }
  return 0;
}

int runExport(const AuditOptions& o) {
  return forEachRecord(
      o, 0, [](const store::AuditRecord& r) { std::cout << json::serialize(security::auditRecordToJson(r)) << "\n"; });
}

void addFilters(CLI::App* cmd, AuditOptions& o) {
  cmd->add_option("--since", o.since,
                  "Only records at or after: a duration back (15m, 2h, 7d), epoch ms or a UTC "
                  "date/time (2026-12-01T10:00:00Z)");
  cmd->add_option("--actor", o.actor, "Only this actor (\"operator:cli\", \"system\", ...)");
  cmd->add_option("--kind", o.kind, "Only this kind, or a family: \"auth\" matches auth.connect and auth.http");
}

}  // namespace

void registerAuditCommands(CLI::App& app, int& exitCode) {
  auto* audit = app.add_subcommand("audit", "Verify, list and export the tamper-evident audit log of the state dir");
  audit->require_subcommand(1);
  auto o = std::make_shared<AuditOptions>();

  auto* verify = audit->add_subcommand(
      "verify", "Check the audit log's hash chain and checkpoint; exits 1 and names the first bad record");
  verify->add_flag("--json", o->json, "Print the report as JSON");
  verify->callback([o, &exitCode] { exitCode = runVerify(*o); });

  auto* list = audit->add_subcommand("list", "List audit records, oldest first");
  addFilters(list, *o);
  list->add_option("--limit", o->limit, "At most this many records (default 100; 0: all)");
  list->add_flag("--json", o->json, "Print {records, more} as JSON");
  list->callback([o, &exitCode] { exitCode = runList(*o); });

  auto* exportCmd = audit->add_subcommand("export", "Print every audit record as one JSON object per line");
  addFilters(exportCmd, *o);
  exportCmd->callback([o, &exitCode] { exitCode = runExport(*o); });
}

}  // namespace talon::cli
