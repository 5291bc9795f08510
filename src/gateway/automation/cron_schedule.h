#pragma once
// Cron job schedules as OpenClaw defines them (docs/automation/cron-jobs/*.md; openclaw-semantics.md §4
// "Job schema"): `{kind:"at", at}`, `{kind:"every", everyMs, anchorMs?}` and
// `{kind:"cron", expr, tz?, staggerMs?}`, and the next time each fires. Pure functions of their
// arguments (no clock is read), so the scheduler is tested in simulated time.
//
// Cron expressions follow croner's syntax as OpenClaw uses it: 5 fields (minute hour day-of-month month
// day-of-week) or 6 (a leading seconds field); `*`, lists, ranges, steps (`*/5`, `1-10/2`), month and
// weekday names (JAN–DEC, SUN–SAT, case-insensitive), `7` as Sunday, `?` as `*` in the day fields, `L`
// (last day of the month) in day-of-month; and the macros @yearly @annually @monthly @weekly @daily
// @midnight @hourly. When both day fields are restricted they combine with OR (Vixie cron); a `+`
// prefix on day-of-week combines them with AND. Time zones come from the IANA database through Howard
// Hinnant's date/tz: a wall time that does not exist (the spring-forward gap) fires at the first
// instant after the gap; a wall time that occurs twice (the fall-back overlap) fires once, at its first
// occurrence.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/json.h"

namespace talon::gateway::automation {

/// A parsed cron expression. Immutable; copy freely; thread-safe.
class CronExpression {
 public:
  /// Parses a 5- or 6-field expression or a macro. Errors: kInvalidArgument naming the field and the
  /// offending token ("cron expression \"61 * * * *\": minute 61 is out of range 0-59").
  static Result<CronExpression> parse(std::string_view expr);

  /// The first instant strictly after `afterMs` (ms since the epoch) that matches, in time zone `tz`
  /// (an IANA name; empty = the host's zone). nullopt when nothing matches within the next 5 years
  /// (e.g. "0 0 30 2 *"). Errors: kInvalidArgument for an unknown time zone.
  Result<std::optional<int64_t>> nextAfter(int64_t afterMs, std::string_view tz) const;

  /// True when the expression fires at the top of an hour only (minute field exactly 0, seconds field
  /// absent or 0, and hour field not a single value) — OpenClaw staggers those by default.
  bool isTopOfHour() const;

  /// The expression as given, trimmed.
  const std::string& text() const { return text_; }

 private:
  struct Fields;
  std::string text_;
  std::shared_ptr<const Fields> fields_;
};

/// The kinds of schedule.
enum class ScheduleKind { kAt, kEvery, kCron };
/// "at" | "every" | "cron".
std::string_view scheduleKindName(ScheduleKind kind);

/// A job's schedule (OpenClaw's `schedule` object).
struct CronSchedule {
  ScheduleKind kind = ScheduleKind::kEvery;
  int64_t atMs = 0;                 // kAt: the instant, ms since the epoch
  int64_t everyMs = 0;              // kEvery: the period, ms (≥ 1)
  std::optional<int64_t> anchorMs;  // kEvery: runs fall on anchorMs + k·everyMs; none = the job's creation
  std::string expr;                 // kCron: the expression as given
  std::string tz;                   // kCron (and kAt when `at` has no offset): IANA zone; empty = host zone
  /// kCron: the job's runs are shifted by a fixed offset in [0, staggerMs), derived from the job id, so
  /// that many top-of-hour jobs do not fire together. nullopt = OpenClaw's default (5 min for
  /// top-of-hour expressions, otherwise 0); 0 = exact.
  std::optional<int64_t> staggerMs;

  bool operator==(const CronSchedule&) const = default;
};

/// Reads OpenClaw's `schedule` object. `at` takes ISO-8601 ("2026-12-01T09:00:00Z",
/// "2026-12-01T09:00:00+01:00", "2026-12-01T09:00" — no offset: in `tz`, or UTC without one) or a
/// relative duration from `nowMs` ("20m", "2h", "1d", "90s"). Unknown keys and wrong types are refused.
/// Errors: kInvalidArgument with the key path under "schedule" ("schedule.everyMs must be an integer ≥
/// 1"); a cron expression's errors as CronExpression::parse; an unknown `tz`.
Result<CronSchedule> parseSchedule(const json::value& schedule, int64_t nowMs);

/// The schedule as OpenClaw's JSON object (what cron.list returns). For kAt, `at` is ISO-8601 UTC with
/// milliseconds ("2026-12-01T09:00:00.000Z").
json::object scheduleToJson(const CronSchedule& schedule);

/// The effective stagger of `schedule` in ms (its staggerMs, or the default described above).
int64_t effectiveStaggerMs(const CronSchedule& schedule);

/// The next run strictly after `afterMs` for the job `jobId` created at `createdAtMs`:
///  - kAt: atMs when atMs > afterMs, else nullopt (a one-shot that has passed);
///  - kEvery: the least anchor + k·everyMs > afterMs (anchor = anchorMs or createdAtMs);
///  - kCron: the expression's next match after (afterMs − offset), plus offset, where offset =
///    a stable hash of jobId mod effectiveStaggerMs (0 when it is 0).
/// Errors: as CronExpression::parse / nextAfter.
Result<std::optional<int64_t>> nextRunAt(const CronSchedule& schedule, std::string_view jobId, int64_t createdAtMs,
                                         int64_t afterMs);

/// A duration such as "30s", "20m", "2h", "1d", "500ms", or "1h30m", in ms. Errors: kInvalidArgument.
Result<int64_t> parseDurationMs(std::string_view text);

}  // namespace talon::gateway::automation
