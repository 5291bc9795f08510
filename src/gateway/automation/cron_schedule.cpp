#include "gateway/automation/cron_schedule.h"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "base/hash.h"

namespace talon::gateway::automation {

namespace {

using std::chrono::seconds;
using LocalSeconds = date::local_time<seconds>;
using SysSeconds = date::sys_time<seconds>;

// OpenClaw's MAX_DATE_TIMESTAMP_MS (the largest JavaScript Date): bounds everyMs, anchorMs, staggerMs.
constexpr int64_t kMaxTimestampMs = 8'640'000'000'000'000;
// OpenClaw's DEFAULT_TOP_OF_HOUR_STAGGER_MS (dist stagger-*.mjs).
constexpr int64_t kDefaultTopOfHourStaggerMs = 300'000;
// nextAfter gives up after this many years of wall time without a match: more than the longest gap
// between two Feb 29ths on the same weekday (40 years, across 2100), so a rare but possible
// expression ("0 0 29 2 +MON") is never reported as having no run.
constexpr int kSearchYears = 100;
// 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z in ms: the range nextAfter searches.
constexpr int64_t kYear1Ms = -62'135'596'800'000;
constexpr int64_t kYear10000Ms = 253'402'300'800'000;

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> splitWhitespace(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::vector<std::string_view> splitOn(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// ---- time zones ---------------------------------------------------------------------------------

// The host's zone: TZ when it names an IANA zone (optionally with POSIX's leading ':'), else
// /etc/localtime through date::current_zone(). Resolved once per process.
Result<const date::time_zone*> hostZone() {
  static const Result<const date::time_zone*> zone = []() -> Result<const date::time_zone*> {
    const char* env = std::getenv("TZ");
    std::string name = env ? std::string(trim(env)) : std::string();
    if (!name.empty() && name.front() == ':') name.erase(0, 1);
    try {
      if (!name.empty()) return date::locate_zone(name);
      return date::current_zone();
    } catch (const std::exception& e) {
      if (!name.empty()) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("the host time zone TZ=\"{}\" is not an IANA zone name ({})", name, e.what()));
      }
      return fail(ErrorCode::kFailedPrecondition, fmt::format("the host time zone is unknown: {}", e.what()));
    }
  }();
  return zone;
}

Result<const date::time_zone*> resolveZone(std::string_view tz) {
  tz = trim(tz);
  if (tz.empty()) return hostZone();
  try {
    return date::locate_zone(tz);
  } catch (const std::exception&) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("unknown time zone \"{}\"", tz));
  }
}

// ---- cron fields --------------------------------------------------------------------------------

enum Field { kSecond, kMinute, kHour, kDayOfMonth, kMonth, kDayOfWeek };
constexpr std::array<std::string_view, 6> kFieldNames = {"second",       "minute", "hour",
                                                         "day-of-month", "month",  "day-of-week"};
constexpr std::array<int, 6> kFieldMin = {0, 0, 0, 1, 1, 0};
constexpr std::array<int, 6> kFieldMax = {59, 59, 23, 31, 12, 7};
constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr uint8_t kNthLast = 1u << 5;

}  // namespace

// The parsed fields, as bit sets over each field's values. Outside the anonymous namespace:
// CronExpression::Fields (the header's opaque member type) derives from it.
struct CronFields {
  uint64_t seconds = 0;  // bit s
  uint64_t minutes = 0;  // bit m
  uint32_t hours = 0;    // bit h
  uint32_t days = 0;     // bit d (1–31)
  uint16_t months = 0;   // bit m (1–12)
  uint8_t weekdays = 0;  // bit w (0 = Sunday … 6)
  // Per weekday: bit k-1 = the k-th such weekday of the month (k 1–5), kNthLast = the last one.
  std::array<uint8_t, 7> nth{};
  bool lastDay = false;          // `L` in day-of-month
  bool lastWeekday = false;      // `LW`: the last Monday–Friday of the month
  uint32_t nearestWeekdays = 0;  // bit d for `dW`: the Monday–Friday nearest to day d, within the month
  bool domStar = false;
  bool dowStar = false;
  bool andDays = false;  // `+` on day-of-week
  bool topOfHour = false;
  bool neverMatches = false;  // no selected month has any selected day ("0 0 30 2 *")
};

namespace {

using Fields = CronFields;

class FieldParser {
 public:
  FieldParser(std::string_view expr, Field field) : expr_(expr), field_(field) {}

  Unexpected<Error> error(std::string_view what) const {
    return fail(ErrorCode::kInvalidArgument, fmt::format("cron expression \"{}\": {}", expr_, what));
  }
  Unexpected<Error> badToken(std::string_view token, std::string_view why = {}) const {
    if (why.empty()) return error(fmt::format("{} \"{}\" is not valid", kFieldNames[field_], token));
    return error(fmt::format("{} \"{}\" is not valid: {}", kFieldNames[field_], token, why));
  }

