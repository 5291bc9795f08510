// The cron schedule engine in simulated time: every function takes its instants as arguments, so nothing
// here reads the clock or sleeps. Values marked "OpenClaw" were produced by OpenClaw 2026.9.6's own
// implementation (computeNextRunAtMs in dist/schedule-*.mjs on croner 10.0.1, computeJobNextRunAtMs in
// dist/jobs-scheduling-*.mjs) run with the reference Node (~/.cache/openclaw-ref/bin/node).
#include "gateway/automation/cron_schedule.h"

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace talon::gateway::automation {
namespace {

int64_t utc(int y, unsigned mo, unsigned d, unsigned h = 0, unsigned mi = 0, unsigned s = 0) {
  const auto day = date::sys_days{date::year{y} / date::month{mo} / date::day{d}};
  return (day.time_since_epoch().count() * 86'400LL + h * 3'600LL + mi * 60LL + s) * 1000;
}

std::optional<int64_t> next(std::string_view expr, std::string_view tz, int64_t afterMs) {
  auto e = CronExpression::parse(expr);
  EXPECT_TRUE(e.has_value()) << expr << ": " << e.error().message;
  if (!e) return std::nullopt;
  auto n = e->nextAfter(afterMs, tz);
  EXPECT_TRUE(n.has_value()) << expr << " in " << tz << ": " << n.error().message;
  return n ? *n : std::nullopt;
}

std::string parseError(std::string_view expr) {
  auto e = CronExpression::parse(expr);
  EXPECT_FALSE(e.has_value()) << expr;
  return e ? std::string() : e.error().message;
}

CronSchedule atSchedule(int64_t atMs) {
  CronSchedule s;
  s.kind = ScheduleKind::kAt;
  s.atMs = atMs;
  return s;
}

CronSchedule everySchedule(int64_t everyMs) {
  CronSchedule s;
  s.kind = ScheduleKind::kEvery;
  s.everyMs = everyMs;
  return s;
}

CronSchedule cronSchedule(std::string expr, std::string tz = {}, std::optional<int64_t> staggerMs = std::nullopt) {
  CronSchedule s;
  s.kind = ScheduleKind::kCron;
  s.expr = std::move(expr);
  s.tz = std::move(tz);
  s.staggerMs = staggerMs;
  return s;
}

// ---- expressions against OpenClaw ---------------------------------------------------------------

struct GoldenCase {
  const char* expr;
  const char* tz;
  int64_t afterMs;
  std::optional<int64_t> expected;
};

TEST(CronExpressionGolden, MatchesOpenClawsNextRun) {
  // OpenClaw: computeNextRunAtMs({kind:"cron", expr, tz}, afterMs), printed by a script over this table.
  const GoldenCase cases[] = {
      {"*/15 * * * *", "UTC", 1780308450000, 1780308900000},       // 2026-06-01T10:07:30Z -> 2026-06-01T10:15:00.000Z
      {"5,35 9-17/4 * * *", "UTC", 1780336800000, 1780391100000},  // 2026-06-01T18:00:00Z -> 2026-06-02T09:05:00.000Z
      {"0 12 * JAN,jul *", "UTC", 1769904000000, 1782907200000},   // 2026-02-01T00:00:00Z -> 2026-07-01T12:00:00.000Z
      {"0 0 * * MON-FRI", "UTC", 1780660800000, 1780876800000},    // 2026-06-05T12:00:00Z -> 2026-06-08T00:00:00.000Z
      {"0 0 * * sat,SUN", "UTC", 1780272000000, 1780704000000},    // 2026-06-01T00:00:00Z -> 2026-06-06T00:00:00.000Z
      {"0 0 * * 7", "UTC", 1780272000000, 1780790400000},          // 2026-06-01T00:00:00Z -> 2026-06-07T00:00:00.000Z
      {"0 0 13 * FRI", "UTC", 1780272000000, 1780617600000},       // 2026-06-01T00:00:00Z -> 2026-06-05T00:00:00.000Z
      {"0 0 13 * +FRI", "UTC", 1767225600000, 1770940800000},      // 2026-01-01T00:00:00Z -> 2026-02-13T00:00:00.000Z
      {"0 0 */10 * *", "UTC", 1782345600000, 1782864000000},       // 2026-06-25T00:00:00Z -> 2026-07-01T00:00:00.000Z
      {"0 0 L * *", "UTC", 1769904000000, 1772236800000},          // 2026-02-01T00:00:00Z -> 2026-02-28T00:00:00.000Z
      {"0 0 L * *", "UTC", 1832976000000, 1835395200000},          // 2028-02-01T00:00:00Z -> 2028-02-29T00:00:00.000Z
      {"0 0 LW * *", "UTC", 1777593600000, 1780012800000},         // 2026-05-01T00:00:00Z -> 2026-05-29T00:00:00.000Z
      {"0 0 15W * *", "UTC", 1785542400000, 1786665600000},        // 2026-08-01T00:00:00Z -> 2026-08-14T00:00:00.000Z
      {"0 0 1W * *", "UTC", 1785456000000, 1785715200000},         // 2026-07-31T00:00:00Z -> 2026-08-03T00:00:00.000Z
      {"0 0 31W * *", "UTC", 1777593600000, 1780012800000},        // 2026-05-01T00:00:00Z -> 2026-05-29T00:00:00.000Z
      {"0 0 * * 5#2", "UTC", 1780272000000, 1781222400000},        // 2026-06-01T00:00:00Z -> 2026-06-12T00:00:00.000Z
      {"0 0 * * FRI#L", "UTC", 1782864000000, 1785456000000},      // 2026-07-01T00:00:00Z -> 2026-07-31T00:00:00.000Z
      {"0 0 * * 1L", "UTC", 1785542400000, 1788134400000},         // 2026-08-01T00:00:00Z -> 2026-08-31T00:00:00.000Z
      {"30 15 10 * * *", "UTC", 1780308930000, 1780395330000},     // 2026-06-01T10:15:30Z -> 2026-06-02T10:15:30.000Z
      {"*/20 * * * * *", "UTC", 1780308959500, 1780308960000},  // 2026-06-01T10:15:59.500Z -> 2026-06-01T10:16:00.000Z
      {"@yearly", "UTC", 1780272000000, 1798761600000},         // 2026-06-01T00:00:00Z -> 2027-01-01T00:00:00.000Z
      {"@monthly", "UTC", 1797292800000, 1798761600000},        // 2026-12-15T00:00:00Z -> 2027-01-01T00:00:00.000Z
      {"@weekly", "UTC", 1780272000000, 1780790400000},         // 2026-06-01T00:00:00Z -> 2026-06-07T00:00:00.000Z
      {"@daily", "UTC", 1798761599000, 1798761600000},          // 2026-12-31T23:59:59Z -> 2027-01-01T00:00:00.000Z
      {"@hourly", "UTC", 1798759800000, 1798761600000},         // 2026-12-31T23:30:00Z -> 2027-01-01T00:00:00.000Z
      {"59 23 31 12 *", "UTC", 1798761540000, 1830297540000},   // 2026-12-31T23:59:00Z -> 2027-12-31T23:59:00.000Z
      {"0 0 29 2 *", "UTC", 1772323200000, 1835395200000},      // 2026-03-01T00:00:00Z -> 2028-02-29T00:00:00.000Z
      {"0 0 29 2 *", "UTC", 1709121600000, 1709164800000},      // 2024-02-28T12:00:00Z -> 2024-02-29T00:00:00.000Z
      {"0 9 * * 1-5", "America/New_York", 1780668000000,
       1780923600000},                                               // 2026-06-05T14:00:00Z -> 2026-06-08T13:00:00.000Z
      {"0 9 * * *", "Europe/Berlin", 1774699200000, 1774767600000},  // 2026-03-28T12:00:00Z -> 2026-03-29T07:00:00.000Z
      {"0 9 * * *", "Europe/Berlin", 1792843200000, 1792915200000},  // 2026-10-24T12:00:00Z -> 2026-10-25T08:00:00.000Z
      {"30 2 * * *", "Europe/Berlin", 1792843200000,
       1792888200000},  // 2026-10-24T12:00:00Z -> 2026-10-25T00:30:00.000Z
      {"30 2 * * *", "Europe/Berlin", 1792888260000,
       1792978200000},                                              // 2026-10-25T00:31:00Z -> 2026-10-26T01:30:00.000Z
      {"0 0 * * *", "Asia/Kolkata", 1780272000000, 1780338600000},  // 2026-06-01T00:00:00Z -> 2026-06-01T18:30:00.000Z
      {"30 1 * * *", "America/New_York", 1793505600000,
       1793511000000},  // 2026-11-01T04:00:00Z -> 2026-11-01T05:30:00.000Z
      {"30 1 * * *", "America/New_York", 1793511060000,
       1793601000000},  // 2026-11-01T05:31:00Z -> 2026-11-02T06:30:00.000Z
      {"30 1 * * *", "America/New_York", 1793514660000,
       1793601000000},  // 2026-11-01T06:31:00Z -> 2026-11-02T06:30:00.000Z
      {"*/15 * * * *", "America/New_York", 1793512200000,
       1793516400000},  // 2026-11-01T05:50:00Z -> 2026-11-01T07:00:00.000Z
      {"0 9 * * *", "Australia/Lord_Howe", 1791028800000,
       1791064800000},  // 2026-10-03T12:00:00Z -> 2026-10-03T22:00:00.000Z
      {"30 1 * * *", "Australia/Lord_Howe", 1775304000000,
       1775313000000},  // 2026-04-04T12:00:00Z -> 2026-04-04T14:30:00.000Z
      {"45 1 * * *", "Australia/Lord_Howe", 1775312400000,
       1775313900000},  // 2026-04-04T14:20:00Z -> 2026-04-04T14:45:00.000Z
      {"45 1 * * *", "Australia/Lord_Howe", 1775314200000,
       1775402100000},                                        // 2026-04-04T14:50:00Z -> 2026-04-05T15:15:00.000Z
      {"0 0 1 * +MON", "UTC", 1767225600000, 1780272000000},  // 2026-01-01T00:00:00Z -> 2026-06-01T00:00:00.000Z
      {"0 0 1,15 * MON", "Asia/Kolkata", 1780358400000,
       1780857000000},                                         // 2026-06-02T00:00:00Z -> 2026-06-07T18:30:00.000Z
      {"0 0 */2 * MON", "UTC", 1780358400000, 1780444800000},  // 2026-06-02T00:00:00Z -> 2026-06-03T00:00:00.000Z
      {"0 9-17 * * *", "America/New_York", 1780349400000,
       1780405200000},  // 2026-06-01T21:30:00Z -> 2026-06-02T13:00:00.000Z
  };
  for (const auto& c : cases) {
    EXPECT_EQ(next(c.expr, c.tz, c.afterMs), c.expected) << c.expr << " in " << c.tz << " after " << c.afterMs;
  }
}

// ---- syntax -------------------------------------------------------------------------------------

TEST(CronExpressionParse, AcceptsEveryFieldSyntax) {
  for (const char* ok : {"* * * * *",      "*/5 * * * *", "0-59/10 * * * *", "1,2,3 4-6 7 8 1", "0 0 ? * ?",
                         "0 0 L * *",      "0 0 1,L * *", "0 0 LW * *",      "0 0 15W * *",     "0 0 * * 5#2",
                         "0 0 * * FRI#L",  "0 0 * * 5L",  "0 0 * * 1-5#1",   "0 0 1 * +MON",    "0 0 * Jan-MAR mon-fri",
                         "0 0 * * 0-7",    "0 0 0 * * *", "@yearly",         "@annually",       "@monthly",
                         "@weekly",        "@daily",      "@midnight",       "@hourly",         "@HOURLY",
                         "  0   9 * * *  "}) {
    auto e = CronExpression::parse(ok);
    EXPECT_TRUE(e.has_value()) << ok << ": " << (e ? "" : e.error().message);
  }
  EXPECT_EQ(CronExpression::parse("  0   9 * * *  ")->text(), "0   9 * * *");
}

TEST(CronExpressionParse, NamesTheFieldAndTokenOfEachError) {
  const std::pair<const char*, const char*> cases[] = {
      {"61 * * * *", "cron expression \"61 * * * *\": minute 61 is out of range 0-59"},
      {"0 24 * * *", "cron expression \"0 24 * * *\": hour 24 is out of range 0-23"},
      {"0 0 0 * *", "cron expression \"0 0 0 * *\": day-of-month 0 is out of range 1-31"},
      {"0 0 32 * *", "cron expression \"0 0 32 * *\": day-of-month 32 is out of range 1-31"},
      {"0 0 * 13 *", "cron expression \"0 0 * 13 *\": month 13 is out of range 1-12"},
      {"0 0 * 0 *", "cron expression \"0 0 * 0 *\": month 0 is out of range 1-12"},
      {"0 0 * * 8", "cron expression \"0 0 * * 8\": day-of-week 8 is out of range 0-7"},
      {"60 0 0 * * *", "cron expression \"60 0 0 * * *\": second 60 is out of range 0-59"},
      {"", "cron expression \"\": the expression is empty"},
      {"* * * *",
       "cron expression \"* * * *\": 4 fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (with "
       "leading seconds)"},
      {"0 0 0 1 1 * 2027",
       "cron expression \"0 0 0 1 1 * 2027\": 7 fields: the year field is not supported (use 5 fields, or 6 with "
       "leading seconds)"},
      {"@reboot",
       "cron expression \"@reboot\": unknown macro \"@reboot\" (use @yearly, @annually, @monthly, @weekly, @daily, "
       "@midnight or @hourly)"},
      {"*/0 * * * *", "cron expression \"*/0 * * * *\": minute \"*/0\" is not valid: the step must be at least 1"},
      {"*/x * * * *", "cron expression \"*/x * * * *\": minute \"*/x\" is not valid: step \"x\" is not a number"},
      {"5/15 * * * *",
       "cron expression \"5/15 * * * *\": minute \"5/15\" is not valid: a step needs a range or * before it (croner "
       "refuses \"5/15\"; write \"5-59/15\")"},
      {"5-2 * * * *", "cron expression \"5-2 * * * *\": minute \"5-2\" is not valid: the range starts after it ends"},
      {"0 0 * * FRI-MON",
       "cron expression \"0 0 * * FRI-MON\": day-of-week \"FRI-MON\" is not valid: the range starts after it ends"},
      {"0 0 * * SUN-FRI/0",
       "cron expression \"0 0 * * SUN-FRI/0\": day-of-week \"SUN-FRI/0\" is not valid: the step must be at least 1"},
      {"a * * * *", "cron expression \"a * * * *\": minute \"a\" is not valid: \"a\" is not a number or a name"},
      {"0 0 * JANUARY *",
       "cron expression \"0 0 * JANUARY *\": month \"JANUARY\" is not valid: \"JANUARY\" is not a number or a name"},
      {"0 MON * * *", "cron expression \"0 MON * * *\": hour \"MON\" is not valid: \"MON\" is not a number or a name"},
      {"1,,2 * * * *", "cron expression \"1,,2 * * * *\": minute \"1,,2\" is not valid: empty list item"},
      {"0 0 * * MON#6",
       "cron expression \"0 0 * * MON#6\": day-of-week \"MON#6\" is not valid: the nth weekday \"6\" must be 1-5 or "
       "L"},
      {"0 0 * * +", "cron expression \"0 0 * * +\": day-of-week is empty after the + (AND) modifier"},
      {"0 0 1#2 * *",
       "cron expression \"0 0 1#2 * *\": day-of-month \"1#2\" is not valid: character '#' is not "
       "allowed"},
      {"0 0 L-2 * *",
       "cron expression \"0 0 L-2 * *\": day-of-month \"L-2\" is not valid: \"L\" is not a number or a name"},
      {"0 0 * * */2#1",
       "cron expression \"0 0 * * */2#1\": day-of-week \"*/2#1\" is not valid: a step cannot carry # or L"},
  };
  for (const auto& [expr, message] : cases) EXPECT_EQ(parseError(expr), message) << expr;
}

TEST(CronExpressionParse, RefusesUnknownTimeZones) {
  auto e = CronExpression::parse("0 9 * * *");
  ASSERT_TRUE(e);
  auto n = e->nextAfter(0, "Mars/Olympus_Mons");
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(n.error().message, "unknown time zone \"Mars/Olympus_Mons\"");
}

TEST(CronExpressionParse, TopOfHourFollowsOpenClawsTextTest) {
  for (const char* yes :
       {"0 * * * *", "0 */2 * * *", "0 ? * * *", "0 *,5 * * *", "0 0 * * * *", "0 0 */3 * * *", "0 * * * MON-FRI"})
    EXPECT_TRUE(CronExpression::parse(yes)->isTopOfHour()) << yes;
  for (const char* no : {"0 9 * * *", "0 9-17 * * *", "0 9,17 * * *", "5 * * * *", "*/15 * * * *", "30 0 * * * *",
                         "@hourly", "@daily", "00 * * * *"})
    EXPECT_FALSE(CronExpression::parse(no)->isTopOfHour()) << no;
}

// ---- matching -----------------------------------------------------------------------------------

// All fire times in [fromMs, toMs).
std::vector<int64_t> firings(std::string_view expr, std::string_view tz, int64_t fromMs, int64_t toMs) {
  std::vector<int64_t> out;
  int64_t t = fromMs - 1;
  for (;;) {
    auto n = next(expr, tz, t);
    if (!n || *n >= toMs) return out;
    out.push_back(*n);
    t = *n;
  }
}

date::year_month_weekday dayOf(int64_t ms) {
  return date::year_month_weekday{
      date::floor<date::days>(date::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds(ms)})};
}
unsigned dayOfMonth(int64_t ms) {
  return static_cast<unsigned>(date::year_month_day{
      date::floor<date::days>(date::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds(ms)})}
                                   .day());
}

