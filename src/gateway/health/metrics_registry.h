#pragma once
// The metrics registry (ARCHITECTURE.md "Seams": metrics declared as a list beside the component that
// owns them). A component declares its metrics as a constexpr list of MetricSpec, registers the list
// once, looks each labelled child up once and keeps the handle; the hot path is one relaxed atomic
// operation on that handle. render() writes the Prometheus text exposition format 0.0.4.
// Sources: https://prometheus.io/docs/instrumenting/exposition_formats/ (text format 0.0.4),
// https://prometheus.io/docs/practices/naming/ (names, `_total`, base units),
// https://prometheus.io/docs/concepts/data_model/ (name and label syntax).
//
// Example, beside the component:
//   constexpr MetricSpec kRunnerMetrics[] = {
//       {"talon_agent_runs_total", MetricType::kCounter, "Agent runs finished, by status.", {"status"}},
//       {"talon_agent_run_duration_seconds", MetricType::kHistogram, "Agent run wall time.", {}, kRunBuckets},
//   };
//   auto families = registry.add(kRunnerMetrics);            // once, at start
//   Counter runsOk = (*families)[0]->counter({"ok"}).value(); // once per label set; then runsOk.inc()
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace talon::gateway::health {

/// The Content-Type of render()'s output (Prometheus text format 0.0.4).
inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

/// The most labels one metric may have: labels are a small fixed set per metric (never ids).
inline constexpr std::size_t kMaxLabels = 4;

/// Prometheus's default histogram buckets (client_golang DefBuckets), in seconds.
inline constexpr double kDefaultBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

enum class MetricType { kCounter, kGauge, kHistogram };

/// One metric as its owner declares it. Strings are copied by MetricsRegistry::add.
struct MetricSpec {
  /// `[a-z_][a-z0-9_]*`, Prometheus naming: `talon_<component>_<what>_<base unit>`; counters end in
  /// `_total`, nothing else does; units are seconds and bytes.
  std::string_view name;
  MetricType type = MetricType::kCounter;
  /// One line of help text (non-empty).
  std::string_view help;
  /// Label names (`[a-z_][a-z0-9_]*`, not `__`-prefixed, unique; `le` is reserved for histograms); the
  /// list ends at the first empty entry.
  std::array<std::string_view, kMaxLabels> labels = {};
  /// Histograms only: bucket upper bounds, finite and strictly increasing (the `+Inf` bucket is
  /// implied); empty means kDefaultBuckets. Must be empty for counters and gauges.
  std::span<const double> buckets = {};
};

namespace detail {
struct Series;
}

/// A counter child: a monotonically increasing count, usually whole (inc) and in base units that need
/// not be whole when add() is used (CPU seconds). Cheap to copy; valid as long as its registry.
/// A default-constructed handle is unbound; using it is a programmer error. Thread-safe.
class Counter {
 public:
  Counter() = default;
  /// Adds `n` (relaxed atomic add).
  void inc(uint64_t n = 1) const { value_->fetch_add(n, std::memory_order_relaxed); }
  /// Adds `amount` (>= 0; a negative or NaN amount is ignored, a counter never goes down), kept apart
  /// from the whole increments; the counter then renders as their sum.
  void add(double amount) const {
    if (amount > 0) fraction_->fetch_add(amount, std::memory_order_relaxed);
  }
  /// The whole increments (inc) so far.
  uint64_t value() const { return value_->load(std::memory_order_relaxed); }
  /// Everything added so far: value() plus the add() amounts.
  double total() const { return static_cast<double>(value()) + fraction_->load(std::memory_order_relaxed); }

 private:
  friend class MetricFamily;
  Counter(std::atomic<uint64_t>* v, std::atomic<double>* fraction) : value_(v), fraction_(fraction) {}
  std::atomic<uint64_t>* value_ = nullptr;
  std::atomic<double>* fraction_ = nullptr;
};

/// A gauge child: a value that goes up and down (base units). Same handle rules as Counter.
class Gauge {
 public:
  Gauge() = default;
  void set(double v) const { value_->store(v, std::memory_order_relaxed); }
  /// Adds `d` (may be negative); an atomic read-modify-write.
  void add(double d) const { value_->fetch_add(d, std::memory_order_relaxed); }
  double value() const { return value_->load(std::memory_order_relaxed); }

 private:
  friend class MetricFamily;
  explicit Gauge(std::atomic<double>* v) : value_(v) {}
  std::atomic<double>* value_ = nullptr;
};

/// A histogram child with the family's fixed buckets. Same handle rules as Counter.
class Histogram {
 public:
  Histogram() = default;
  /// Records one observation (base units): a short scan of the bounds and two relaxed atomic adds. NaN
  /// lands in the +Inf bucket and makes the sum NaN, as in client_golang.
  void observe(double v) const;
  /// Observations so far (the sum of the bucket counts).
  uint64_t count() const;
  double sum() const;

 private:
  friend class MetricFamily;
  explicit Histogram(detail::Series* s) : series_(s) {}
  detail::Series* series_ = nullptr;
};

/// One registered metric and its labelled children. Owned by the MetricsRegistry.
/// Thread rules: child lookup takes the family's mutex (do it once and keep the handle); handles are
/// lock-free; all methods are thread-safe.
class MetricFamily {
 public:
  MetricFamily(MetricFamily&&) = delete;
  ~MetricFamily();

  const std::string& name() const { return name_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& labelNames() const { return labelNames_; }

  /// The child for `labelValues` (one per label name, in order; any UTF-8), created at zero on first
  /// use. Errors (kInvalidArgument): the family is not a counter / gauge / histogram respectively, or
  /// the number of values differs from the number of label names.
  Result<Counter> counter(std::initializer_list<std::string_view> labelValues = {});
  Result<Gauge> gauge(std::initializer_list<std::string_view> labelValues = {});
  Result<Histogram> histogram(std::initializer_list<std::string_view> labelValues = {});

 private:
  friend class MetricsRegistry;
  MetricFamily(const MetricSpec& spec);
  Result<detail::Series*> child(MetricType wanted, std::initializer_list<std::string_view> labelValues);
  void render(std::string& out) const;

  std::string name_;
  MetricType type_;
  std::string help_;
  std::vector<std::string> labelNames_;
  std::vector<double> bounds_;  // histograms: upper bounds without +Inf
  mutable std::mutex mu_;       // guards children_ (the map, not the values)
  std::map<std::vector<std::string>, std::unique_ptr<detail::Series>> children_;
};

/// Every metric of the process. Thread rules: add(), find() and render() may be called from any
/// thread at once (a mutex guards the family list); handles never take it.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  /// Registers every metric of `specs`, all or none. Returns the families in the order of `specs`;
  /// the pointers live as long as the registry. A metric without labels gets its one child at once, so
  /// it renders as 0 before its first use. Errors (kInvalidArgument, naming the metric): a name or
  /// label name breaking MetricSpec's rules, empty help, a counter not ending in `_total` (or another
  /// type ending in it), bad buckets, or a name already registered — including the `_bucket`, `_sum`
  /// and `_count` series a histogram adds.
  Result<std::vector<MetricFamily*>> add(std::span<const MetricSpec> specs);

  /// The family named `name`, or nullptr.
  MetricFamily* find(std::string_view name) const;

  /// All metrics in the Prometheus text exposition format 0.0.4: families sorted by name, each with
  /// `# HELP` and `# TYPE`, children sorted by label values; a labelled family without children yet is
  /// left out. Serve with kPrometheusContentType.
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<MetricFamily>, std::less<>> families_;
  /// Every sample name the families write (a histogram's `_bucket`, `_sum` and `_count` too), so that
  /// add() checks a new batch without walking the families registered before it.
  std::set<std::string, std::less<>> sampleNames_;
};

}  // namespace talon::gateway::health
