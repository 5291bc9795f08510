#pragma once
// Cron job schedules as OpenClaw defines them (docs/automation/cron-jobs/*.md; openclaw-semantics.md §4
// "Job schema"): `{kind:"at", at}`, `{kind:"every", everyMs, anchorMs?}` and
// `{kind:"cron", expr, tz?, staggerMs?}`, and the next time each fires. Pure functions of their
// arguments (no clock is read), so the scheduler is tested in simulated time.
//
// Cron expressions follow croner's syntax (croner 10, which OpenClaw uses): 5 fields (minute hour
// day-of-month month day-of-week) or 6 (a leading seconds field); `*`, lists, ranges, steps (`*/5`,
// `1-10/2`; croner refuses `5/15`, so does Talon), month and weekday names (JAN–DEC, SUN–SAT,
// case-insensitive; SUN ending a range is 7, so FRI-SUN works), `7` as Sunday, `?` as `*`; in
// day-of-month `L` (the last day), `LW` (the last weekday) and `15W` (the Monday–Friday nearest the 15th,
// within the month); in day-of-week `5#2` (the second Friday), `FRI#L` / `5L` (the last Friday); and the
// macros @yearly @annually @monthly @weekly @daily @midnight @hourly. When both day fields are
// restricted they combine with OR (Vixie cron, croner's default); a `+` prefix on day-of-week combines
// them with AND. A day field counts as unrestricted only when it is exactly `*` or `?` (so `*/2` in
// day-of-month is OR-ed with the weekdays, as in croner). tests/conformance/run-cron-schedule.sh checks
// next runs against OpenClaw's own code on thousands of random cases.
//
// Time zones come from the IANA database through Howard Hinnant's date/tz (the system's
// /usr/share/zoneinfo); no tz means the host's zone (TZ when set to an IANA name, else /etc/localtime).
// A wall time that occurs twice (the fall-back overlap) fires once, at its first occurrence, as in
// OpenClaw.
//
// Where Talon deliberately differs from croner/OpenClaw:
//  - a wall time that does not exist (the spring-forward gap) fires at the first instant after the
//    gap (03:00 for a 02:30 job in America/New_York), once; croner skips that day's run. A daily job
//    silently missing a day is the kind of silent failure Talon avoids, and Vixie cron also runs jobs
//    of the skipped hour right after the change;
//  - `?` in day-of-month counts as unrestricted: croner checks for `*` before it rewrites `?`, so
//    "0 0 ? * MON" fires every day there; here it fires on Mondays, as `?` means in Quartz;
//  - a 7th (year) field, which croner accepts, is refused with an error;
//  - croner misses some runs that Talon finds: March 1st after Feb 29 when day 31 is listed
//    ("0 3 1,16,31 * *"), and it recurses without end on an impossible `+` day ("0 0 9 * +MON#1"; Talon:
//    no next run);
//  - nextAfter looks 100 years ahead at most, and not past year 9999.
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
  /// (an IANA name; empty = the host's zone). nullopt when nothing matches from afterMs through the end
  /// of the 100th calendar year after it, or before year 10000 (e.g. "0 0 30 2 *", answered at once).
  /// Skips by field (month, day, hour, minute, second), so it costs microseconds, not a walk over
  /// minutes. Errors: kInvalidArgument for an unknown time zone (or a host TZ that is not an IANA name).
  Result<std::optional<int64_t>> nextAfter(int64_t afterMs, std::string_view tz) const;

  /// True when the expression recurs at the top of the hour, as OpenClaw's isRecurringTopOfHourCronExpr
  /// (dist stagger-*.mjs) decides from the text: the minute field is exactly "0" (and the seconds field,
  /// if any, exactly "0"), and every hour-list part is a number, range or wildcard (with optional step)
  /// with at least one wildcard ("0 * * * *", "0 */2 * * *"; not "0 9 * * *", "0 9-17 * * *", nor a
  /// macro such as @hourly). OpenClaw staggers those by default.
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
  std::string tz;                   // kCron: IANA zone; empty = host zone (always empty for kAt/kEvery)
  /// kCron: the job's runs are shifted by a fixed offset in [0, staggerMs), derived from the job id, so
  /// that many top-of-hour jobs do not fire together. nullopt = OpenClaw's default (5 min for
  /// top-of-hour expressions, otherwise 0); 0 = exact.
  std::optional<int64_t> staggerMs;

  bool operator==(const CronSchedule&) const = default;
};

/// Reads OpenClaw's `schedule` object. `at` takes ISO-8601 as OpenClaw's parseAbsoluteTimeMs does
/// ("2026-12-01", "2026-12-01T09:00:00Z", "2026-12-01T09:00:00.250+01:00", "2026-12-01T09:00", "…T24:00";
/// years 0000–9999), epoch milliseconds ("1796115600000"), or a duration from `nowMs` ("20m", "2h", "1d",
/// "90s", as `openclaw cron add --at 20m` does on the client). An ISO time without an offset is UTC, or
/// wall time in the schedule's `tz` when given (a Talon extension of the "at" object, which OpenClaw's CLI
/// applies before sending): its first occurrence when it occurs twice, an error inside a DST gap. The
/// result holds the instant only (tz is cleared). Unknown keys and wrong types are refused; kinds
/// "on-exit" and "stream" are kUnsupported (notSupportedYet).
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
/// This is OpenClaw's computeStaggeredCronNextRunAtMs / computeNextRunAtMs (dist jobs-scheduling-*.mjs,
/// schedule-*.mjs), without its lastRunAtMs shortcut for kEvery (the scheduler passes the last run as
/// afterMs). Errors: as CronExpression::parse / nextAfter.
Result<std::optional<int64_t>> nextRunAt(const CronSchedule& schedule, std::string_view jobId, int64_t createdAtMs,
                                         int64_t afterMs);

/// The stagger offset of job `jobId` in ms, in [0, staggerMs): the first 4 bytes of SHA-256(jobId) as a
/// big-endian unsigned integer, mod staggerMs; 0 when staggerMs ≤ 1. OpenClaw's resolveStableCronOffsetMs
/// (dist jobs-scheduling-*.mjs), so a job keeps the same offset on both.
int64_t staggerOffsetMs(std::string_view jobId, int64_t staggerMs);

/// A duration such as "30s", "20m", "2h", "1d", "500ms", or "1h30m", in ms (OpenClaw's parseDurationMs:
/// case-insensitive, decimals allowed ("1.5h"), a bare number is ms, every segment of a composite needs a unit, rounded
/// to the ms). Errors: kInvalidArgument.
Result<int64_t> parseDurationMs(std::string_view text);

/// The minute of the local day (0..1439) at `nowMs` (ms since the epoch) in IANA zone `tz` (empty: the
/// host's zone, as a cron schedule without `tz`). Errors: kInvalidArgument for an unknown zone.
Result<int> localMinuteOfDay(std::string_view tz, int64_t nowMs);

}  // namespace talon::gateway::automation