TEST(CronExpressionMatch, DayFieldsCombineWithOrAndPlusMeansAnd) {
  const auto orDays = firings("0 0 13 * FRI", "UTC", utc(2026, 1, 1), utc(2027, 1, 1));
  const auto andDays = firings("0 0 13 * +FRI", "UTC", utc(2026, 1, 1), utc(2027, 1, 1));
  EXPECT_EQ(orDays.size(), 52u + 12u - 3u);  // 52 Fridays, twelve 13ths, three of them Fridays
  for (int64_t t : orDays) EXPECT_TRUE(dayOfMonth(t) == 13 || dayOf(t).weekday() == date::Friday);
  ASSERT_EQ(andDays.size(), 3u);  // 2026: Feb, Mar and Nov
  EXPECT_EQ(andDays[0], utc(2026, 2, 13));
  EXPECT_EQ(andDays[1], utc(2026, 3, 13));
  EXPECT_EQ(andDays[2], utc(2026, 11, 13));
  // A wildcard day-of-month leaves the weekdays alone (and the reverse).
  for (int64_t t : firings("0 0 * * MON", "UTC", utc(2026, 1, 1), utc(2026, 3, 1)))
    EXPECT_EQ(dayOf(t).weekday(), date::Monday);
  EXPECT_EQ(firings("0 0 1 * *", "UTC", utc(2026, 1, 1), utc(2027, 1, 1)).size(), 12u);
}

