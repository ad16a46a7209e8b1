// Thread lane: hop to the pool, run the pure handler, hop back.
#include "core/thread_lane.hpp"

#include "core/logger.hpp"

#include <offload/asio_support.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

namespace offload::core {
namespace {

// Lives on the pool thread for one job; every event is posted back to the reactor, which owns job state.
class pool_context final : public handler_context {
 public:
  pool_context(asio::any_io_executor reactor, std::stop_token stop,
               const std::function<void(proto::event_type, nlohmann::json)>& on_event)
      : reactor_(std::move(reactor)), stop_(std::move(stop)), on_event_(on_event) {}

  void progress(double fraction, std::string note) override {
    post(proto::event_type::progress, {{"fraction", fraction}, {"note", std::move(note)}});
  }
  void emit(std::string_view chunk) override {
    post(proto::event_type::output, {{"stream", "stdout"}, {"data", std::string{chunk}}});
  }
  std::stop_token stop_token() const override { return stop_; }

 private:
  void post(proto::event_type type, nlohmann::json data) {
    asio::post(reactor_,
               [fn = on_event_, type, data = std::move(data)]() mutable { fn(type, std::move(data)); });
  }

  asio::any_io_executor reactor_;
  std::stop_token stop_;
  const std::function<void(proto::event_type, nlohmann::json)>& on_event_;
};

}  // namespace

thread_lane::thread_lane(asio::any_io_executor reactor, std::size_t threads, int nice)
    : reactor_(std::move(reactor)), threads_(threads), nice_(nice), pool_(threads) {}

thread_lane::~thread_lane() {
  join();
}

namespace {

// Runs on a pool thread. A plain coroutine function taking its inputs, not a lambda (rule 2).
asio::awaitable<lane_outcome> run_handler(asio::any_io_executor reactor, const lane_request& request,
                                          int nice) {
  // Once per pool thread (Linux keeps niceness per thread): compute yields to the reactor.
  thread_local bool lowered = false;
  if (!lowered && nice > 0) ::nice(nice);
  lowered = true;
  pool_context ctx{std::move(reactor), request.stop, request.on_event};
  try {
    auto r = request.type.run(request.input, ctx);
    if (r) co_return lane_outcome{job_input::succeed, std::move(r).value(), std::nullopt};
    co_return lane_outcome{job_input::fail, nullptr, std::move(r).error()};
  } catch (const std::bad_alloc&) {
    co_return lane_outcome{job_input::fail, nullptr,
                           proto::error{proto::errc::handler_error, "out of memory"}};
  } catch (const std::exception& e) {
    log(log_level::warn, "handler threw",
        {{"job", request.job_id}, {"type", request.type.name}, {"what", e.what()}});
    co_return lane_outcome{
        job_input::fail, nullptr,
        proto::error{proto::errc::handler_error, std::string{"handler failed: "} + e.what()}};
  }
}

}  // namespace

asio::awaitable<lane_outcome> thread_lane::async_run(lane_request request) {
  // The awaiting coroutine stays suspended on the reactor, so `request` outlives the pool-side work.
  co_return co_await asio::co_spawn(pool_, run_handler(reactor_, request, nice_), asio::use_awaitable);
}

void thread_lane::join() {
  pool_.join();
}

}  // namespace offload::core
