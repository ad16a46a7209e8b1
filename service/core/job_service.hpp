// The job service: accepts, queues, dispatches, cancels, times out, retries and retains jobs, keeping them in
// a job repository. Reactor-only, lock-free.
#pragma once

#include "core/claim_policy.hpp"
#include "core/completion_rate.hpp"
#include "core/finish_history.hpp"
#include "core/job_lane.hpp"
#include "core/job_metrics.hpp"
#include "core/metrics_registry.hpp"
#include "core/retention_sweeper.hpp"
#include "core/scheduler.hpp"
#include "core/service_config.hpp"
#include "core/store/job_repository.hpp"
#include "core/store/shared_queue.hpp"
#include "core/type_registry.hpp"

#include <offload/proto/job_spec.hpp>
#include <offload/proto/result.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <unordered_map>

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

/// One slot pool as it is now: its queue, its busy slots and its size.
struct pool_stats {
  slot_pool pool = slot_pool::thread;
  /// Eligible jobs waiting for a slot (delayed ones are counted in `service_stats`-wide `delayed`).
  std::size_t queued = 0;
  std::size_t running = 0;
  std::size_t capacity = 0;
};

/// Owns every job and the lanes. Every member function must be called on the reactor.
class job_service {
 public:
  /// Runs jobs in `lanes` (a lane left null is a pool this server does not have) and keeps them in `store`
  /// (null: a memory repository with the config's retention).
  job_service(boost::asio::any_io_executor reactor, service_config config, const type_registry& types,
              job_lanes lanes, std::unique_ptr<job_repository> store = nullptr);
  ~job_service();
  job_service(const job_service&) = delete;
  job_service& operator=(const job_service&) = delete;

  /// Takes over what the store kept from a previous run: queued jobs are queued again in their order;
  /// jobs that were running are retried when they have attempts left, else end `failed` (`interrupted`).
  /// Call once, before the first submission. Returns how many unfinished jobs came back.
  boost::asio::awaitable<proto::result<std::size_t>> async_recover();

  /// Validates, stores and enqueues a job; completes once the store holds it. `unknown_type`,
  /// `lane_unavailable`, `invalid_input`, `idempotency_conflict`, `queue_full`, `draining` or
  /// `storage_unavailable` on failure.
  boost::asio::awaitable<proto::result<submission>> async_submit(proto::job_spec spec);

  /// The job with this id, or null (unknown or evicted).
  boost::asio::awaitable<std::shared_ptr<const job>> async_find(std::string id);

  /// Cancels a queued or running job: `not_found`, or `already_finished` for a terminal one.
  boost::asio::awaitable<proto::result<std::shared_ptr<const job>>> async_cancel(std::string id);

  /// A page of jobs, unfinished ones as they are now.
  boost::asio::awaitable<proto::result<proto::job_page>> async_list(job_filter filter);

  /// `storage_unavailable` while the store cannot write.
  std::optional<proto::error> storage_health() const { return store_->health(); }
  const job_repository& store() const noexcept { return *store_; }

  /// Completes when `j`'s terminal event is published (with a durable store: stored) or after `limit`,
  /// whichever comes first.
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
  /// Whether this server has the lane that runs a job of `t` in `l`.
  bool has_pool(const job_type& t, proto::lane l) const noexcept;
  /// Whether this server can run `j` (its type still exists and has its pool).
  bool runnable(const job& j) const noexcept;
  const type_registry& types() const noexcept { return types_; }

  /// Counts submissions and outcomes, times queue waits and runs, and reports queue depths and running jobs
  /// by lane into `metrics` (which must outlive the service).
  void attach_metrics(metrics_registry& metrics);

  bool draining() const noexcept { return draining_; }
  /// Refuses new jobs, waits up to `grace` for queued and running jobs to finish, cancels the rest
  /// (`shutdown`), then waits (bounded) for every lane slot to be released.
  boost::asio::awaitable<void> async_drain(std::chrono::steady_clock::duration grace);

  /// Asks every unfinished job to stop, joins every lane and closes the store. Call after the reactor
  /// stopped.
  void join();