TEST(CronExpressionMatch, SundayEndingARangeIsSeven) {
  // croner reads "-SUN" as 7: FRI-SUN is Friday, Saturday and Sunday; SUN-SUN is every day.
  std::set<unsigned> weekdays;
  for (int64_t t : firings("0 0 * * FRI-SUN", "UTC", utc(2026, 6, 1), utc(2026, 6, 15)))
    weekdays.insert(dayOf(t).weekday().c_encoding());
  EXPECT_EQ(weekdays, (std::set<unsigned>{0, 5, 6}));
  EXPECT_EQ(firings("0 0 * * SUN-SUN", "UTC", utc(2026, 6, 1), utc(2026, 6, 15)).size(), 14u);
  EXPECT_EQ(firings("0 0 * * sun", "UTC", utc(2026, 6, 1), utc(2026, 6, 15)).size(), 2u);
}

TEST(CronExpressionMatch, QuestionMarkInDayOfMonthLeavesTheWeekdayAlone) {
  // croner fires "0 0 ? * MON" every day (it tests for "*" before rewriting "?"); Talon, Mondays only.
  const auto runs = firings("0 0 ? * MON", "UTC", utc(2026, 6, 1), utc(2026, 7, 1));
  ASSERT_EQ(runs.size(), 5u);
  for (int64_t t : runs) EXPECT_EQ(dayOf(t).weekday(), date::Monday);
}

