// Thread lane: queue the job for the pool, run the pure handler there, hand the outcome back.
#include "core/thread_lane.hpp"

#include "core/logger.hpp"
#include "core/thread_name.hpp"
#include "core/thread_policy.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace offload::core {

/// One job on its way through the pool. `request` lives in the suspended coroutine that awaits it.
struct thread_lane::task {
  const lane_request& request;
  asio::any_completion_handler<void(lane_outcome)> handler;
};

namespace {

// Lives on the pool thread for one job; every event goes back to the reactor, which owns job state.
class pool_context final : public handler_context {
 public:
  pool_context(reactor_inbox& inbox, std::stop_token stop,
               const std::function<void(proto::event_type, nlohmann::json)>& on_event)
      : inbox_(inbox), stop_(std::move(stop)), on_event_(on_event) {}

  void progress(double fraction, std::string note) override {
    post(proto::event_type::progress, {{"fraction", fraction}, {"note", std::move(note)}});
  }
  void emit(std::string_view chunk) override {
    post(proto::event_type::output, {{"stream", "stdout"}, {"data", std::string{chunk}}});
  }
  std::stop_token stop_token() const override { return stop_; }

 private:
  void post(proto::event_type type, nlohmann::json data) {
    inbox_.post([fn = &on_event_, type, data = std::move(data)]() mutable { (*fn)(type, std::move(data)); });
  }

  reactor_inbox& inbox_;
  std::stop_token stop_;
  const std::function<void(proto::event_type, nlohmann::json)>& on_event_;
};

lane_outcome run_handler(reactor_inbox& inbox, const lane_request& request) {
  pool_context ctx{inbox, request.stop, request.on_event};
  try {
    auto r = request.type.run(request.input, ctx);
    if (r) return lane_outcome{job_input::succeed, std::move(r).value(), std::nullopt};
    return lane_outcome{job_input::fail, nullptr, std::move(r).error()};
  } catch (const std::bad_alloc&) {
    return lane_outcome{job_input::fail, nullptr, proto::error{proto::errc::handler_error, "out of memory"}};
  } catch (const std::exception& e) {
    log(log_level::warn, "handler threw",
        {{"job", request.job_id}, {"type", request.type.name}, {"what", e.what()}});
    return lane_outcome{job_input::fail, nullptr,
                        proto::error{proto::errc::handler_error, std::string{"handler failed: "} + e.what()}};
  }
}

}  // namespace

thread_lane::thread_lane(asio::any_io_executor reactor, std::size_t threads, int nice)
    : reactor_(reactor), inbox_(std::move(reactor)), nice_(nice) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this, i] {
      name_this_thread("offload-lane-" + std::to_string(i));
      thread_main();
    });
}

thread_lane::~thread_lane() {
  join();
}

asio::awaitable<lane_outcome> thread_lane::async_run(lane_request request) {
  // The awaiting coroutine stays suspended on the reactor, so `request` outlives the pool-side work.
  auto initiation = [this, &request](auto handler) {
    start(std::make_unique<task>(task{request, std::move(handler)}));
  };  // named, not written inside the co_await (rule 2)
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(lane_outcome)>(
      std::move(initiation), asio::use_awaitable);
}

void thread_lane::start(std::unique_ptr<task> t) {
  // Jobs started in one turn of the reactor reach the pool together, with at most one wake-up: waking a
  // sleeping thread costs the reactor more than a small job costs the pool.
  staged_.push_back(std::move(t));
  if (flush_posted_) return;
  flush_posted_ = true;
  asio::post(reactor_, [this] { flush(); });
}

void thread_lane::flush() {
  flush_posted_ = false;
  bool wake = false;
  {
    const std::lock_guard lock{mutex_};
    for (auto& t : staged_)
      ready_.push_back(std::move(t));
    wake = sleeping_ > 0;
  }
  staged_.clear();
  if (wake) wake_.notify_one();
}

void thread_lane::thread_main() {
  // Compute yields to the reactor: batch work (it does not preempt the reactor when handed a job), nicer.
  run_this_thread_as_batch_work(nice_);
  std::unique_lock lock{mutex_};
  for (;;) {
    if (ready_.empty()) {
      if (stopping_) return;
      ++sleeping_;
      wake_.wait(lock, [this] { return stopping_ || !ready_.empty(); });
      --sleeping_;
      continue;
    }
    auto t = std::move(ready_.front());
    ready_.pop_front();
    // More work than this thread: a sleeping one takes the next job (the wake is the pool's cost, not the
    // reactor's).
    const bool wake_another = !ready_.empty() && sleeping_ > 0;
    lock.unlock();
    if (wake_another) wake_.notify_one();
    auto outcome = run_handler(inbox_, t->request);
    inbox_.post([t = std::move(t), outcome = std::move(outcome)]() mutable {
      std::move(t->handler)(std::move(outcome));
    });
    lock.lock();
  }
}

void thread_lane::join() {
  {
    const std::lock_guard lock{mutex_};
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

}  // namespace offload::core