  service_stats stats() const;
  /// Every slot pool this server has, in slot-pool order.
  std::vector<pool_stats> pools() const;
  /// Queued jobs not yet eligible (a delay, `run_at`, a retry's back-off).
  std::size_t delayed() const noexcept { return queue_.delayed(); }
  /// Jobs ended per second, by state, over the last minutes.
  const finish_history& history() const noexcept { return history_; }

  /// Called on the reactor with the job each time one is accepted or changes state (for `watch`ers); the
  /// callback must not call back into the service.
  void set_state_observer(std::function<void(const job&)> observer) { observer_ = std::move(observer); }

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
  boost::asio::awaitable<proto::result<std::shared_ptr<job>>> async_find_replay(const proto::job_spec& spec);
  /// Creates and logs an admitted job, not yet stored or queued.
  std::shared_ptr<job> create(proto::job_spec spec, const admission& a);
  /// Makes a stored job live: indexed, queued (over the bound when `over_bound`), counted.
  void adopt(std::shared_ptr<job> j, bool over_bound);
  void dispatch();
  boost::asio::awaitable<void> run(std::shared_ptr<job> j, job_lane& lane);
  void on_lane_event(job& j, std::uint32_t attempt, proto::event_type type, nlohmann::json data);
  /// Feeds `in` to the lifecycle machine and performs the actions it returns; false (and no change) when
  /// `in` is illegal in the job's state (a late outcome after a timeout, a second cancel).
  bool apply(job& j, job_input in, std::optional<nlohmann::json> result = std::nullopt,
             std::optional<proto::error> error = std::nullopt);
  /// `record_outcome`: the end time, the result or error, and the terminal event.
  void record_outcome(job& j, std::optional<nlohmann::json> result, std::optional<proto::error> error);
  /// `record_attempt`: keeps the attempt's error, logs `retrying`, sets the next attempt's back-off.
  void record_attempt(job& j, std::optional<proto::error> error);
  /// The wait before attempt `next`: exponential from the spec's base, capped, with jitter.
  std::chrono::milliseconds backoff(const job& j, std::uint32_t next);
  /// `retire`: counters, metrics, retention.
  void retire(job& j);
  /// One log line per finished job: at info unless it succeeded (then at debug).
  static void log_outcome(const job& j);
  /// Hands the record and the events appended since `first_new` to the store.
  void persist(const job& j, std::size_t first_new);
  /// Arms the timer for the next delayed job.
  void arm_delay_timer();
  std::size_t busy_slots() const noexcept;
  std::size_t running_in(proto::lane l) const noexcept;
  void wake_drain();

  // Cluster mode (a shared store): jobs are claimed from the shared queue when a slot is free, instead of
  // being queued here at submission.
  void start_cluster();
  /// Slots of pool `p` spoken for: running, claimed and waiting here, or asked for by a submission's add.
  std::size_t taken_slots(std::size_t p) const noexcept;
  /// Free slots of pool `p` not yet spoken for.
  std::size_t unclaimed_slots(std::size_t p) const noexcept;
  /// How many more jobs of `type` pool `p` takes now (claim_policy::room).
  std::size_t claim_room(std::size_t p, const std::string& type) const noexcept;
  /// Whether pool `p` claims now (claim_policy::due).
  bool claim_due(std::size_t p) const noexcept;
  /// Starts a claim loop for every pool that is due a claim (and whose queues are not known to be empty).
  void pull();
  /// Forgets that pools' queues were empty: all of them, or the pool of `queue`.
  void moisten(std::optional<std::string_view> queue = std::nullopt);
  boost::asio::awaitable<void> claim_loop(std::size_t p);
  /// A job this node just claimed or took: the mirror a client follows here, if any, brought up to date and
  /// made the job itself.
  std::shared_ptr<job> own(std::shared_ptr<job> j);
  /// Makes a claimed job live here, queued for its pool.
  void take_claimed(std::shared_ptr<job> j);
  /// A job whose lease passed on a node that went away, now this node's: what the lifecycle machine says
  /// of an interrupted attempt (also when Redis has no start of it but that node claimed it to run at once:
  /// it may have begun), or, for a job that node claimed ahead of a slot and never started, a run here.
  void take_over(std::shared_ptr<job> j);
  /// This node no longer holds job `id`: its run here ends without an outcome, and the job is followed as
  /// the other node's. `ended`: the job, when this node had ended it and that end was refused or dropped.
  void lose(std::string_view id, std::shared_ptr<job> ended = nullptr);
  /// Renews leases, takes over expired ones and reads the cluster's gauges, every third of a lease.
  boost::asio::awaitable<void> lease_loop();
  /// A job another node holds, followed here (kept up to date from the store while someone holds it).
  std::shared_ptr<job> follow(std::shared_ptr<job> j);
  /// Reads what changed in a followed job and applies it (its new events reach its listeners).
  boost::asio::awaitable<void> refresh(std::string id);
  /// Reads followed job `id` from the store again (once more after the read in flight, if there is one).
  void refresh_soon(const std::string& id);
  /// Arms the wake-up for the next delayed job of the shared queue.
  void arm_due_timer(job::clock::time_point due);
  std::shared_ptr<job> live_by_id(std::string_view id) const;