  // A number or (month and day-of-week) a name, range-checked. SUN ending a range is 7, as croner
  // reads "-SUN" ("FRI-SUN" is Friday to Sunday).
  Result<int> value(std::string_view token, std::string_view whole, bool rangeEnd = false) const {
    if (token.empty()) return badToken(whole);
    int v = 0;
    if (std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      if (token.size() > 4) return rangeError(whole, token);
      v = std::stoi(std::string(token));
    } else {
      const std::string name = lower(token);
      int found = -1;
      if (field_ == kMonth) {
        for (size_t i = 0; i < kMonthNames.size(); ++i)
          if (name == kMonthNames[i]) found = static_cast<int>(i) + 1;
      } else if (field_ == kDayOfWeek) {
        for (size_t i = 0; i < kWeekdayNames.size(); ++i)
          if (name == kWeekdayNames[i]) found = static_cast<int>(i);
      }
      if (found < 0) return badToken(whole, fmt::format("\"{}\" is not a number or a name", token));
      if (field_ == kDayOfWeek && found == 0 && rangeEnd) return 7;
      return found;
    }
    if (v < kFieldMin[field_] || v > kFieldMax[field_]) return rangeError(whole, token);
    return v;
  }

  Unexpected<Error> rangeError(std::string_view whole, std::string_view token) const {
    return error(
        fmt::format("{} {} is out of range {}-{}", kFieldNames[field_], token, kFieldMin[field_], kFieldMax[field_]));
  }

  // One list item without modifiers: `*`, `*/s`, `a`, `a-b`, `a-b/s`. Calls set(v) for each value.
  template <class Set>
  Status range(std::string_view item, std::string_view whole, Set&& set) const {
    std::string_view base = item;
    int step = 1;
    bool stepped = false;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      std::string_view s = item.substr(slash + 1);
      if (s.empty() || s.size() > 4 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return badToken(whole, fmt::format("step \"{}\" is not a number", s));
      step = std::stoi(std::string(s));
      if (step < 1) return badToken(whole, "the step must be at least 1");
      stepped = true;
    }
    int lo = kFieldMin[field_];
    int hi = field_ == kDayOfWeek ? 6 : kFieldMax[field_];
    if (base == "*" || base == "?") {
      // whole range
    } else if (auto dash = base.find('-'); dash != std::string_view::npos) {
      auto a = value(base.substr(0, dash), whole);
      if (!a) return Unexpected<Error>(a.error());
      auto b = value(base.substr(dash + 1), whole, /*rangeEnd=*/true);
      if (!b) return Unexpected<Error>(b.error());
      if (*a > *b) return badToken(whole, fmt::format("the range starts after it ends"));
      lo = *a;
      hi = *b;
    } else {
      if (stepped)
        return badToken(whole, "a step needs a range or * before it (croner refuses \"5/15\"; write \"5-59/15\")");
      auto a = value(base, whole);
      if (!a) return Unexpected<Error>(a.error());
      lo = hi = *a;
    }
    for (int v = lo; v <= hi; v += step) set(v);
    return {};
  }

