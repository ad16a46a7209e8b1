// Declarations and recording of the job series.
#include "core/job_metrics.hpp"

#include <vector>

namespace offload::core {
namespace {

double seconds_between(job::clock::time_point from, job::clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

job_metrics::job_metrics(metrics_registry& registry, job_gauges gauges) : registry_(&registry) {
  using kind = metrics_registry::kind;
  const std::vector<double> seconds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                    0.5,    1,     2.5,    5,     10,   30,    60,   300};
  registry.declare("offload_jobs_submitted_total", "Jobs accepted, by type and lane.", kind::counter);
  registry.declare("offload_jobs_finished_total",
                   "Jobs that reached a terminal state, by type, lane and state.", kind::counter);
  registry.declare("offload_job_queue_wait_seconds", "Time from submission to start, by lane.",
                   kind::histogram, seconds);
  registry.declare("offload_job_run_seconds", "Time from start to terminal state, by lane.", kind::histogram,
                   seconds);
  registry.declare("offload_jobs_queued", "Jobs waiting for a slot, by lane.", kind::gauge);
  registry.declare("offload_jobs_running", "Jobs running, by lane.", kind::gauge);
  registry.declare("offload_jobs_retained", "Finished jobs kept for GET and replay.", kind::gauge);
  registry.on_collect([gauges = std::move(gauges)](metrics_registry& m) {
    for (const auto l : {proto::lane::thread, proto::lane::process}) {
      const auto labels = metrics_registry::label_text({{"lane", to_string(l)}});
      m.set("offload_jobs_queued", labels, static_cast<double>(gauges.queued(l)));
      m.set("offload_jobs_running", labels, static_cast<double>(gauges.running(l)));
    }
    m.set("offload_jobs_retained", {}, static_cast<double>(gauges.retained()));
  });
}

void job_metrics::submitted(const job& j) {
  if (!registry_) return;
  registry_->add("offload_jobs_submitted_total", {{"type", j.spec.type}, {"lane", to_string(j.lane)}});
}

void job_metrics::started(const job& j) {
  if (!registry_ || !j.started_at) return;
  registry_->observe("offload_job_queue_wait_seconds", {{"lane", to_string(j.lane)}},
                     seconds_between(j.created_at, *j.started_at));
}

void job_metrics::finished(const job& j) {
  if (!registry_ || !j.finished_at) return;
  const auto lane = to_string(j.lane);
  registry_->add("offload_jobs_finished_total",
                 {{"type", j.spec.type}, {"lane", lane}, {"state", to_string(j.state)}});
  if (j.started_at)
    registry_->observe("offload_job_run_seconds", {{"lane", lane}},
                       seconds_between(*j.started_at, *j.finished_at));
}

}  // namespace offload::core