TEST(CronExpressionMatch, LastDayNthWeekdayAndNearestWeekday) {
  EXPECT_EQ(firings("0 0 L * *", "UTC", utc(2028, 1, 1), utc(2028, 4, 1)),
            (std::vector<int64_t>{utc(2028, 1, 31), utc(2028, 2, 29), utc(2028, 3, 31)}));
  EXPECT_EQ(firings("0 0 * * MON#1", "UTC", utc(2026, 1, 1), utc(2026, 4, 1)),
            (std::vector<int64_t>{utc(2026, 1, 5), utc(2026, 2, 2), utc(2026, 3, 2)}));
  // 2026-02-15 is a Sunday: 15W moves to Monday the 16th; 2026-03-15 too; 2026-08-15 is a Saturday.
  EXPECT_EQ(next("0 0 15W * *", "UTC", utc(2026, 2, 1)), utc(2026, 2, 16));
  EXPECT_EQ(next("0 0 15W * *", "UTC", utc(2026, 8, 1)), utc(2026, 8, 14));
}

TEST(CronExpressionMatch, SixFieldsAddSeconds) {
  EXPECT_EQ(firings("*/20 * * * * *", "UTC", utc(2026, 6, 1, 10, 0, 0), utc(2026, 6, 1, 10, 1, 0)),
            (std::vector<int64_t>{utc(2026, 6, 1, 10, 0, 0), utc(2026, 6, 1, 10, 0, 20), utc(2026, 6, 1, 10, 0, 40)}));
  // Strictly after: a run at exactly afterMs is not returned; milliseconds are honoured.
  EXPECT_EQ(next("30 * * * * *", "UTC", utc(2026, 6, 1, 10, 0, 30)), utc(2026, 6, 1, 10, 1, 30));
  EXPECT_EQ(next("30 * * * * *", "UTC", utc(2026, 6, 1, 10, 0, 30) - 1), utc(2026, 6, 1, 10, 0, 30));
  EXPECT_EQ(next("* * * * *", "UTC", utc(2026, 6, 1, 10, 0, 0) + 999), utc(2026, 6, 1, 10, 1, 0));
}

TEST(CronExpressionMatch, CrossesMonthYearAndLeapDay) {
  EXPECT_EQ(next("0 0 1 * *", "UTC", utc(2026, 12, 15)), utc(2027, 1, 1));
  EXPECT_EQ(next("0 0 31 * *", "UTC", utc(2026, 4, 1)), utc(2026, 5, 31));  // April has no 31st
  EXPECT_EQ(next("0 0 29 2 *", "UTC", utc(2027, 1, 1)), utc(2028, 2, 29));
  EXPECT_EQ(next("0 0 29 2 *", "UTC", utc(2096, 3, 1)), utc(2104, 2, 29));  // 2100 is not a leap year
  // Rare but possible: Feb 29 on a Monday (2044, 2072, 2112 — 40 years across 2100).
  EXPECT_EQ(next("0 0 29 2 +MON", "UTC", utc(2026, 1, 1)), utc(2044, 2, 29));
  EXPECT_EQ(next("0 0 29 2 +MON", "UTC", utc(2072, 3, 1)), utc(2112, 2, 29));
  // OpenClaw: computeNextRunAtMs({kind:"cron", expr:"44 * 16-16/4 3 +6", tz:"Pacific/Chatham"},
  // 2024-07-10T05:59:58.099Z) = 2030-03-15T10:59:00.000Z (March 16th on a Saturday, local).
  EXPECT_EQ(next("44 * 16-16/4 3 +6", "Pacific/Chatham", 1720591198099), 1899802740000);
  EXPECT_EQ(next("0 0 29 2 *", "UTC", utc(2099, 3, 1)), utc(2104, 2, 29));
  EXPECT_EQ(next("59 23 31 12 *", "UTC", utc(2026, 12, 31, 23, 59)), utc(2027, 12, 31, 23, 59));
}