  boost::asio::any_io_executor reactor_;
  service_config config_;
  const type_registry& types_;
  std::unique_ptr<job_repository> store_;
  // Unfinished jobs, by seq and by idempotency key (from before they are stored: a concurrent resubmission
  // with the same key waits for the first one's store instead of creating a second job).
  std::map<std::uint64_t, std::shared_ptr<job>> live_;
  std::unordered_map<std::string, std::shared_ptr<job>> live_keys_;
  scheduler queue_;
  // Places in each lane's queue held by submissions waiting for the store.
  std::array<std::size_t, 2> admitting_{};
  boost::asio::steady_timer delay_timer_;
  std::optional<scheduler::time_point> delay_armed_for_;
  std::mt19937_64 random_;
  // By slot pool: thread, worker, command, then the operator's pools; null where this server has none.
  std::vector<std::unique_ptr<job_lane>> lanes_;
  // Slots in use per pool: counted until the lane returns, even if the job already ended (timeout, cancel).
  std::vector<std::size_t> busy_;
  job_metrics metrics_;
  completion_rate rates_;
  finish_history history_;
  std::function<void(const job&)> observer_;
  std::size_t running_ = 0;
  std::uint64_t submitted_ = 0;
  std::uint64_t finished_ = 0;
  // In a shared store: jobs this node took over from a node whose lease passed, and jobs it lost so.
  std::uint64_t taken_over_ = 0, lost_ = 0;
  bool draining_ = false;
  // The drain ended with a durable store: what still runs is left for the next start (interrupted), and
  // late outcomes are not recorded.
  bool stopped_ = false;
  bool hold_queue_ = false;
  retention_sweeper sweeper_;
  boost::asio::steady_timer drain_signal_;

  // Cluster mode.
  shared_queue* shared_ = nullptr;
  // By slot pool: the shared queues of the types it runs, and whether a claim loop runs for it.
  std::vector<std::vector<std::string>> pool_queues_;
  std::vector<bool> claiming_;
  // By slot pool: submissions on their way to the store that may be claimed by their add (job::claim_at_add).
  std::vector<std::size_t> claiming_at_add_;
  // By slot pool: its last claim found its queues empty; it claims again when woken for one of them (or by a
  // due time, a reconnect, the lease loop), not on every freed slot of any pool. The pool of each queue.
  std::vector<bool> dry_;
  // By slot pool: its last claim got fewer jobs from each of its queues than it could take (so they were
  // empty then), and no wake-up came for them since. While its queues are dry or drained, a submission this
  // node has room for is claimed by its add.
  std::vector<bool> drained_;
  // How much each pool claims, and when; by slot pool, the type of each of its queues.
  claim_policy claims_;
  std::vector<std::vector<std::string>> pool_types_;
  std::unordered_map<std::string, std::size_t> queue_pool_;
  // Followed jobs of other nodes (or not yet claimed), by id; refreshed when the store says they changed.
  std::unordered_map<std::string, std::weak_ptr<job>> mirrors_;
  // Ids being refreshed, and whether another change came meanwhile.
  std::unordered_map<std::string, bool> refreshing_;
  boost::asio::steady_timer due_timer_;
  std::optional<job::clock::time_point> due_armed_for_;
  boost::asio::steady_timer lease_timer_;
  std::optional<cluster_stats> cluster_;
  // No take-over before this (a lease after the store came back).
  std::chrono::steady_clock::time_point reap_after_{};
  bool cluster_stopping_ = false;
};

}  // namespace offload::core
