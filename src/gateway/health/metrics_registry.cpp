#include "gateway/health/metrics_registry.h"

#include <fmt/format.h>

#include <cassert>
#include <cmath>
#include <set>

namespace talon::gateway::health {

namespace detail {
/// One child's values. Only the fields of its family's type are used.
struct Series {
  std::atomic<uint64_t> counter{0};
  std::atomic<double> gauge{0};  // gauges: the value; counters: the add() amounts
  // Histograms: per-bucket (not cumulative) counts, bounds.size() + 1 of them (the last is +Inf).
  std::span<const double> bounds;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets;
  std::atomic<double> sum{0};
};
}  // namespace detail

namespace {

bool isNameChar(char c, bool first) { return (c >= 'a' && c <= 'z') || c == '_' || (!first && c >= '0' && c <= '9'); }

bool validName(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!isNameChar(s[i], i == 0)) return false;
  }
  return true;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view typeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

/// A sample value as Prometheus writes it (Go ParseFloat syntax): NaN, +Inf, -Inf, else the shortest
/// text that reads back as the same double.
void appendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

/// HELP text escaping: backslash and line feed (exposition format 0.0.4).
void appendHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

/// Label value escaping: backslash, double quote and line feed (exposition format 0.0.4).
void appendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

/// `{a="x",b="y"}` (plus an optional `le`), or nothing when there are no labels at all.
void appendLabels(std::string& out, const std::vector<std::string>& names, const std::vector<std::string>& values,
                  std::string_view le = {}) {
  if (names.empty() && le.empty()) return;
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += names[i];
    out += "=\"";
    appendLabelValue(out, values[i]);
    out += '"';
  }
  if (!le.empty()) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

Status validate(const MetricSpec& spec) {
  const std::string name(spec.name);
  auto bad = [&](std::string why) {
    return fail(ErrorCode::kInvalidArgument, "metric " + (name.empty() ? std::string("\"\"") : name) + ": " + why);
  };
  if (!validName(spec.name)) return bad("the name must match [a-z_][a-z0-9_]*");
  if (spec.name.starts_with("__")) return bad("names starting with __ are reserved");
  if (spec.help.empty()) return bad("help text is required");
  const bool total = endsWith(spec.name, "_total");
  if (spec.type == MetricType::kCounter && !total) return bad("a counter's name ends in _total");
  if (spec.type != MetricType::kCounter && total) return bad("only counters end in _total");
  if (spec.type != MetricType::kHistogram && !spec.buckets.empty()) return bad("only histograms have buckets");
  std::set<std::string_view> seen;
  bool ended = false;
  for (std::string_view label : spec.labels) {
    if (label.empty()) {
      ended = true;
      continue;
    }
    if (ended) return bad("label names follow each other without gaps");
    if (!validName(label)) return bad("label " + std::string(label) + " must match [a-z_][a-z0-9_]*");
    if (label.starts_with("__")) return bad("label names starting with __ are reserved");
    if (spec.type == MetricType::kHistogram && label == "le") return bad("le is reserved for histogram buckets");
    if (!seen.insert(label).second) return bad("label " + std::string(label) + " appears twice");
  }
  for (std::size_t i = 0; i < spec.buckets.size(); ++i) {
    if (!std::isfinite(spec.buckets[i])) return bad("bucket bounds are finite (+Inf is implied)");
    if (i > 0 && !(spec.buckets[i] > spec.buckets[i - 1])) return bad("bucket bounds increase strictly");
  }
  return {};
}

/// The sample names a family writes: its name, plus _bucket/_sum/_count for a histogram.
std::vector<std::string> sampleNames(const MetricSpec& spec) {
  std::vector<std::string> names{std::string(spec.name)};
  if (spec.type == MetricType::kHistogram) {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) names.push_back(std::string(spec.name) + suffix);
  }
  return names;
}

}  // namespace

void Histogram::observe(double v) const {
  const auto& bounds = series_->bounds;
  std::size_t i = 0;
  while (i < bounds.size() && !(v <= bounds[i])) ++i;  // NaN compares false: the +Inf bucket
  series_->buckets[i].fetch_add(1, std::memory_order_relaxed);
  series_->sum.fetch_add(v, std::memory_order_relaxed);
}

uint64_t Histogram::count() const {
  uint64_t n = 0;
  for (std::size_t i = 0; i <= series_->bounds.size(); ++i) n += series_->buckets[i].load(std::memory_order_relaxed);
  return n;
}

double Histogram::sum() const { return series_->sum.load(std::memory_order_relaxed); }

MetricFamily::MetricFamily(const MetricSpec& spec) : name_(spec.name), type_(spec.type), help_(spec.help) {
  for (std::string_view label : spec.labels) {
    if (!label.empty()) labelNames_.emplace_back(label);
  }
  if (type_ == MetricType::kHistogram) {
    const std::span<const double> b = spec.buckets.empty() ? std::span<const double>(kDefaultBuckets) : spec.buckets;
    bounds_.assign(b.begin(), b.end());
  }
}

MetricFamily::~MetricFamily() = default;