TEST(CronExpressionMatch, StaysInsideYears1To9999) {
  EXPECT_EQ(next("0 0 1 1 *", "UTC", utc(9999, 6, 1)), std::nullopt);
  EXPECT_EQ(next("* * * * *", "UTC", utc(9999, 12, 31, 23, 58)), utc(9999, 12, 31, 23, 59));
  EXPECT_EQ(next("* * * * *", "Asia/Kolkata", 8'640'000'000'000'000), std::nullopt);  // JavaScript's last date
  EXPECT_EQ(next("0 0 1 1 *", "UTC", -8'640'000'000'000'000), utc(1, 1, 1));
  EXPECT_EQ(next("0 0 1 1 *", "UTC", utc(1, 1, 1)), utc(2, 1, 1));
}

TEST(CronExpressionMatch, TheFirstOfMarchAfterALeapDay) {
  // croner (so OpenClaw) answers 2028-03-16 here: it skips March 1st when day 31 is also listed.
  EXPECT_EQ(next("0 3 1,16,31 * *", "UTC", utc(2028, 2, 29, 19)), utc(2028, 3, 1, 3));
  EXPECT_EQ(next("* 3-8/5 */15 * *", "Asia/Tokyo", utc(2028, 2, 29, 10, 6)), utc(2028, 2, 29, 18));
}

TEST(CronExpressionMatch, ImpossibleDatesNeverMatch) {
  EXPECT_EQ(next("0 0 30 2 *", "UTC", utc(2026, 1, 1)), std::nullopt);
  EXPECT_EQ(next("0 0 31 4,6,9,11 *", "UTC", utc(2026, 1, 1)), std::nullopt);
  EXPECT_EQ(next("0 0 30 2 *", "America/New_York", utc(2026, 1, 1)), std::nullopt);
  EXPECT_EQ(next("0 0 30,31 2 +MON", "UTC", utc(2026, 1, 1)), std::nullopt);
  EXPECT_EQ(next("0 0 30W 2 *", "UTC", utc(2026, 1, 1)), std::nullopt);
  EXPECT_EQ(next("0 0 9 * +MON#1", "UTC", utc(2026, 1, 1)), std::nullopt);  // croner recurses without end here
  // A weekday OR-ed in makes it possible again; so does L.
  EXPECT_EQ(next("0 0 30 2 MON", "UTC", utc(2026, 1, 1)), utc(2026, 2, 2));
  EXPECT_EQ(next("0 0 30,L 2 *", "UTC", utc(2026, 1, 1)), utc(2026, 2, 28));
}

// ---- time zones ---------------------------------------------------------------------------------

TEST(CronExpressionZones, WallTimeInTheZone) {
  EXPECT_EQ(next("0 9 * * *", "America/New_York", utc(2026, 1, 15)), utc(2026, 1, 15, 14));  // EST, UTC-5
  EXPECT_EQ(next("0 9 * * *", "America/New_York", utc(2026, 7, 15)), utc(2026, 7, 15, 13));  // EDT, UTC-4
  EXPECT_EQ(next("0 9 * * *", "Europe/Berlin", utc(2026, 1, 15)), utc(2026, 1, 15, 8));
  EXPECT_EQ(next("0 9 * * *", "Europe/Berlin", utc(2026, 7, 15)), utc(2026, 7, 15, 7));
  EXPECT_EQ(next("0 9 * * *", "Asia/Kolkata", utc(2026, 7, 15)), utc(2026, 7, 15, 3, 30));          // UTC+5:30
  EXPECT_EQ(next("0 9 * * *", "Australia/Lord_Howe", utc(2026, 7, 15)), utc(2026, 7, 15, 22, 30));  // +10:30
  EXPECT_EQ(next("0 9 * * *", "Australia/Lord_Howe", utc(2026, 12, 15)), utc(2026, 12, 15, 22));    // +11
  EXPECT_EQ(next("0 9 * * *", " UTC ", utc(2026, 7, 15)), utc(2026, 7, 15, 9));
}

TEST(CronExpressionZones, SpringForwardGapFiresOnceAtTheEndOfTheGap) {
  // America/New_York, 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00Z). OpenClaw (croner) skips this
  // day and answers 2026-03-09T06:30Z; Talon runs at 03:00 EDT.
  const auto runs = firings("30 2 * * *", "America/New_York", utc(2026, 3, 7), utc(2026, 3, 10));
  EXPECT_EQ(runs, (std::vector<int64_t>{utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)}));
  // Several runs inside the gap collapse into one.
  const auto quarter = firings("*/15 2 * * *", "America/New_York", utc(2026, 3, 8), utc(2026, 3, 8, 12));
  EXPECT_EQ(quarter, (std::vector<int64_t>{utc(2026, 3, 8, 7)}));
  // An hourly job: 01:00 EST, then 03:00 EDT (the 02:00 slot and 03:00 are the same instant), 04:00 EDT.
  EXPECT_EQ(firings("0 * * * *", "America/New_York", utc(2026, 3, 8, 6), utc(2026, 3, 8, 8, 30)),
            (std::vector<int64_t>{utc(2026, 3, 8, 6), utc(2026, 3, 8, 7), utc(2026, 3, 8, 8)}));
  // Europe/Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00Z).
  EXPECT_EQ(firings("30 2 * * *", "Europe/Berlin", utc(2026, 3, 29), utc(2026, 3, 30, 12)),
            (std::vector<int64_t>{utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)}));
  // Australia/Lord_Howe, 2026-10-04: 02:00 (+10:30) becomes 02:30 (+11) at 15:30Z the day before.
  EXPECT_EQ(firings("15 2 * * *", "Australia/Lord_Howe", utc(2026, 10, 3), utc(2026, 10, 5)),
            (std::vector<int64_t>{utc(2026, 10, 3, 15, 30), utc(2026, 10, 4, 15, 15)}));
  // 02:30 itself exists on that day (the first instant after the gap), as in OpenClaw.
  EXPECT_EQ(next("30 2 * * *", "Australia/Lord_Howe", utc(2026, 10, 3, 12)), utc(2026, 10, 3, 15, 30));
}

TEST(CronExpressionZones, FallBackOverlapFiresOnceAtTheFirstOccurrence) {
  // America/New_York, 2026-11-01: 02:00 EDT becomes 01:00 EST (06:00Z); 01:30 occurs at 05:30Z and 06:30Z.
  EXPECT_EQ(firings("30 1 * * *", "America/New_York", utc(2026, 10, 31), utc(2026, 11, 3)),
            (std::vector<int64_t>{utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)}));
  // Starting inside the repeated hour does not fire its second pass.
  EXPECT_EQ(next("30 1 * * *", "America/New_York", utc(2026, 11, 1, 6, 10)), utc(2026, 11, 2, 6, 30));
  EXPECT_EQ(next("* * * * *", "America/New_York", utc(2026, 11, 1, 6, 10)), utc(2026, 11, 1, 7, 0));
  EXPECT_EQ(next("* * * * *", "America/New_York", utc(2026, 11, 1, 5, 58)), utc(2026, 11, 1, 5, 59));
  EXPECT_EQ(next("* * * * *", "America/New_York", utc(2026, 11, 1, 5, 59)), utc(2026, 11, 1, 7, 0));
  // Every minute through the night: the repeated hour's second pass (06:00Z–06:59Z) never fires.
  const auto minutes = firings("* * * * *", "America/New_York", utc(2026, 11, 1, 5), utc(2026, 11, 1, 8));
  EXPECT_EQ(minutes.size(), 120u);
  for (int64_t t : minutes) EXPECT_TRUE(t < utc(2026, 11, 1, 6) || t >= utc(2026, 11, 1, 7)) << t;
  // Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00Z); 02:30 occurs at 00:30Z and 01:30Z.
  EXPECT_EQ(firings("30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12), utc(2026, 10, 26, 12)),
            (std::vector<int64_t>{utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)}));
  // Lord_Howe, 2026-04-05: 02:00 (+11) becomes 01:30 (+10:30) at 15:00Z; 01:45 occurs at 14:45Z and 15:15Z.
  EXPECT_EQ(firings("45 1 * * *", "Australia/Lord_Howe", utc(2026, 4, 4), utc(2026, 4, 6)),
            (std::vector<int64_t>{utc(2026, 4, 4, 14, 45), utc(2026, 4, 5, 15, 15)}));
}

TEST(CronExpressionZones, EmptyZoneIsTheHostZone) {
  const char* env = std::getenv("TZ");
  std::string host = env && *env ? std::string(env[0] == ':' ? env + 1 : env) : date::current_zone()->name();
  for (int64_t t : {utc(2026, 1, 15), utc(2026, 7, 15), utc(2026, 3, 8, 6)})
    EXPECT_EQ(next("30 2 * * *", "", t), next("30 2 * * *", host, t)) << host;
}

// ---- schedules ----------------------------------------------------------------------------------

Result<CronSchedule> parseText(std::string_view json, int64_t nowMs = utc(2026, 6, 1)) {
  auto v = parseJson(json);
  EXPECT_TRUE(v.has_value()) << json;
  return parseSchedule(*v, nowMs);
}

std::string scheduleError(std::string_view json) {
  auto s = parseText(json);
  EXPECT_FALSE(s.has_value()) << json;
  return s ? std::string() : s.error().message;
}

TEST(ParseSchedule, AtAcceptsIsoForms) {
  const std::pair<const char*, int64_t> cases[] = {
      {R"({"kind":"at","at":"2026-12-01T09:00:00Z"})", utc(2026, 12, 1, 9)},
      {R"({"kind":"at","at":"2026-12-01T09:00:00z"})", utc(2026, 12, 1, 9)},
      {R"({"kind":"at","at":"2026-12-01T09:00:00+01:00"})", utc(2026, 12, 1, 8)},
      {R"({"kind":"at","at":"2026-12-01T09:00:00-0530"})", utc(2026, 12, 1, 14, 30)},
      {R"({"kind":"at","at":"2026-12-01T09:00:00.250Z"})", utc(2026, 12, 1, 9) + 250},
      {R"({"kind":"at","at":"2026-12-01T09:00:00.1239Z"})", utc(2026, 12, 1, 9) + 123},
      {R"({"kind":"at","at":"2026-12-01T09:00"})", utc(2026, 12, 1, 9)},
      {R"({"kind":"at","at":"2026-12-01"})", utc(2026, 12, 1)},
      {R"({"kind":"at","at":"2026-12-01T24:00"})", utc(2026, 12, 2)},
      {R"({"kind":"at","at":"2028-02-29T12:00:00Z"})", utc(2028, 2, 29, 12)},
      {R"({"kind":"at","at":" 1796115600000 "})", 1796115600000},
      {R"({"kind":"at","at":"2026-12-01T09:00","tz":"Europe/Berlin"})", utc(2026, 12, 1, 8)},
      {R"({"kind":"at","at":"2026-12-01T09:00","tz":"Asia/Kolkata"})", utc(2026, 12, 1, 3, 30)},
      {R"({"kind":"at","at":"2026-12-01T09:00Z","tz":"Asia/Kolkata"})", utc(2026, 12, 1, 9)},
      // The fall-back overlap: the first 01:30 (EDT).
      {R"({"kind":"at","at":"2026-11-01T01:30","tz":"America/New_York"})", utc(2026, 11, 1, 5, 30)},
  };
  for (const auto& [json, ms] : cases) {
    auto s = parseText(json);
    ASSERT_TRUE(s.has_value()) << json << ": " << s.error().message;
    EXPECT_EQ(s->kind, ScheduleKind::kAt);
    EXPECT_EQ(s->atMs, ms) << json;
    EXPECT_EQ(s->tz, "");
  }
}

TEST(ParseSchedule, AtAcceptsDurationsFromNow) {
  const int64_t now = utc(2026, 6, 1, 12);
  const std::pair<const char*, int64_t> cases[] = {
      {"20m", 20 * 60'000}, {"2h", 7'200'000},   {"1d", 86'400'000}, {"90s", 90'000},
      {"1h30m", 5'400'000}, {"1.5h", 5'400'000}, {"500ms", 500},     {"2H", 7'200'000},
  };
  for (const auto& [text, ms] : cases) {
    auto s = parseText(std::string(R"({"kind":"at","at":")") + text + "\"}", now);
    ASSERT_TRUE(s.has_value()) << text;
    EXPECT_EQ(s->atMs, now + ms) << text;
  }
}

TEST(ParseSchedule, EveryAndCron) {
  auto every = parseText(R"({"kind":"every","everyMs":60000})");
  ASSERT_TRUE(every);
  EXPECT_EQ(every->kind, ScheduleKind::kEvery);
  EXPECT_EQ(every->everyMs, 60'000);
  EXPECT_EQ(every->anchorMs, std::nullopt);
  auto anchored = parseText(R"({"kind":"every","everyMs":1,"anchorMs":0})");
  ASSERT_TRUE(anchored);
  EXPECT_EQ(anchored->anchorMs, 0);
  auto cron = parseText(R"({"kind":"cron","expr":" 0 9 * * MON ","tz":"Europe/Berlin","staggerMs":0})");
  ASSERT_TRUE(cron);
  EXPECT_EQ(cron->kind, ScheduleKind::kCron);
  EXPECT_EQ(cron->expr, "0 9 * * MON");
  EXPECT_EQ(cron->tz, "Europe/Berlin");
  EXPECT_EQ(cron->staggerMs, 0);
  auto plain = parseText(R"({"kind":"cron","expr":"@daily"})");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->tz, "");
  EXPECT_EQ(plain->staggerMs, std::nullopt);
}

TEST(ParseSchedule, RefusesWithTheKeyPath) {
  const std::pair<const char*, const char*> cases[] = {
      {R"([])", "schedule must be an object"},
      {R"({})", "schedule.kind must be one of \"at\", \"every\", \"cron\""},
      {R"({"kind":"weekly"})", "schedule.kind must be one of \"at\", \"every\", \"cron\""},
      {R"({"kind":"every"})", "schedule.everyMs must be an integer ≥ 1"},
      {R"({"kind":"every","everyMs":0})", "schedule.everyMs must be an integer ≥ 1"},
      {R"({"kind":"every","everyMs":1.5})", "schedule.everyMs must be an integer ≥ 1"},
      {R"({"kind":"every","everyMs":"60000"})", "schedule.everyMs must be an integer ≥ 1"},
      {R"({"kind":"every","everyMs":60000,"anchorMs":-1})", "schedule.anchorMs must be an integer ≥ 0"},
      {R"({"kind":"every","everyMs":60000,"expr":"* * * * *"})", "schedule.expr is not a field of kind \"every\""},
      {R"({"kind":"at"})", "schedule.at must be a non-empty string"},
      {R"({"kind":"at","at":" "})", "schedule.at must be a non-empty string"},
      {R"({"kind":"at","at":"tomorrow"})",
       "schedule.at \"tomorrow\" is neither an ISO-8601 time (2026-12-01T09:00:00Z) nor a duration (20m, 2h, 1d)"},
      {R"({"kind":"at","at":"2026-02-30T09:00:00Z"})",
       "schedule.at \"2026-02-30T09:00:00Z\" is neither an ISO-8601 time (2026-12-01T09:00:00Z) nor a duration "
       "(20m, 2h, 1d)"},
      {R"({"kind":"at","at":"2026-12-01T25:00Z"})",
       "schedule.at \"2026-12-01T25:00Z\" is neither an ISO-8601 time (2026-12-01T09:00:00Z) nor a duration (20m, "
       "2h, 1d)"},
      {R"({"kind":"at","at":"2026-03-08T02:30","tz":"America/New_York"})",
       "schedule.at \"2026-03-08T02:30\" does not exist in America/New_York (a daylight-saving gap)"},
      {R"({"kind":"at","at":"2026-12-01T09:00Z","everyMs":5})", "schedule.everyMs is not a field of kind \"at\""},
      {R"({"kind":"cron"})", "schedule.expr must be a non-empty string"},
      {R"({"kind":"cron","expr":"61 * * * *"})", "cron expression \"61 * * * *\": minute 61 is out of range 0-59"},
      {R"({"kind":"cron","expr":"0 9 * * *","tz":"Nowhere/Land"})", "schedule.tz: unknown time zone \"Nowhere/Land\""},
      {R"({"kind":"cron","expr":"0 9 * * *","tz":5})", "schedule.tz must be a string (an IANA time zone)"},
      {R"({"kind":"cron","expr":"0 9 * * *","staggerMs":-1})", "schedule.staggerMs must be an integer ≥ 0"},
      {R"({"kind":"cron","expr":"0 9 * * *","anchorMs":5})", "schedule.anchorMs is not a field of kind \"cron\""},
  };
  for (const auto& [json, message] : cases) EXPECT_EQ(scheduleError(json), message) << json;
  auto onExit = parseText(R"({"kind":"on-exit","command":"true"})");
  ASSERT_FALSE(onExit);
  EXPECT_EQ(onExit.error().code, ErrorCode::kUnsupported);
}

TEST(ParseSchedule, ToJsonRoundTrips) {
  for (const char* json : {R"({"kind":"at","at":"2026-12-01T09:00:00.250Z"})", R"({"kind":"every","everyMs":60000})",
                           R"({"kind":"every","everyMs":60000,"anchorMs":5})", R"({"kind":"cron","expr":"0 9 * * *"})",
                           R"({"kind":"cron","expr":"0 * * * *","tz":"Europe/Berlin","staggerMs":0})"}) {
    auto s = parseText(json);
    ASSERT_TRUE(s) << json;
    EXPECT_EQ(toJson(scheduleToJson(*s)), json);
    auto again = parseSchedule(scheduleToJson(*s), 0);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *s);
  }
  CronSchedule at = atSchedule(utc(2026, 12, 1, 9));
  EXPECT_EQ(toJson(scheduleToJson(at)), R"({"kind":"at","at":"2026-12-01T09:00:00.000Z"})");
}

