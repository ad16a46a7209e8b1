// The job service: accepts, queues, dispatches, cancels, times out and retains jobs. Reactor-only, lock-free.
#pragma once

#include "core/completion_rate.hpp"
#include "core/job_lane.hpp"
#include "core/job_metrics.hpp"
#include "core/job_store.hpp"
#include "core/metrics_registry.hpp"
#include "core/retention_sweeper.hpp"
#include "core/scheduler.hpp"
#include "core/service_config.hpp"
#include "core/type_registry.hpp"

#include <offload/proto/job_spec.hpp>
#include <offload/proto/result.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <memory>

namespace offload::core {

/// What `submit` returns: the job, and whether an idempotent resubmission found an existing one.
struct submission {
  std::shared_ptr<const core::job> job;
  bool replayed = false;
};

/// Counters for readiness, metrics and tests.
struct service_stats {
  std::size_t queued = 0;
  std::size_t running = 0;
  std::size_t retained = 0;
  std::uint64_t submitted = 0;
  std::uint64_t finished = 0;
};

/// Owns every job and the lanes. Every member function must be called on the reactor.
class job_service {
 public:
  /// Runs jobs in `lanes` (a lane left null is a pool this server does not have).
  job_service(boost::asio::any_io_executor reactor, service_config config, const type_registry& types,
              job_lanes lanes);
  ~job_service();
  job_service(const job_service&) = delete;
  job_service& operator=(const job_service&) = delete;

  /// Validates and enqueues a job: `unknown_type`, `lane_unavailable`, `invalid_input`,
  /// `idempotency_conflict`, `queue_full` or `draining` on failure.
  proto::result<submission> submit(proto::job_spec spec);

  /// The job with this id, or null (unknown or evicted).
  std::shared_ptr<const job> find(std::string_view id) const;

  /// Cancels a queued or running job: `not_found`, or `already_finished` for a terminal one.
  proto::result<std::shared_ptr<const job>> cancel(std::string_view id);

  job_page list(const job_filter& filter) const { return store_.list(filter); }

  /// Completes when `j` is terminal or after `limit`, whichever comes first.
  boost::asio::awaitable<void> async_wait_finished(std::shared_ptr<const job> j,
                                                   std::chrono::steady_clock::duration limit);

  /// Suggested back-off for a client whose submission found lane `l`'s queue full: how long that lane
  /// takes, at its recent completion rate, to run what is queued (1 to 60 s).
  std::chrono::seconds retry_after(proto::lane l) const;
  /// The lane a submission of `spec` runs in: its own, or its type's default.
  proto::lane lane_of(const proto::job_spec& spec) const;

  /// Whether jobs can run in `l` on this server.
  bool lane_available(proto::lane l) const noexcept;
  /// The lanes `t` can run in here: its declared lanes that this server has.
  std::vector<proto::lane> lanes_for(const job_type& t) const;
  /// The slot pool that runs `t` in lane `l`.
  static slot_pool pool_for(const job_type& t, proto::lane l) noexcept;
  const type_registry& types() const noexcept { return types_; }

  /// Counts submissions and outcomes, times queue waits and runs, and reports queue depths and running jobs
  /// by lane into `metrics` (which must outlive the service).
  void attach_metrics(metrics_registry& metrics);

  bool draining() const noexcept { return draining_; }
  /// Refuses new jobs, waits up to `grace` for queued and running jobs to finish, cancels the rest
  /// (`shutdown`), then waits (bounded) for every lane slot to be released.
  boost::asio::awaitable<void> async_drain(std::chrono::steady_clock::duration grace);

  /// Asks every unfinished job to stop and joins every lane. Call after the reactor stopped.
  void join();

  service_stats stats() const;

 private:
  /// Where an admissible submission goes.
  struct admission {
    const job_type* type;
    proto::lane lane;
  };

  static std::size_t index(slot_pool p) noexcept { return static_cast<std::size_t>(p); }

  /// Checks that the service accepts jobs and that the spec names a type it runs here, in a lane it has,
  /// with a valid input.
  proto::result<admission> admit(const proto::job_spec& spec) const;
  /// The job an idempotent resubmission names, `idempotency_conflict` for another body, or null.
  proto::result<std::shared_ptr<job>> find_replay(const proto::job_spec& spec) const;
  /// Creates, logs and queues an admitted job.
  std::shared_ptr<job> enqueue(proto::job_spec spec, const admission& a);
  void dispatch();
  boost::asio::awaitable<void> run(std::shared_ptr<job> j, job_lane& lane);
  void on_lane_event(job& j, proto::event_type type, nlohmann::json data);
  /// Feeds `in` to the lifecycle machine and performs the actions it returns; false (and no change) when
  /// `in` is illegal in the job's state (a late outcome after a timeout, a second cancel).
  bool apply(job& j, job_input in, std::optional<nlohmann::json> result = std::nullopt,
             std::optional<proto::error> error = std::nullopt);
  /// `record_outcome`: the end time, the result or error, and the terminal event.
  void record_outcome(job& j, std::optional<nlohmann::json> result, std::optional<proto::error> error);
  /// `retire`: counters, metrics, retention.
  void retire(const job& j);
  std::size_t busy_slots() const noexcept { return busy_[0] + busy_[1] + busy_[2]; }
  std::size_t running_in(proto::lane l) const noexcept;
  void wake_drain();

  boost::asio::any_io_executor reactor_;
  service_config config_;
  const type_registry& types_;
  job_store store_;
  scheduler queue_;
  std::array<std::unique_ptr<job_lane>, slot_pool_count> lanes_;
  // Slots in use per pool: counted until the lane returns, even if the job already ended (timeout, cancel).
  std::array<std::size_t, slot_pool_count> busy_{};
  job_metrics metrics_;
  completion_rate rates_;
  std::size_t running_ = 0;
  std::uint64_t submitted_ = 0;
  std::uint64_t finished_ = 0;
  bool draining_ = false;
  retention_sweeper sweeper_;
  boost::asio::steady_timer drain_signal_;
};

}  // namespace offload::core
