#include "gateway/health/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace talon::gateway::health {
namespace {

constexpr MetricSpec kProcessMetrics[] = {
    {"process_cpu_seconds_total", MetricType::kCounter, "Total user and system CPU time spent in seconds.", {}},
    {"process_resident_memory_bytes", MetricType::kGauge, "Resident memory size in bytes.", {}},
    {"process_virtual_memory_bytes", MetricType::kGauge, "Virtual memory size in bytes.", {}},
    {"process_open_fds", MetricType::kGauge, "Number of open file descriptors.", {}},
    {"process_max_fds", MetricType::kGauge, "Maximum number of open file descriptors.", {}},
    {"process_start_time_seconds", MetricType::kGauge, "Start time of the process since unix epoch in seconds.", {}},
};

std::string readFile(const char* path) {
  std::ifstream in(path);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<int64_t> toInt(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

/// btime of /proc/stat: the boot time, seconds since the epoch.
std::optional<int64_t> bootTime() {
  std::istringstream in(readFile("/proc/stat"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) == 0) return toInt(std::string_view(line).substr(6));
  }
  return std::nullopt;
}

std::optional<double> openFds() {
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/self/fd", ec);
  if (ec) return std::nullopt;
  double n = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    ++n;
  }
  return n - 1;  // the iterator's own descriptor on /proc/self/fd
}

std::optional<double> maxFds() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;
  if (limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return static_cast<double>(limit.rlim_cur);
}

}  // namespace

ProcessSample parseProcStat(std::string_view stat, long clockTicksPerSecond, long pageSizeBytes,
                            std::optional<int64_t> bootTimeSeconds) {
  ProcessSample sample;
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos) return sample;
  // Fields after the command: 3 state, 4 ppid, ... 14 utime, 15 stime, ... 22 starttime, 23 vsize,
  // 24 rss (proc(5), numbered from 1 with pid = 1 and comm = 2).
  std::vector<std::string_view> fields;
  std::string_view rest = stat.substr(close + 1);
  std::size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    std::size_t j = i;
    while (j < rest.size() && rest[j] != ' ' && rest[j] != '\n') ++j;
    if (j > i) fields.push_back(rest.substr(i, j - i));
    i = j + 1;
  }
  auto field = [&](std::size_t number) -> std::optional<int64_t> {
    const std::size_t index = number - 3;  // fields[0] is field 3
    if (index >= fields.size()) return std::nullopt;
    return toInt(fields[index]);
  };
  if (clockTicksPerSecond > 0) {
    auto utime = field(14);
    auto stime = field(15);
    if (utime && stime) {
      sample.cpuSeconds = static_cast<double>(*utime + *stime) / static_cast<double>(clockTicksPerSecond);
    }
    auto start = field(22);
    if (start && bootTimeSeconds) {
      sample.startTimeSeconds = static_cast<double>(*bootTimeSeconds) +
                                static_cast<double>(*start) / static_cast<double>(clockTicksPerSecond);
    }
  }
  if (auto vsize = field(23)) sample.virtualBytes = static_cast<double>(*vsize);
  if (auto rss = field(24); rss && pageSizeBytes > 0) {
    sample.residentBytes = static_cast<double>(*rss) * static_cast<double>(pageSizeBytes);
  }
  return sample;
}

ProcessSample readProcessSample() {
  ProcessSample sample =
      parseProcStat(readFile("/proc/self/stat"), sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), bootTime());
  sample.openFds = openFds();
  sample.maxFds = maxFds();
  return sample;
}

Result<std::unique_ptr<ProcessMetrics>> ProcessMetrics::create(MetricsRegistry& metrics) {
  auto families = metrics.add(kProcessMetrics);
  if (!families) return fail(families.error());
  auto& f = *families;
  std::unique_ptr<ProcessMetrics> m(new ProcessMetrics());
  m->cpu_ = *f[0]->counter();
  m->resident_ = *f[1]->gauge();
  m->virtual_ = *f[2]->gauge();
  m->openFds_ = *f[3]->gauge();
  m->maxFds_ = *f[4]->gauge();
  m->startTime_ = *f[5]->gauge();
  return m;
}

void ProcessMetrics::update(const ProcessSample& sample) {
  std::lock_guard lock(mu_);
  if (sample.cpuSeconds && *sample.cpuSeconds > lastCpuSeconds_) {
    cpu_.add(*sample.cpuSeconds - lastCpuSeconds_);
    lastCpuSeconds_ = *sample.cpuSeconds;
  }
  if (sample.residentBytes) resident_.set(*sample.residentBytes);
  if (sample.virtualBytes) virtual_.set(*sample.virtualBytes);
  if (sample.openFds) openFds_.set(*sample.openFds);
  if (sample.maxFds) maxFds_.set(*sample.maxFds);
  if (sample.startTimeSeconds) startTime_.set(*sample.startTimeSeconds);
}

}  // namespace talon::gateway::health
