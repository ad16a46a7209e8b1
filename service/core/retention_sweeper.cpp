// The retention sweep: a timer, then eviction in slices that yield to whatever the reactor has queued.
#include "core/retention_sweeper.hpp"

#include "core/logger.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

namespace offload::core {

retention_sweeper::retention_sweeper(asio::any_io_executor reactor, job_repository& store,
                                     std::chrono::milliseconds interval, std::function<void()> after_each)
    : reactor_(reactor),
      store_(store),
      interval_(interval),
      after_each_(std::move(after_each)),
      timer_(reactor) {}

void retention_sweeper::start() {
  asio::co_spawn(reactor_, run(), log_coroutine_failure("retention sweep"));
}

void retention_sweeper::stop() {
  stopping_ = true;
  timer_.cancel();
}

asio::awaitable<void> retention_sweeper::run() {
  while (!stopping_) {
    timer_.expires_after(interval_);
    co_await timer_.async_wait(use_tuple);
    if (stopping_) break;
    while (store_.evict(job::clock::now(), slice) == slice && !stopping_)
      co_await asio::post(reactor_, asio::use_awaitable);
    if (after_each_) after_each_();
  }
}

}  // namespace offload::core
