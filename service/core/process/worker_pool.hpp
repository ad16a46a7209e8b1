// A pool of warm worker processes speaking the worker protocol: the built-in `offloadd worker` children
// and each operator-defined pool of `--config` are the same code. A worker is reused for `max_jobs` jobs
// (then replaced by a new one while it serves on until that one is ready), replaced after a crash, killed
// (whole group) when its job is cancelled or times out, and a pool whose workers keep dying at start-up backs
// off and fails jobs clearly.
#pragma once

#include "core/job_lane.hpp"
#include "core/process/child_process.hpp"

#include <offload/proto/worker_message.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace offload::core {

/// What one pool runs and how.
struct worker_pool_settings {
  /// Names the pool in logs and metrics: "builtin" or the config's name.
  std::string name = "builtin";
  /// Absolute path and arguments: `offloadd worker`, or the config's argv.
  std::string program;
  std::vector<std::string> args;
  /// The workers' whole environment, as NAME=value.
  std::vector<std::string> env;
  resource_limits limits;
  std::size_t size = 1;
  std::size_t max_jobs = 10000;
  /// Ceiling on a job's running time (a job's own timeout may only shorten it).
  std::optional<std::chrono::milliseconds> timeout;
  /// Between SIGTERM and SIGKILL when a job is cancelled or times out.
  std::chrono::milliseconds kill_grace{2000};
  int nice = 10;
  /// The wait after a first start-up failure; it doubles with each further one, up to 30 s.
  std::chrono::milliseconds start_backoff{100};
  /// How long a new worker may take to say `ready`; past it, it counts as a start-up failure.
  std::chrono::milliseconds ready_timeout{10000};
  /// The types the pool serves; a worker whose ready line names others stops the pool. Empty: no check.
  std::vector<std::string> types;
  /// Each worker in a cgroup of its own (with `limits.memory_mb` and `limits.pids`); null: none.
  std::shared_ptr<cgroup_tree> cgroups;
};

class worker_pool final : public job_lane {
 public:
  /// Consecutive start-up failures after which the pool stops spawning for a while.
  static constexpr unsigned crash_loop_threshold = 5;

  worker_pool(boost::asio::any_io_executor reactor, worker_pool_settings settings);
  ~worker_pool() override;

  /// Starts the warm workers (asynchronously).
  void start();

  std::size_t capacity() const noexcept override { return settings_.size; }
  boost::asio::awaitable<lane_outcome> async_run(lane_request request) override;
  void join() override;
  std::optional<std::chrono::milliseconds> timeout_for(
      const job_type& type, std::optional<std::chrono::milliseconds> requested) const override;

  const std::string& name() const noexcept { return settings_.name; }
  /// Why the pool cannot run jobs now (backing off after start-up failures, or stopped by a protocol
  /// mismatch), or nothing.
  std::optional<std::string> trouble() const;
  std::uint64_t crashes() const noexcept { return crashes_; }

  std::size_t idle() const noexcept { return idle_.size(); }
  /// Workers alive or starting, busy or idle (with replaced ones still finishing a job).
  std::size_t live() const noexcept { return live_ + outgoing_; }
  std::uint64_t restarts() const noexcept { return restarts_; }

 private:
  struct worker;
  using worker_ptr = std::shared_ptr<worker>;

  boost::asio::awaitable<proto::result<worker_ptr>> async_start_worker();
  boost::asio::awaitable<proto::result<worker_ptr>> async_acquire(const std::stop_token& stop);
  boost::asio::awaitable<lane_outcome> async_run_on(worker& w, lane_request& request);
  boost::asio::awaitable<void> async_warm_up();
  static boost::asio::awaitable<void> drain_stderr(worker_ptr w);
  static boost::asio::awaitable<void> reap(worker_ptr w, std::chrono::milliseconds grace);
  boost::asio::awaitable<void> watch(worker_ptr w);
  void release(worker_ptr w);
  void worker_gone();
  /// Frees `w`'s place in the pool, lets it go, and keeps the pool warm.
  void retire(worker_ptr w);
  /// Lets `w` go (closes its stdin, kills it after the grace period) without touching the pool's count.
  void discard(worker_ptr w);
  /// Starts a replacement for `w`, which has run `max_jobs` jobs, unless one is starting already.
  void replace(const worker_ptr& w);
  boost::asio::awaitable<void> async_replace(worker_ptr old);
  void note_start_failure(const std::string& why);
  std::optional<std::string> check_ready(const proto::worker_event& ready) const;

  boost::asio::any_io_executor reactor_;
  // Fork and the wait for exec block: workers are started from here, never on the reactor.
  boost::asio::thread_pool spawner_{1};
  worker_pool_settings settings_;
  std::vector<worker_ptr> idle_;
  // Workers alive or starting, idle or busy: never more than `capacity()`. A replacement starting for a
  // worker past `max_jobs` is not counted: it takes that worker's place.
  std::size_t live_ = 0;
  // Replaced workers still running their last job.
  std::size_t outgoing_ = 0;
  std::uint64_t restarts_ = 0;
  std::uint64_t crashes_ = 0;
  // Set when a worker's ready line disagrees with the config: the pool starts no more workers.
  std::optional<std::string> mismatch_;
  unsigned start_failures_ = 0;
  std::chrono::steady_clock::time_point backoff_until_{};
  std::string last_failure_;
  bool stopped_ = false;
  // Never expires; cancelled to wake jobs waiting for a worker (a condition variable for the reactor).
  boost::asio::steady_timer worker_available_;
};

}  // namespace offload::core