// ---- next runs ----------------------------------------------------------------------------------

TEST(NextRunAt, AtFiresOnceIfStillAhead) {
  CronSchedule at = atSchedule(utc(2026, 12, 1, 9));
  EXPECT_EQ(*nextRunAt(at, "j", 0, utc(2026, 11, 1)), utc(2026, 12, 1, 9));
  EXPECT_EQ(*nextRunAt(at, "j", 0, utc(2026, 12, 1, 9)), std::nullopt);
  EXPECT_EQ(*nextRunAt(at, "j", 0, utc(2027, 1, 1)), std::nullopt);
}

TEST(NextRunAt, EveryFollowsItsAnchorWithoutDrift) {
  CronSchedule every = everySchedule(7'777);
  const int64_t created = utc(2026, 6, 1) + 123;
  // No anchor: the job's creation.
  EXPECT_EQ(*nextRunAt(every, "j", created, created - 50), created);
  EXPECT_EQ(*nextRunAt(every, "j", created, created), created + 7'777);
  EXPECT_EQ(*nextRunAt(every, "j", created, created + 7'776), created + 7'777);
  EXPECT_EQ(*nextRunAt(every, "j", created, created + 7'777), created + 2 * 7'777);
  // Many periods later, still on the grid; chaining 10,000 runs lands exactly on anchor + k·period even
  // when each run is late.
  int64_t t = created;
  for (int k = 1; k <= 10'000; ++k) {
    t = **nextRunAt(every, "j", created, t + (k % 7) * 1'000);
    ASSERT_EQ((t - created) % 7'777, 0) << k;
  }
  EXPECT_EQ(*nextRunAt(every, "j", created, created + 1'000'000 * 7'777LL + 1), created + 1'000'001 * 7'777LL);
  // An explicit anchor wins over the creation time.
  every.anchorMs = utc(2026, 1, 1);
  every.everyMs = 3'600'000;
  EXPECT_EQ(*nextRunAt(every, "j", created, utc(2026, 6, 1, 10, 30)), utc(2026, 6, 1, 11));
  EXPECT_EQ(*nextRunAt(every, "j", created, utc(2025, 6, 1)), utc(2026, 1, 1));
}

TEST(NextRunAt, StaggerIsOpenClawsStableOffset) {
  // OpenClaw: sha256(id).readUInt32BE(0) % staggerMs (resolveStableCronOffsetMs).
  EXPECT_EQ(staggerOffsetMs("job-a", 300'000), 252'637);
  EXPECT_EQ(staggerOffsetMs("job-b", 300'000), 195'866);
  EXPECT_EQ(staggerOffsetMs("daily-report", 300'000), 122'429);
  EXPECT_EQ(staggerOffsetMs("job-a", 60'000), 12'637);
  EXPECT_EQ(staggerOffsetMs("job-a", 0), 0);
  EXPECT_EQ(staggerOffsetMs("job-a", 1), 0);
  std::set<int64_t> distinct;
  for (int i = 0; i < 200; ++i) {
    const std::string id = "job-" + std::to_string(i);
    const int64_t o = staggerOffsetMs(id, 300'000);
    EXPECT_GE(o, 0);
    EXPECT_LT(o, 300'000);
    EXPECT_EQ(o, staggerOffsetMs(id, 300'000));
    distinct.insert(o);
  }
  EXPECT_GT(distinct.size(), 190u);

  // OpenClaw: computeJobNextRunAtMs({id, schedule, createdAtMs: 0, state: {}}, 2026-06-01T10:00:00Z).
  const int64_t at = 1780308000000;
  CronSchedule hourly = cronSchedule("0 * * * *", "UTC");
  EXPECT_EQ(*nextRunAt(hourly, "job-a", 0, at), 1780308252637);
  EXPECT_EQ(*nextRunAt(hourly, "job-b", 0, at), 1780308195866);
  CronSchedule berlin = cronSchedule("0 */2 * * *", "Europe/Berlin");
  EXPECT_EQ(*nextRunAt(berlin, "daily-report", 0, at), 1780308122429);
  hourly.staggerMs = 0;
  EXPECT_EQ(*nextRunAt(hourly, "job-a", 0, at), 1780311600000);
  hourly.staggerMs = 60'000;
  EXPECT_EQ(*nextRunAt(hourly, "job-a", 0, at), 1780308012637);
  CronSchedule nine = cronSchedule("0 9 * * *", "UTC");
  EXPECT_EQ(*nextRunAt(nine, "job-a", 0, at), 1780390800000);

  // A staggered run is strictly after afterMs and keeps its offset from run to run.
  hourly.staggerMs.reset();
  EXPECT_EQ(*nextRunAt(hourly, "job-a", 0, 1780308252637), 1780308252637 + 3'600'000);
  EXPECT_EQ(*nextRunAt(hourly, "job-a", 0, 1780308252636), 1780308252637);
}

TEST(NextRunAt, DefaultStaggerOnlyForTopOfHour) {
  EXPECT_EQ(effectiveStaggerMs(cronSchedule("0 * * * *")), 300'000);
  EXPECT_EQ(effectiveStaggerMs(cronSchedule("0 0 */6 * * *")), 300'000);
  EXPECT_EQ(effectiveStaggerMs(cronSchedule("0 9 * * *")), 0);
  EXPECT_EQ(effectiveStaggerMs(cronSchedule("*/5 * * * *")), 0);
  EXPECT_EQ(effectiveStaggerMs(cronSchedule("@hourly")), 0);
  EXPECT_EQ(effectiveStaggerMs(cronSchedule("0 * * * *", "", 0)), 0);
  EXPECT_EQ(effectiveStaggerMs(cronSchedule("0 9 * * *", "", 1'000)), 1'000);
  EXPECT_EQ(effectiveStaggerMs(everySchedule(5)), 0);
}

TEST(NextRunAt, CronErrorsPropagate) {
  CronSchedule bad = cronSchedule("0 9 * * *", "Nowhere/Land");
  auto r = nextRunAt(bad, "j", 0, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  bad = cronSchedule("0 9 * *");
  EXPECT_FALSE(nextRunAt(bad, "j", 0, 0));
  EXPECT_EQ(*nextRunAt(cronSchedule("0 0 30 2 *", "UTC"), "j", 0, 0), std::nullopt);
}

// ---- durations ----------------------------------------------------------------------------------

TEST(ParseDuration, OpenClawsUnits) {
  const std::pair<const char*, int64_t> ok[] = {
      {"500ms", 500},      {"30s", 30'000},
      {"5m", 300'000},     {"2h", 7'200'000},
      {"1d", 86'400'000},  {"1h30m", 5'400'000},
      {"1.5h", 5'400'000}, {"250", 250},
      {" 2M ", 120'000},   {"1d2h3m4s5ms", 93'784'005},
      {"0s", 0},
  };
  for (const auto& [text, ms] : ok) {
    auto r = parseDurationMs(text);
    ASSERT_TRUE(r.has_value()) << text;
    EXPECT_EQ(*r, ms) << text;
  }
  for (const char* bad : {"", "m", "-5m", "5x", "1h30", "h1", "1.m", "5 m", "1w"}) {
    auto r = parseDurationMs(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(parseDurationMs("1h30").error().message,
            "invalid duration (each composite segment needs a unit) \"1h30\"; use values like 500ms, 30s, 5m, 2h, 1d "
            "or 1h30m");
}

// ---- docs/cron.md ------------------------------------------------------------------------------

// The "## Schedules" section of docs/cron.md: every ```json block is a valid schedule, and every row of
// the next-runs table is what the engine computes.
TEST(CronScheduleDocs, ExamplesAreWhatTheEngineDoes) {
  std::ifstream in(std::string(TALON_SOURCE_DIR) + "/docs/cron.md");
  ASSERT_TRUE(in.good());
  std::string line;
  bool inSection = false, inBlock = false;
  std::string block;
  int blocks = 0, rows = 0;
  auto instant = [](std::string_view iso) {
    auto s = parseSchedule(json::object{{"kind", "at"}, {"at", iso}}, 0);
    EXPECT_TRUE(s.has_value()) << iso;
    return s ? s->atMs : 0;
  };
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) inSection = line == "## Schedules";
    if (!inSection) continue;
    if (!inBlock && line == "```json") {
      inBlock = true;
      block.clear();
    } else if (inBlock && line == "```") {
      inBlock = false;
      ++blocks;
      auto v = parseJson(block);
      ASSERT_TRUE(v.has_value()) << block;
      auto s = parseSchedule(*v, 0);
      EXPECT_TRUE(s.has_value()) << block << (s ? "" : s.error().message);
    } else if (inBlock) {
      block += line + "\n";
    } else if (line.rfind("| `", 0) == 0) {
      // | `expr` | tz | after | next |
      std::vector<std::string> cells;
      std::stringstream ss(line.substr(1));
      std::string cell;
      while (std::getline(ss, cell, '|')) {
        const auto b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
        cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
      }
      if (cells.size() < 4 || cells[0].size() < 3 || cells[2].find('T') == std::string::npos) continue;
      ++rows;
      const std::string expr = cells[0].substr(1, cells[0].size() - 2);
      const auto expected = cells[3] == "never" ? std::nullopt : std::optional<int64_t>(instant(cells[3]));
      EXPECT_EQ(next(expr, cells[1], instant(cells[2])), expected) << line;
    }
  }
  EXPECT_GE(blocks, 5);
  EXPECT_GE(rows, 8);
}

}  // namespace
}  // namespace talon::gateway::automation