 private:
  std::string_view expr_;
  Field field_;
};

Status parseSimpleField(const FieldParser& p, std::string_view text, Field field, uint64_t& bits) {
  for (std::string_view item : splitOn(text, ',')) {
    if (item.empty()) return p.badToken(text, "empty list item");
    auto st = p.range(item, text, [&](int v) { bits |= uint64_t{1} << v; });
    if (!st) return st;
  }
  return {};
}

Status parseDayOfMonth(const FieldParser& p, std::string_view text, Fields& f) {
  for (std::string_view item : splitOn(text, ',')) {
    if (item.empty()) return p.badToken(text, "empty list item");
    const std::string up = lower(item);
    if (up == "l") {
      f.lastDay = true;
    } else if (up == "lw") {
      f.lastWeekday = true;
    } else if (up.size() >= 2 && up.back() == 'w') {
      auto d = p.value(item.substr(0, item.size() - 1), text);
      if (!d) return Unexpected<Error>(d.error());
      f.nearestWeekdays |= uint32_t{1} << *d;
    } else {
      uint64_t bits = 0;
      auto st = p.range(item, text, [&](int v) { bits |= uint64_t{1} << v; });
      if (!st) return st;
      f.days |= static_cast<uint32_t>(bits);
    }
  }
  return {};
}

Status parseDayOfWeek(const FieldParser& p, std::string_view text, Fields& f) {
  for (std::string_view item : splitOn(text, ',')) {
    if (item.empty()) return p.badToken(text, "empty list item");
    // `5#2` (the second Friday), `FRI#L` / `5L` (the last Friday), also on ranges (`1-5#1`).
    uint8_t nthBits = 0;
    std::string_view base = item;
    if (auto hash = item.find('#'); hash != std::string_view::npos) {
      base = item.substr(0, hash);
      std::string_view n = item.substr(hash + 1);
      if (n == "L" || n == "l") {
        nthBits = kNthLast;
      } else if (n.size() == 1 && n[0] >= '1' && n[0] <= '5') {
        nthBits = static_cast<uint8_t>(1u << (n[0] - '1'));
      } else {
        return p.badToken(text, fmt::format("the nth weekday \"{}\" must be 1-5 or L", n));
      }
    } else if (item.size() >= 2 && (item.back() == 'L' || item.back() == 'l') &&
               item.find('/') == std::string_view::npos &&
               std::isdigit(static_cast<unsigned char>(item[item.size() - 2]))) {
      base = item.substr(0, item.size() - 1);
      nthBits = kNthLast;
    }
    if (nthBits != 0 && base.find('/') != std::string_view::npos) return p.badToken(text, "a step cannot carry # or L");
    auto st = p.range(base, text, [&](int v) {
      const int w = v % 7;  // 7 is Sunday
      if (nthBits == 0)
        f.weekdays |= static_cast<uint8_t>(1u << w);
      else
        f.nth[w] |= nthBits;
    });
    if (!st) return st;
  }
  return {};
}

// OpenClaw's isRecurringTopOfHourCronExpr (dist stagger-*.mjs): each hour-list part is a number, a
// range or a wildcard (each with an optional step) and at least one part is a wildcard.
bool hasRecurringWildcardHour(std::string_view field) {
  bool anyWildcard = false;
  for (std::string_view part : splitOn(field, ',')) {
    std::string_view base = part;
    if (auto slash = part.find('/'); slash != std::string_view::npos) {
      std::string_view step = part.substr(slash + 1);
      if (step.empty() || !std::all_of(step.begin(), step.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
      base = part.substr(0, slash);
    }
    auto digits = [](std::string_view s) {
      return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (base == "*" || base == "?") {
      anyWildcard = true;
    } else if (auto dash = base.find('-'); dash != std::string_view::npos) {
      if (!digits(base.substr(0, dash)) || !digits(base.substr(dash + 1))) return false;
    } else if (!digits(base)) {
      return false;
    }
  }
  return anyWildcard;
}

std::string_view expandMacro(std::string_view name) {
  const std::string n = lower(name);
  if (n == "@yearly" || n == "@annually") return "0 0 1 1 *";
  if (n == "@monthly") return "0 0 1 * *";
  if (n == "@weekly") return "0 0 * * 0";
  if (n == "@daily" || n == "@midnight") return "0 0 * * *";
  if (n == "@hourly") return "0 * * * *";
  return {};
}

// ---- matching -----------------------------------------------------------------------------------

int nextBit(uint64_t bits, int from, int max) {
  if (from > max) return -1;
  const uint64_t rest = bits >> from;
  if (rest == 0) return -1;
  const int b = from + __builtin_ctzll(rest);
  return b <= max ? b : -1;
}

unsigned lastDayOfMonth(int y, unsigned m) {
  return static_cast<unsigned>((date::year{y} / date::month{m} / date::last).day());
}

unsigned weekdayOf(int y, unsigned m, unsigned d) {
  return date::weekday{date::sys_days{date::year{y} / date::month{m} / date::day{d}}}.c_encoding();
}

bool isWorkday(unsigned wd) { return wd >= 1 && wd <= 5; }

bool dayMatches(const Fields& f, int y, unsigned m, unsigned d) {
  const unsigned last = lastDayOfMonth(y, m);
  bool dom = (f.days >> d) & 1u;
  if (!dom && f.lastDay && d == last) dom = true;
  if (!dom && f.lastWeekday) {
    unsigned lw = last;
    while (!isWorkday(weekdayOf(y, m, lw))) --lw;
    dom = d == lw;
  }
  if (!dom && f.nearestWeekdays != 0) {
    for (unsigned n = 1; n <= 31 && !dom; ++n) {
      if (!((f.nearestWeekdays >> n) & 1u) || n > last) continue;
      const unsigned wd = weekdayOf(y, m, n);
      unsigned target = n;
      if (wd == 6) target = n == 1 ? n + 2 : n - 1;     // Saturday: Friday, or Monday the 3rd
      if (wd == 0) target = n == last ? n - 2 : n + 1;  // Sunday: Monday, or Friday when at the end
      dom = d == target;
    }
  }
  if (f.dowStar) return dom;
  const unsigned wd = weekdayOf(y, m, d);
  bool dow = (f.weekdays >> wd) & 1u;
  if (!dow && f.nth[wd] != 0) {
    const unsigned k = (d - 1) / 7;  // 0-based occurrence in the month
    dow = ((f.nth[wd] >> k) & 1u) || ((f.nth[wd] & kNthLast) && d + 7 > last);
  }
  if (f.andDays) return dom && dow;
  if (f.domStar) return dow;
  return dom || dow;
}

struct Civil {
  int y;
  unsigned mo, d, h, mi, s;
};

// The first wall time at or after `c` matching `f`, before the year `endYear`; skips by field.
std::optional<Civil> nextMatch(const Fields& f, Civil c, int endYear) {
  auto nextDay = [&c] {
    c.h = c.mi = c.s = 0;
    if (++c.d > lastDayOfMonth(c.y, c.mo)) {
      c.d = 1;
      if (++c.mo > 12) {
        c.mo = 1;
        ++c.y;
      }
    }
  };
  while (c.y < endYear) {
    if (!((f.months >> c.mo) & 1u)) {
      const int m = nextBit(f.months, static_cast<int>(c.mo) + 1, 12);
      c.d = 1;
      c.h = c.mi = c.s = 0;
      if (m < 0) {
        ++c.y;
        c.mo = static_cast<unsigned>(nextBit(f.months, 1, 12));
      } else {
        c.mo = static_cast<unsigned>(m);
      }
      continue;
    }
    if (!dayMatches(f, c.y, c.mo, c.d)) {
      nextDay();
      continue;
    }
    const int h = nextBit(f.hours, static_cast<int>(c.h), 23);
    if (h < 0) {
      nextDay();
      continue;
    }
    if (static_cast<unsigned>(h) != c.h) {
      c.h = static_cast<unsigned>(h);
      c.mi = c.s = 0;
    }
    const int mi = nextBit(f.minutes, static_cast<int>(c.mi), 59);
    if (mi < 0) {
      c.mi = c.s = 0;
      if (++c.h > 23) nextDay();
      continue;
    }
    if (static_cast<unsigned>(mi) != c.mi) {
      c.mi = static_cast<unsigned>(mi);
      c.s = 0;
    }
    const int s = nextBit(f.seconds, static_cast<int>(c.s), 59);
    if (s < 0) {
      c.s = 0;
      if (++c.mi > 59) {
        c.mi = 0;
        if (++c.h > 23) nextDay();
      }
      continue;
    }
    c.s = static_cast<unsigned>(s);
    return c;
  }
  return std::nullopt;
}

Civil toCivil(LocalSeconds t) {
  const auto day = date::floor<date::days>(t);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<seconds> hms{t - day};
  return Civil{static_cast<int>(ymd.year()),
               static_cast<unsigned>(ymd.month()),
               static_cast<unsigned>(ymd.day()),
               static_cast<unsigned>(hms.hours().count()),
               static_cast<unsigned>(hms.minutes().count()),
               static_cast<unsigned>(hms.seconds().count())};
}

LocalSeconds fromCivil(const Civil& c) {
  return LocalSeconds{date::local_days{date::year{c.y} / date::month{c.mo} / date::day{c.d}}.time_since_epoch()} +
         std::chrono::hours(c.h) + std::chrono::minutes(c.mi) + seconds(c.s);
}

}  // namespace

struct CronExpression::Fields : CronFields {};

// ---- CronExpression -----------------------------------------------------------------------------

Result<CronExpression> CronExpression::parse(std::string_view exprIn) {
  const std::string_view expr = trim(exprIn);
  FieldParser top(expr, kMinute);
  if (expr.empty()) return top.error("the expression is empty");
  std::string_view body = expr;
  if (expr.front() == '@') {
    body = expandMacro(expr);
    if (body.empty())
      return top.error(fmt::format(
          "unknown macro \"{}\" (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)", expr));
  }
  auto parts = splitWhitespace(body);
  if (parts.size() == 7)
    return top.error("7 fields: the year field is not supported (use 5 fields, or 6 with leading seconds)");
  if (parts.size() != 5 && parts.size() != 6)
    return top.error(
        fmt::format("{} fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (with "
                    "leading seconds)",
                    parts.size()));
  const bool hasSeconds = parts.size() == 6;
  if (!hasSeconds) parts.insert(parts.begin(), std::string_view("0"));

  auto f = std::make_shared<Fields>();
  for (int i = 0; i < 6; ++i) {
    const Field field = static_cast<Field>(i);
    FieldParser p(expr, field);
    std::string_view text = parts[i];
    if (field == kDayOfWeek && text.front() == '+') {
      f->andDays = true;
      text.remove_prefix(1);
      if (text.empty()) return p.error("day-of-week is empty after the + (AND) modifier");
    }
    for (char c : text) {
      const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '*' || c == '?' || c == ',' || c == '-' ||
                      c == '/' || (field == kDayOfWeek && c == '#');
      if (!ok) return p.badToken(text, fmt::format("character '{}' is not allowed", c));
    }
    Status st;
    switch (field) {
      case kSecond:
        st = parseSimpleField(p, text, field, f->seconds);
        break;
      case kMinute:
        st = parseSimpleField(p, text, field, f->minutes);
        break;
      case kHour: {
        uint64_t bits = 0;
        st = parseSimpleField(p, text, field, bits);
        f->hours = static_cast<uint32_t>(bits);
        break;
      }
      case kDayOfMonth:
        f->domStar = text == "*" || text == "?";
        st = parseDayOfMonth(p, text, *f);
        break;
      case kMonth: {
        uint64_t bits = 0;
        st = parseSimpleField(p, text, field, bits);
        f->months = static_cast<uint16_t>(bits);
        break;
      }
      case kDayOfWeek:
        f->dowStar = text == "*" || text == "?";
        st = parseDayOfWeek(p, text, *f);
        break;
    }
    if (!st) return Unexpected<Error>(st.error());
  }
  // Days that no selected month has (and no weekday OR-ed in to save them): answer at once instead of
  // searching a century.
  if (!f->lastDay && !f->lastWeekday && (f->dowStar || f->andDays || f->domStar)) {
    constexpr std::array<unsigned, 13> kLongest = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const uint32_t days = f->days | f->nearestWeekdays;
    bool possible = false;
    for (unsigned m = 1; m <= 12 && !possible; ++m)
      possible = ((f->months >> m) & 1u) && (days & ((uint32_t{2} << kLongest[m]) - 2)) != 0;
    f->neverMatches = !possible;
  }
  // OpenClaw looks at the text as written: a macro is never top-of-hour (stagger-*.mjs).
  if (expr.front() != '@') {
    const auto written = splitWhitespace(expr);
    if (written.size() == 5) f->topOfHour = written[0] == "0" && hasRecurringWildcardHour(written[1]);
    if (written.size() == 6)
      f->topOfHour = written[0] == "0" && written[1] == "0" && hasRecurringWildcardHour(written[2]);
  }
  CronExpression out;
  out.text_ = std::string(expr);
  out.fields_ = std::move(f);
  return out;
}

bool CronExpression::isTopOfHour() const { return fields_ && fields_->topOfHour; }

Result<std::optional<int64_t>> CronExpression::nextAfter(int64_t afterMs, std::string_view tz) const {
  auto zoneR = resolveZone(tz);
  if (!zoneR) return Unexpected<Error>(zoneR.error());
  const date::time_zone* zone = *zoneR;
  if (fields_->neverMatches) return std::optional<int64_t>();
  try {
    // The search stays inside years 0001–9999 (date's year is 16 bits; JavaScript dates reach 275760).
    if (afterMs >= kYear10000Ms) return std::optional<int64_t>();
    afterMs = std::max(afterMs, kYear1Ms - 1);
    const SysSeconds afterSec{seconds(floorDiv(afterMs, 1000))};
    const LocalSeconds afterLocal = zone->to_local(afterSec);
    const int endYear = std::min(toCivil(afterLocal).y + kSearchYears + 1, 10000);
    LocalSeconds start = afterLocal + seconds(1);
    // Wall times map to instants monotonically (an ambiguous wall time to its first occurrence, one in a
    // gap to the end of the gap), so the answer is the first matching wall time whose instant is later.
    for (int attempt = 0; attempt < 8; ++attempt) {
      auto civil = nextMatch(*fields_, toCivil(start), endYear);
      if (!civil) return std::optional<int64_t>();
      const LocalSeconds wall = fromCivil(*civil);
      const date::local_info info = zone->get_info(wall);
      SysSeconds instant;
      if (info.result == date::local_info::nonexistent) {
        instant = info.first.end;  // the first instant after the gap
      } else {
        instant = SysSeconds{wall.time_since_epoch() - info.first.offset};  // unique, or the first occurrence
      }
      const int64_t ms = instant.time_since_epoch().count() * 1000;
      if (ms > afterMs) return std::optional<int64_t>(ms);
      // `wall` occurs twice and its first occurrence has passed (afterMs is in the repeated hour): resume at
      // the first wall time of that first pass still ahead, or at the end of the overlap.
      start = wall + seconds(1);
      if (info.result == date::local_info::ambiguous) {
        const LocalSeconds overlapEnd{info.first.end.time_since_epoch() + info.first.offset};
        const LocalSeconds ahead{afterSec.time_since_epoch() + info.first.offset + seconds(1)};
        start = std::max(start, std::min(ahead, overlapEnd));
      }
    }
    return fail(ErrorCode::kInternal,
                fmt::format("cron expression \"{}\": no stable next run in {}", text_, zone->name()));
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("cron expression \"{}\": time zone {}: {}", text_, zone->name(), e.what()));
  }
}

// ---- schedules ----------------------------------------------------------------------------------

std::string_view scheduleKindName(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::kAt:
      return "at";
    case ScheduleKind::kEvery:
      return "every";
    case ScheduleKind::kCron:
      return "cron";
  }
  return "every";
}

Result<int64_t> parseDurationMs(std::string_view textIn) {
  const std::string text = lower(trim(textIn));
  auto invalid = [&](std::string_view why = {}) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("invalid duration{} \"{}\"; use values like 500ms, 30s, 5m, 2h, 1d or 1h30m",
                            why.empty() ? "" : fmt::format(" ({})", why), textIn));
  };
  if (text.empty()) return invalid("empty");
  double totalMs = 0;
  size_t i = 0;
  bool single = true;
  while (i < text.size()) {
    const size_t numStart = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == numStart) return invalid();
    if (i < text.size() && text[i] == '.') {
      ++i;
      const size_t fracStart = i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
      if (i == fracStart) return invalid();
    }
    const double value = std::strtod(text.substr(numStart, i - numStart).c_str(), nullptr);
    double unitMs = 0;
    if (text.compare(i, 2, "ms") == 0) {
      unitMs = 1;
      i += 2;
    } else if (i < text.size() && text[i] == 's') {
      unitMs = 1'000;
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      unitMs = 60'000;
      ++i;
    } else if (i < text.size() && text[i] == 'h') {
      unitMs = 3'600'000;
      ++i;
    } else if (i < text.size() && text[i] == 'd') {
      unitMs = 86'400'000;
      ++i;
    } else if (i == text.size() && single) {
      unitMs = 1;  // a bare number is milliseconds, as OpenClaw's parseDurationMs
    } else {
      return invalid("each composite segment needs a unit");
    }
    single = false;
    totalMs += value * unitMs;
  }
  const double rounded = std::round(totalMs);
  if (!(rounded >= 0 && rounded <= static_cast<double>(kMaxTimestampMs))) return invalid("out of range");
  return static_cast<int64_t>(rounded);
}

