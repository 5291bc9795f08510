// talon-cron-next: Talon's cron engine as a filter for run-cron-schedule.sh. Reads a JSON array of
// [expr, tz, afterMs] cases on stdin and writes a JSON array with, for each, the next run in ms, null
// (no run), or {"error": message}.
#include <iostream>
#include <iterator>
#include <string>

#include "base/json.h"
#include "gateway/automation/cron_schedule.h"

int main() {
  using namespace talon;
  using gateway::automation::CronExpression;
  const std::string input{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  auto cases = parseJson(input);
  if (!cases || !cases->is_array()) {
    std::cerr << "talon-cron-next: stdin is not a JSON array of [expr, tz, afterMs]\n";
    return 2;
  }
  json::array out;
  for (const auto& c : cases->as_array()) {
    const auto* row = c.if_array();
    if (!row || row->size() != 3 || !(*row)[0].is_string() || !(*row)[1].is_string() || !(*row)[2].is_number()) {
      std::cerr << "talon-cron-next: bad case " << toJson(c) << "\n";
      return 2;
    }
    auto expr = CronExpression::parse(std::string((*row)[0].as_string()));
    if (!expr) {
      out.push_back(json::object{{"error", expr.error().message}});
      continue;
    }
    auto next = expr->nextAfter((*row)[2].to_number<int64_t>(), std::string((*row)[1].as_string()));
    if (!next) {
      out.push_back(json::object{{"error", next.error().message}});
    } else if (*next) {
      out.push_back(**next);
    } else {
      out.push_back(nullptr);
    }
  }
  std::cout << toJson(out) << "\n";
  return 0;
}
