#pragma once
// The process metrics every Prometheus client library exports, with their standard names and meanings
// (client_golang's process collector: https://prometheus.io/docs/instrumenting/writing_clientlibs/
// #process-metrics), read from Linux's /proc/self (proc(5): stat, fd) and getrlimit(RLIMIT_NOFILE).
// They are sampled when /metrics is scraped: update() refreshes them, then the registry renders.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "base/error.h"
#include "gateway/health/metrics_registry.h"

namespace talon::gateway::health {

/// One reading of the process, in base units. Fields are nullopt when /proc could not be read.
struct ProcessSample {
  std::optional<double> cpuSeconds;        // user + system CPU time since start
  std::optional<double> residentBytes;     // resident set size
  std::optional<double> virtualBytes;      // virtual memory size
  std::optional<double> openFds;           // open file descriptors
  std::optional<double> maxFds;            // the soft limit on open file descriptors
  std::optional<double> startTimeSeconds;  // start time, seconds since the Unix epoch
};

/// Reads this process's sample now (a few small /proc reads; call off the hot path).
ProcessSample readProcessSample();

/// Parses the text of /proc/<pid>/stat with the clock tick rate (sysconf(_SC_CLK_TCK)), the page size
/// in bytes and the system boot time (btime of /proc/stat, seconds since the epoch): CPU seconds,
/// resident and virtual bytes, start time. Fields it cannot read stay nullopt (the command name in
/// parentheses may contain spaces and parentheses: fields are counted after its last ')').
ProcessSample parseProcStat(std::string_view stat, long clockTicksPerSecond, long pageSizeBytes,
                            std::optional<int64_t> bootTimeSeconds);

/// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
/// process_open_fds, process_max_fds, process_start_time_seconds. Thread-safe (update() is serialized).
class ProcessMetrics {
 public:
  /// Registers the six families in `metrics`. Errors: as MetricsRegistry::add.
  static Result<std::unique_ptr<ProcessMetrics>> create(MetricsRegistry& metrics);

  /// Sets the families from `sample` (the CPU counter advances by the difference from the last
  /// sample; nullopt fields leave their metric as it was).
  void update(const ProcessSample& sample);
  /// update(readProcessSample()).
  void update() { update(readProcessSample()); }

 private:
  ProcessMetrics() = default;
  std::mutex mu_;
  double lastCpuSeconds_ = 0;
  Counter cpu_;
  Gauge resident_, virtual_, openFds_, maxFds_, startTime_;
};
using ProcessMetricsPtr = std::unique_ptr<ProcessMetrics>;

}  // namespace talon::gateway::health
