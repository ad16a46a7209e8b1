// The thread lane: built-in handlers on a pool of threads. Values go in, a value comes back.
#pragma once

#include "core/job_lane.hpp"
#include "core/reactor_inbox.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace offload::core {

class thread_lane final : public job_lane {
 public:
  /// Starts `threads` pool threads; `nice` is added to each one's niceness.
  thread_lane(boost::asio::any_io_executor reactor, std::size_t threads, int nice = 0);
  ~thread_lane() override;

  std::size_t capacity() const noexcept override { return threads_.size(); }
  /// Runs the handler on a pool thread; progress and the outcome come back through the reactor inbox.
  /// Cancellation is cooperative: the handler watches the stop token.
  boost::asio::awaitable<lane_outcome> async_run(lane_request request) override;
  /// Runs what is still queued, then stops the threads.
  void join() override;

 private:
  struct task;

  void start(std::unique_ptr<task> t);
  void flush();
  void thread_main();

  boost::asio::any_io_executor reactor_;
  reactor_inbox inbox_;
  int nice_;
  // Reactor side: jobs started in this turn, handed to the pool at its end.
  std::vector<std::unique_ptr<task>> staged_;
  bool flush_posted_ = false;
  // Hand-offs are batched both ways: a pool thread takes the next ready job before it sleeps, and the
  // reactor signals only when a thread sleeps; finished jobs reach the reactor through the inbox, one wake
  // per burst.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<task>> ready_;
  std::size_t sleeping_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace offload::core