namespace {

// OpenClaw's ISO_ABSOLUTE_RE (dist parse-*.mjs) for years 0000–9999: YYYY-MM-DD, optionally followed by
// Thh:mm[:ss[.fff…]] and Z or ±hh[:]mm. Sets `hasOffset`; the result is the wall time as if in UTC when
// there is no offset.
std::optional<int64_t> parseIsoMs(std::string_view s, bool& hasOffset) {
  hasOffset = false;
  size_t i = 0;
  auto num = [&](size_t n) -> std::optional<int> {
    if (i + n > s.size()) return std::nullopt;
    int v = 0;
    for (size_t k = 0; k < n; ++k) {
      const char c = s[i + k];
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    i += n;
    return v;
  };
  auto lit = [&](char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  auto y = num(4);
  if (!y || !lit('-')) return std::nullopt;
  auto mo = num(2);
  if (!mo || !lit('-')) return std::nullopt;
  auto d = num(2);
  if (!d) return std::nullopt;
  int h = 0, mi = 0, sec = 0, ms = 0;
  int offsetMin = 0;
  bool zeroFraction = true;
  if (i < s.size()) {
    if (!lit('T') && !lit('t')) return std::nullopt;
    auto hh = num(2);
    if (!hh || !lit(':')) return std::nullopt;
    auto mm = num(2);
    if (!mm) return std::nullopt;
    h = *hh;
    mi = *mm;
    if (lit(':')) {
      auto ss = num(2);
      if (!ss) return std::nullopt;
      sec = *ss;
      if (lit('.')) {
        const size_t start = i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
        if (i == start) return std::nullopt;
        std::string frac(s.substr(start, i - start));
        zeroFraction = frac.find_first_not_of('0') == std::string::npos;
        frac.resize(3, '0');
        ms = std::stoi(frac.substr(0, 3));
      }
    }
    if (i < s.size()) {
      if (lit('Z') || lit('z')) {
        hasOffset = true;
      } else if (s[i] == '+' || s[i] == '-') {
        const int sign = s[i] == '-' ? -1 : 1;
        ++i;
        auto oh = num(2);
        if (!oh) return std::nullopt;
        lit(':');
        auto om = num(2);
        if (!om || *oh > 23 || *om > 59) return std::nullopt;
        offsetMin = sign * (*oh * 60 + *om);
        hasOffset = true;
      } else {
        return std::nullopt;
      }
    }
    if (i != s.size()) return std::nullopt;
  }
  const date::year_month_day ymd{date::year{*y}, date::month{static_cast<unsigned>(*mo)},
                                 date::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  const bool endOfDay = h == 24 && mi == 0 && sec == 0 && zeroFraction;  // 24:00 is the next midnight
  if ((h > 23 && !endOfDay) || mi > 59 || sec > 59) return std::nullopt;
  const int64_t days = date::sys_days{ymd}.time_since_epoch().count();
  return ((days * 24 + h) * 60 + mi - offsetMin) * 60'000 + int64_t{sec} * 1000 + ms;
}

Unexpected<Error> schedError(std::string message) { return fail(ErrorCode::kInvalidArgument, std::move(message)); }

Status checkKeys(const json::object& o, std::initializer_list<std::string_view> allowed, std::string_view kind) {
  for (const auto& kv : o) {
    if (std::find(allowed.begin(), allowed.end(), kv.key()) == allowed.end())
      return schedError(fmt::format("schedule.{} is not a field of kind \"{}\"", std::string_view(kv.key()), kind));
  }
  return {};
}

Result<std::optional<int64_t>> intField(const json::object& o, std::string_view key, int64_t min) {
  if (!o.contains(key)) return std::optional<int64_t>();
  auto v = getInt(o, key);
  if (!v || *v < min || *v > kMaxTimestampMs)
    return schedError(fmt::format("schedule.{} must be an integer ≥ {}", key, min));
  return std::optional<int64_t>(*v);
}

Result<std::string> tzField(const json::object& o) {
  if (!o.contains("tz")) return std::string();
  auto tz = getString(o, "tz");
  if (!tz) return schedError("schedule.tz must be a string (an IANA time zone)");
  const std::string_view t = trim(*tz);
  if (!t.empty()) {
    auto zone = resolveZone(t);
    if (!zone) return schedError(fmt::format("schedule.tz: {}", zone.error().message));
  }
  return std::string(t);
}

}  // namespace

Result<CronSchedule> parseSchedule(const json::value& value, int64_t nowMs) {
  if (!value.is_object()) return schedError("schedule must be an object");
  const json::object& o = value.as_object();
  auto kindText = getString(o, "kind");
  if (!kindText) return schedError("schedule.kind must be one of \"at\", \"every\", \"cron\"");
  CronSchedule s;
  if (*kindText == "at") {
    if (auto st = checkKeys(o, {"kind", "at", "tz"}, "at"); !st) return Unexpected<Error>(st.error());
    auto tz = tzField(o);
    if (!tz) return Unexpected<Error>(tz.error());
    auto at = getString(o, "at");
    if (!at || trim(*at).empty()) return schedError("schedule.at must be a non-empty string");
    const std::string_view text = trim(*at);
    s.kind = ScheduleKind::kAt;
    if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      // Epoch milliseconds, as OpenClaw's parseAbsoluteTimeMs.
      if (text.size() > 16 || std::stoll(std::string(text)) > kMaxTimestampMs)
        return schedError(fmt::format("schedule.at {} is out of range", text));
      s.atMs = std::stoll(std::string(text));
      return s;
    }
    bool hasOffset = false;
    if (auto ms = parseIsoMs(text, hasOffset)) {
      if (hasOffset || tz->empty()) {
        s.atMs = *ms;
        return s;
      }
      // A wall time in `tz`: the first occurrence when it occurs twice; refused inside a gap.
      const date::time_zone* zone = *resolveZone(*tz);
      const LocalSeconds wall{seconds(floorDiv(*ms, 1000))};
      const date::local_info info = zone->get_info(wall);
      if (info.result == date::local_info::nonexistent)
        return schedError(fmt::format("schedule.at \"{}\" does not exist in {} (a daylight-saving gap)", text, *tz));
      s.atMs = (wall.time_since_epoch() - info.first.offset).count() * 1000 + (*ms - floorDiv(*ms, 1000) * 1000);
      return s;
    }
    auto rel = parseDurationMs(text);
    if (!rel || std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; }))
      return schedError(fmt::format(
          "schedule.at \"{}\" is neither an ISO-8601 time (2026-12-01T09:00:00Z) nor a duration (20m, 2h, 1d)", text));
    s.atMs = nowMs + *rel;
    return s;
  }
  if (*kindText == "every") {
    if (auto st = checkKeys(o, {"kind", "everyMs", "anchorMs"}, "every"); !st) return Unexpected<Error>(st.error());
    auto every = intField(o, "everyMs", 1);
    if (!every) return Unexpected<Error>(every.error());
    if (!*every) return schedError("schedule.everyMs must be an integer ≥ 1");
    auto anchor = intField(o, "anchorMs", 0);
    if (!anchor) return Unexpected<Error>(anchor.error());
    s.kind = ScheduleKind::kEvery;
    s.everyMs = **every;
    s.anchorMs = *anchor;
    return s;
  }
  if (*kindText == "cron") {
    if (auto st = checkKeys(o, {"kind", "expr", "tz", "staggerMs"}, "cron"); !st) return Unexpected<Error>(st.error());
    auto expr = getString(o, "expr");
    if (!expr || trim(*expr).empty()) return schedError("schedule.expr must be a non-empty string");
    auto parsed = CronExpression::parse(*expr);
    if (!parsed) return Unexpected<Error>(parsed.error());
    auto tz = tzField(o);
    if (!tz) return Unexpected<Error>(tz.error());
    auto stagger = intField(o, "staggerMs", 0);
    if (!stagger) return Unexpected<Error>(stagger.error());
    s.kind = ScheduleKind::kCron;
    s.expr = parsed->text();
    s.tz = std::move(*tz);
    s.staggerMs = *stagger;
    return s;
  }
  if (*kindText == "on-exit" || *kindText == "stream")
    return fail(notSupportedYet(fmt::format("schedule.kind \"{}\"", *kindText)));
  return schedError("schedule.kind must be one of \"at\", \"every\", \"cron\"");
}

