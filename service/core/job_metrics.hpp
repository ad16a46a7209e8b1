// The job service's Prometheus series: declared once, recorded as jobs are submitted, start and finish.
#pragma once

#include "core/job.hpp"
#include "core/metrics_registry.hpp"

#include <functional>

namespace offload::core {

/// What the gauges read at scrape time.
struct job_gauges {
  std::function<std::size_t(proto::lane)> queued;
  std::function<std::size_t(proto::lane)> running;
  std::function<std::size_t()> retained;
};

/// Records into a registry that outlives it; a default-constructed one records nothing.
class job_metrics {
 public:
  job_metrics() = default;
  /// Declares the series and registers the gauges' collection.
  job_metrics(metrics_registry& registry, job_gauges gauges);

  void submitted(const job& j);
  void started(const job& j);
  void finished(const job& j);

 private:
  metrics_registry* registry_ = nullptr;
};

}  // namespace offload::core
