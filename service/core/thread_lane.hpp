// The thread lane: built-in handlers on an asio::thread_pool. Values go in, a value comes back.
#pragma once

#include "core/job_lane.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>

namespace offload::core {

class thread_lane final : public job_lane {
 public:
  /// `nice` is added to each pool thread's niceness when it runs its first job.
  thread_lane(boost::asio::any_io_executor reactor, std::size_t threads, int nice = 0);
  ~thread_lane() override;

  std::size_t capacity() const noexcept override { return threads_; }
  /// Runs the handler on a pool thread; progress is posted to the reactor; completes on the reactor.
  /// Cancellation is cooperative: the handler watches the stop token.
  boost::asio::awaitable<lane_outcome> async_run(lane_request request) override;
  void join() override;

 private:
  boost::asio::any_io_executor reactor_;
  std::size_t threads_;
  int nice_;
  boost::asio::thread_pool pool_;
};

}  // namespace offload::core
