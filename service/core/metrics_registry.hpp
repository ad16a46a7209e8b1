// Prometheus metrics kept on the reactor: counters, gauges and histograms by label set, rendered in the text
// exposition format (version 0.0.4). Reactor-only, like all job state: no locks, no atomics.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace offload::core {

class metrics_registry {
 public:
  enum class kind { counter, gauge, histogram };
  using label_list = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  /// Declares a metric family. `buckets` (upper bounds, ascending) only for histograms.
  void declare(std::string name, std::string help, kind k, std::vector<double> buckets = {});

  /// Adds to a counter (or gauge) series; `labels` comes from `label_text`.
  void add(std::string_view family, const std::string& labels, double by = 1);
  /// Sets a gauge series.
  void set(std::string_view family, const std::string& labels, double value);
  /// Records one observation in a histogram series.
  void observe(std::string_view family, const std::string& labels, double value);
  /// The same with the labels as name/value pairs, for the per-request and per-job series: the label text
  /// is written into a buffer the registry keeps, so that a series already there costs no allocation.
  void add(std::string_view family, label_list labels, double by = 1);
  void observe(std::string_view family, label_list labels, double value);

  /// Replaces a histogram series with counts recorded elsewhere (another thread's meter): one count per
  /// declared bucket and a last one past every bound, not cumulative.
  void set_histogram(std::string_view family, const std::string& labels,
                     std::span<const std::uint64_t> counts, double sum);
  /// Creates a series with nothing recorded yet, so that it is exported before its first event.
  void ensure(std::string_view family, const std::string& labels);

  /// Runs before every render: refreshes gauges that are read rather than counted (queue depths, RSS…).
  void on_collect(std::function<void(metrics_registry&)> collect);

  /// The whole registry in the Prometheus text format.
  std::string render();

  /// `{a="x",b="y"}` with values escaped; empty for no labels.
  static std::string label_text(label_list labels);

 private:
  struct series {
    double value = 0;
    std::vector<std::uint64_t> bucket_counts;
    double sum = 0;
    std::uint64_t count = 0;
  };
  struct family {
    std::string help;
    kind type = kind::counter;
    std::vector<double> buckets;
    std::map<std::string, series, std::less<>> by_labels;
  };

  series& find(std::string_view family, std::string_view labels, kind expected);
  static void append_labels(std::string& out, label_list labels);

  std::map<std::string, family, std::less<>> families_;
  std::vector<std::function<void(metrics_registry&)>> collectors_;
  std::string scratch_;
};

}  // namespace offload::core