json::object scheduleToJson(const CronSchedule& s) {
  json::object o;
  o["kind"] = scheduleKindName(s.kind);
  switch (s.kind) {
    case ScheduleKind::kAt: {
      const date::sys_time<std::chrono::milliseconds> t{std::chrono::milliseconds(s.atMs)};
      o["at"] = date::format("%FT%TZ", t);
      break;
    }
    case ScheduleKind::kEvery:
      o["everyMs"] = s.everyMs;
      if (s.anchorMs) o["anchorMs"] = *s.anchorMs;
      break;
    case ScheduleKind::kCron:
      o["expr"] = s.expr;
      if (!s.tz.empty()) o["tz"] = s.tz;
      if (s.staggerMs) o["staggerMs"] = *s.staggerMs;
      break;
  }
  return o;
}

int64_t effectiveStaggerMs(const CronSchedule& s) {
  if (s.kind != ScheduleKind::kCron) return 0;
  if (s.staggerMs) return *s.staggerMs;
  auto parsed = CronExpression::parse(s.expr);
  return parsed && parsed->isTopOfHour() ? kDefaultTopOfHourStaggerMs : 0;
}

int64_t staggerOffsetMs(std::string_view jobId, int64_t staggerMs) {
  if (staggerMs <= 1) return 0;
  const std::string hex = sha256Hex(jobId);
  const uint64_t first = std::stoull(hex.substr(0, 8), nullptr, 16);  // readUInt32BE(0)
  return static_cast<int64_t>(first % static_cast<uint64_t>(staggerMs));
}

