// The thread lane and the reactor inbox: every job comes back with its own outcome, events before the
// outcome, and hand-offs batched (one reactor wake-up for a burst, not one per call).
#include "core/thread_lane.hpp"

#include "core/reactor_inbox.hpp"

#include <offload/asio_support.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace offload::core {
namespace {

TEST(reactor_inbox_test, a_burst_from_other_threads_runs_in_order_in_one_reactor_turn) {
  asio::io_context reactor;
  reactor_inbox inbox{reactor.get_executor()};
  std::vector<int> seen;
  std::thread producer{[&] {
    for (int i = 0; i < 1000; ++i)
      inbox.post([&seen, i] { seen.push_back(i); });
  }};
  producer.join();
  // The reactor was not running while the burst came: one handler (the drain) runs all thousand calls.
  EXPECT_EQ(reactor.run(), 1U);
  ASSERT_EQ(seen.size(), 1000U);
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(seen[static_cast<std::size_t>(i)], i);
  // A call after the drain posts a new one.
  inbox.post([&seen] { seen.push_back(-1); });
  reactor.restart();
  EXPECT_EQ(reactor.run(), 1U);
  EXPECT_EQ(seen.back(), -1);
}

TEST(reactor_inbox_test, calls_left_when_the_reactor_is_gone_are_destroyed_not_run) {
  auto alive = std::make_shared<int>(0);
  {
    asio::io_context reactor;
    reactor_inbox inbox{reactor.get_executor()};
    inbox.post([alive] { FAIL() << "ran after the reactor stopped"; });
    EXPECT_EQ(alive.use_count(), 2);
  }
  EXPECT_EQ(alive.use_count(), 1) << "the queued call (and what it holds) was released";
}

proto::result<nlohmann::json> square_with_progress(const nlohmann::json& input, handler_context& ctx) {
  const auto n = input.at("n").get<std::int64_t>();
  ctx.progress(0.5, "half");
  ctx.emit("n=" + std::to_string(n));
  return nlohmann::json(n * n);
}

TEST(thread_lane_test, many_jobs_at_once_each_get_their_own_outcome_after_their_events) {
  asio::io_context reactor;
  const job_type type{.name = "square",
                      .description = "",
                      .input_schema = {},
                      .lanes = {proto::lane::thread},
                      .run = square_with_progress};
  thread_lane lane{reactor.get_executor(), 2};
  constexpr int jobs = 200;
  std::vector<std::vector<proto::event_type>> events(jobs);
  std::vector<std::optional<lane_outcome>> outcomes(jobs);
  std::vector<nlohmann::json> inputs;
  for (int i = 0; i < jobs; ++i)
    inputs.push_back({{"n", i}});
  const auto run_one = [&](int i) -> asio::awaitable<void> {
    const auto index = static_cast<std::size_t>(i);
    auto on_event = [&events, index](proto::event_type t, nlohmann::json) { events[index].push_back(t); };
    lane_request request{type, inputs[index], "job-" + std::to_string(i), {}, std::move(on_event)};
    outcomes[index] = co_await lane.async_run(std::move(request));
  };
  for (int i = 0; i < jobs; ++i)
    asio::co_spawn(reactor, run_one(i), asio::detached);
  reactor.run();
  for (int i = 0; i < jobs; ++i) {
    const auto index = static_cast<std::size_t>(i);
    ASSERT_TRUE(outcomes[index].has_value()) << i;
    EXPECT_EQ(outcomes[index]->input, job_input::succeed);
    EXPECT_EQ(outcomes[index]->result, i * i);
    // Events went through the same inbox as the outcome, so they arrived before it.
    EXPECT_EQ(events[index], (std::vector{proto::event_type::progress, proto::event_type::output})) << i;
  }
}

proto::result<nlohmann::json> wait_for_stop(const nlohmann::json&, handler_context& ctx) {
  while (!ctx.stop_requested())
    std::this_thread::yield();
  return proto::error{proto::errc::cancelled, "stopped"};
}

TEST(thread_lane_test, join_runs_what_is_queued_and_stops_the_threads) {
  asio::io_context reactor;
  const job_type type{.name = "wait",
                      .description = "",
                      .input_schema = {},
                      .lanes = {proto::lane::thread},
                      .run = wait_for_stop};
  thread_lane lane{reactor.get_executor(), 1};
  std::stop_source stop;
  const nlohmann::json input = nlohmann::json::object();
  std::atomic<int> finished = 0;
  const auto run_one = [&]() -> asio::awaitable<void> {
    lane_request request{type, input, "job", stop.get_token(), [](proto::event_type, nlohmann::json) {}};
    const auto outcome = co_await lane.async_run(std::move(request));
    if (outcome.error && outcome.error->code == proto::errc::cancelled) ++finished;
  };
  // Two jobs for one thread: the second waits in the queue.
  asio::co_spawn(reactor, run_one(), asio::detached);
  asio::co_spawn(reactor, run_one(), asio::detached);
  reactor.poll();
  stop.request_stop();
  lane.join();
  reactor.restart();
  reactor.run();
  EXPECT_EQ(finished, 2);
}

}  // namespace
}  // namespace offload::core
