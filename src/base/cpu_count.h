#pragma once
// How many CPUs this process can use, for sizing thread pools: the CPUs in its affinity mask
// (sched_getaffinity(2); `taskset`, cpusets, container CPU pinning), further bounded by a CPU
// bandwidth limit of its cgroup (`docker run --cpus`, Kubernetes CPU limits): cgroup v2 `cpu.max`,
// cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` (Linux docs: admin-guide/cgroup-v2.rst "cpu.max",
// scheduler/sched-bwc.rst). std::thread::hardware_concurrency() counts the machine's online CPUs
// instead, so a gateway pinned to one core would run two I/O threads that take turns on it.
#include <optional>
#include <string_view>

namespace talon {

/// The CPUs this process may use: min(affinity mask, ceil(cgroup quota ÷ period)), at least 1.
/// Reads /proc/self/cgroup and the cgroup files on each call (cheap; call it at start-up).
/// Never fails: a missing or unreadable file means "no limit from there". Thread-safe.
int usableCpuCount();

/// The CPU limit a cgroup v2 `cpu.max` file states ("200000 100000" → 2, "150000 100000" → 2,
/// "max 100000" → nullopt), rounded up. nullopt when unlimited or malformed.
std::optional<int> cpuLimitFromCgroupV2(std::string_view cpuMax);

/// The CPU limit from cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` contents ("-1" quota →
/// nullopt), rounded up. nullopt when unlimited or malformed.
std::optional<int> cpuLimitFromCgroupV1(std::string_view quotaUs, std::string_view periodUs);

}  // namespace talon
