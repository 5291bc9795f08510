#include "base/cpu_count.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace talon {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<long long> parseInteger(std::string_view s) {
  s = trim(s);
  long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<int> limitFrom(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  return static_cast<int>(std::max<long long>(1, (quota + period - 1) / period));
}

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int affinityCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}

/// The smallest limit among the cgroup at `path` (relative to `root`) and its ancestors.
template <typename ReadLimit>
std::optional<int> smallestUpTheTree(std::string path, ReadLimit readLimit) {
  std::optional<int> best;
  while (true) {
    if (auto limit = readLimit(path); limit && (!best || *limit < *best)) best = limit;
    if (path.empty() || path == "/") break;
    auto slash = path.find_last_of('/');
    path = slash == std::string::npos || slash == 0 ? std::string("/") : path.substr(0, slash);
  }
  return best;
}

std::optional<int> cgroupLimit() {
  auto cgroups = readFile("/proc/self/cgroup");
  if (!cgroups) return std::nullopt;
  std::optional<int> best;
  auto consider = [&best](std::optional<int> limit) {
    if (limit && (!best || *limit < *best)) best = limit;
  };
  std::istringstream lines(*cgroups);
  std::string line;
  while (std::getline(lines, line)) {
    // "hierarchy-ID:controller-list:cgroup-path" (cgroups(7)).
    auto first = line.find(':');
    auto second = first == std::string::npos ? std::string::npos : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (line.compare(0, first, "0") == 0 && controllers.empty()) {
      consider(smallestUpTheTree(path, [](const std::string& p) -> std::optional<int> {
        auto max = readFile("/sys/fs/cgroup" + (p == "/" ? std::string() : p) + "/cpu.max");
        return max ? cpuLimitFromCgroupV2(*max) : std::nullopt;
      }));
      continue;
    }
    std::istringstream list(controllers);
    std::string controller;
    while (std::getline(list, controller, ',')) {
      if (controller != "cpu") continue;
      for (const char* mount : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
        consider(smallestUpTheTree(path, [mount](const std::string& p) -> std::optional<int> {
          std::string dir = std::string(mount) + (p == "/" ? std::string() : p);
          auto quota = readFile(dir + "/cpu.cfs_quota_us");
          auto period = readFile(dir + "/cpu.cfs_period_us");
          return quota && period ? cpuLimitFromCgroupV1(*quota, *period) : std::nullopt;
        }));
      }
    }
  }
  return best;
}

}  // namespace

std::optional<int> cpuLimitFromCgroupV2(std::string_view cpuMax) {
  cpuMax = trim(cpuMax);
  auto space = cpuMax.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto quota = parseInteger(cpuMax.substr(0, space));  // "max" → nullopt: no limit
  auto period = parseInteger(cpuMax.substr(space + 1));
  if (!quota || !period) return std::nullopt;
  return limitFrom(*quota, *period);
}

std::optional<int> cpuLimitFromCgroupV1(std::string_view quotaUs, std::string_view periodUs) {
  auto quota = parseInteger(quotaUs);
  auto period = parseInteger(periodUs);
  if (!quota || !period) return std::nullopt;
  return limitFrom(*quota, *period);
}

int usableCpuCount() {
  int count = affinityCount();
  if (auto limit = cgroupLimit(); limit && (count == 0 || *limit < count)) count = *limit;
  return std::max(1, count);
}

}  // namespace talon
