// Warm `offloadd worker` children that run built-in types in the process lane. A worker is reused up to
// `worker_max_jobs` jobs, replaced after a crash, killed (whole group) when its job is cancelled or times
// out, and a pool whose workers keep dying at start-up backs off and fails jobs clearly.
#pragma once

#include "core/job_lane.hpp"
#include "core/process/process_config.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace offload::core {

class worker_pool final : public job_lane {
 public:
  /// Consecutive start-up failures after which the pool stops spawning for a while.
  static constexpr unsigned crash_loop_threshold = 5;

  worker_pool(boost::asio::any_io_executor reactor, process_config config);
  ~worker_pool() override;

  /// Starts the warm workers (asynchronously).
  void start();

  std::size_t capacity() const noexcept override { return config_.workers; }
  boost::asio::awaitable<lane_outcome> async_run(lane_request request) override;
  void join() override;

  std::size_t idle() const noexcept { return idle_.size(); }
  /// Workers alive or starting, busy or idle.
  std::size_t live() const noexcept { return live_; }
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
  void retire(worker_ptr w);
  void note_start_failure(const std::string& why);

  boost::asio::any_io_executor reactor_;
  // Fork and the wait for exec block: workers are started from here, never on the reactor.
  boost::asio::thread_pool spawner_{1};
  process_config config_;
  std::vector<worker_ptr> idle_;
  // Workers alive or starting, idle or busy: never more than `capacity()`.
  std::size_t live_ = 0;
  std::uint64_t restarts_ = 0;
  unsigned start_failures_ = 0;
  std::chrono::steady_clock::time_point backoff_until_{};
  std::string last_failure_;
  bool stopped_ = false;
  // Never expires; cancelled to wake jobs waiting for a worker (a condition variable for the reactor).
  boost::asio::steady_timer worker_available_;
};

}  // namespace offload::core