Result<detail::Series*> MetricFamily::child(MetricType wanted, std::initializer_list<std::string_view> labelValues) {
  if (wanted != type_) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("metric {} is a {}, not a {}", name_, typeName(type_), typeName(wanted)));
  }
  if (labelValues.size() != labelNames_.size()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("metric {} has {} labels; {} values given", name_, labelNames_.size(), labelValues.size()));
  }
  std::vector<std::string> key(labelValues.begin(), labelValues.end());
  std::lock_guard lock(mu_);
  auto& slot = children_[std::move(key)];
  if (!slot) {
    slot = std::make_unique<detail::Series>();
    if (type_ == MetricType::kHistogram) {
      slot->bounds = bounds_;
      slot->buckets = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
    }
  }
  return slot.get();
}

Result<Counter> MetricFamily::counter(std::initializer_list<std::string_view> labelValues) {
  auto s = child(MetricType::kCounter, labelValues);
  if (!s) return fail(s.error());
  return Counter(&(*s)->counter, &(*s)->gauge);
}

Result<Gauge> MetricFamily::gauge(std::initializer_list<std::string_view> labelValues) {
  auto s = child(MetricType::kGauge, labelValues);
  if (!s) return fail(s.error());
  return Gauge(&(*s)->gauge);
}

Result<Histogram> MetricFamily::histogram(std::initializer_list<std::string_view> labelValues) {
  auto s = child(MetricType::kHistogram, labelValues);
  if (!s) return fail(s.error());
  return Histogram(*s);
}

void MetricFamily::render(std::string& out) const {
  std::lock_guard lock(mu_);
  if (children_.empty()) return;
  out += "# HELP ";
  out += name_;
  out += ' ';
  appendHelp(out, help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += typeName(type_);
  out += '\n';
  std::string le;
  for (const auto& [values, series] : children_) {
    switch (type_) {
      case MetricType::kCounter:
        out += name_;
        appendLabels(out, labelNames_, values);
        if (const double fraction = series->gauge.load(std::memory_order_relaxed); fraction > 0) {
          out += ' ';
          appendValue(out, static_cast<double>(series->counter.load(std::memory_order_relaxed)) + fraction);
          out += '\n';
        } else {
          fmt::format_to(std::back_inserter(out), " {}\n", series->counter.load(std::memory_order_relaxed));
        }
        break;
      case MetricType::kGauge:
        out += name_;
        appendLabels(out, labelNames_, values);
        out += ' ';
        appendValue(out, series->gauge.load(std::memory_order_relaxed));
        out += '\n';
        break;
      case MetricType::kHistogram: {
        // Cumulative counts; _count is the +Inf bucket, so the two always agree even while other
        // threads observe (the sum may run a sample ahead or behind).
        uint64_t cumulative = 0;
        for (std::size_t i = 0; i <= bounds_.size(); ++i) {
          cumulative += series->buckets[i].load(std::memory_order_relaxed);
          le.clear();
          appendValue(le, i < bounds_.size() ? bounds_[i] : INFINITY);
          out += name_;
          out += "_bucket";
          appendLabels(out, labelNames_, values, le);
          fmt::format_to(std::back_inserter(out), " {}\n", cumulative);
        }
        out += name_;
        out += "_sum";
        appendLabels(out, labelNames_, values);
        out += ' ';
        appendValue(out, series->sum.load(std::memory_order_relaxed));
        out += '\n';
        out += name_;
        out += "_count";
        appendLabels(out, labelNames_, values);
        fmt::format_to(std::back_inserter(out), " {}\n", cumulative);
        break;
      }
    }
  }
}

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

Result<std::vector<MetricFamily*>> MetricsRegistry::add(std::span<const MetricSpec> specs) {
  std::lock_guard lock(mu_);
  // The batch's own sample names, checked against each other and against those already registered
  // (so that "x_count" cannot collide with histogram "x"); nothing is registered unless all pass.
  std::set<std::string, std::less<>> batch;
  for (const MetricSpec& spec : specs) {
    auto ok = validate(spec);
    if (!ok) return fail(ok.error());
    for (auto& n : sampleNames(spec)) {
      if (sampleNames_.contains(n) || !batch.insert(n).second) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("metric {}: the name {} is already registered", spec.name, n));
      }
    }
  }
  sampleNames_.merge(batch);
  std::vector<MetricFamily*> out;
  out.reserve(specs.size());
  for (const MetricSpec& spec : specs) {
    std::unique_ptr<MetricFamily> family(new MetricFamily(spec));
    MetricFamily* raw = family.get();
    if (raw->labelNames().empty()) {
      [[maybe_unused]] auto created = raw->child(spec.type, {});
      assert(created);  // the type and the (zero) arity match by construction
    }
    families_.emplace(raw->name(), std::move(family));
    out.push_back(raw);
  }
  return out;
}

MetricFamily* MetricsRegistry::find(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  return it == families_.end() ? nullptr : it->second.get();
}

std::string MetricsRegistry::render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) family->render(out);
  return out;
}

}  // namespace talon::gateway::health