Result<std::optional<int64_t>> nextRunAt(const CronSchedule& s, std::string_view jobId, int64_t createdAtMs,
                                         int64_t afterMs) {
  switch (s.kind) {
    case ScheduleKind::kAt:
      return s.atMs > afterMs ? std::optional<int64_t>(s.atMs) : std::nullopt;
    case ScheduleKind::kEvery: {
      if (s.everyMs < 1) return fail(ErrorCode::kInvalidArgument, "schedule.everyMs must be an integer ≥ 1");
      const int64_t anchor = s.anchorMs.value_or(createdAtMs);
      if (afterMs < anchor) return std::optional<int64_t>(anchor);
      const int64_t steps = (afterMs - anchor) / s.everyMs + 1;
      return std::optional<int64_t>(anchor + steps * s.everyMs);
    }
    case ScheduleKind::kCron: {
      auto expr = CronExpression::parse(s.expr);
      if (!expr) return Unexpected<Error>(expr.error());
      const int64_t offset = staggerOffsetMs(jobId, effectiveStaggerMs(s));
      auto next = expr->nextAfter(std::max(afterMs, kYear1Ms) - offset, s.tz);  // no overflow near INT64_MIN
      if (!next) return next;
      if (!*next) return std::optional<int64_t>();
      return std::optional<int64_t>(**next + offset);
    }
  }
  return std::optional<int64_t>();
}

Result<int> localMinuteOfDay(std::string_view tz, int64_t nowMs) {
  auto zone = resolveZone(tz);
  if (!zone) return fail(zone.error());
  auto local = (*zone)->to_local(date::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(nowMs)));
  auto day = date::floor<date::days>(local);
  return static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(local - day).count());
}

}  // namespace talon::gateway::automation
