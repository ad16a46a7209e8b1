// The job service on a real io_context, without sockets: lifecycle, cancellation, timeouts, drain.
#include "core/job_service.hpp"

#include "core/thread_lane.hpp"
#include "support/run_to_end.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace offload::core {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using proto::job_state;

class job_service_test : public ::testing::Test {
 protected:
  job_service_test() { register_builtin_types(types_); }

  // Runs the reactor until `done` holds; fails (never hangs) after 20 s.
  template <class Pred>
  void run_until(Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "condition not reached";
      ioc_.run_one_for(10ms);
    }
  }

  std::shared_ptr<const job> submit(json input, std::string type = "echo", int priority = 5,
                                    std::optional<std::uint64_t> timeout_ms = std::nullopt) {
    proto::job_spec spec;
    spec.type = std::move(type);
    spec.input = std::move(input);
    spec.priority = priority;
    spec.timeout_ms = timeout_ms;
    auto r = submit_spec(std::move(spec));
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? r->job : nullptr;
  }

  proto::result<submission> submit_spec(proto::job_spec spec) {
    return test::run_to_end(ioc_, service_->async_submit(std::move(spec)));
  }
  proto::result<std::shared_ptr<const job>> cancel(std::string id) {
    return test::run_to_end(ioc_, service_->async_cancel(std::move(id)));
  }

  void make_service(service_config config) {
    job_lanes lanes;
    lanes.thread = std::make_unique<thread_lane>(ioc_.get_executor(), config.threads);
    service_ = std::make_unique<job_service>(ioc_.get_executor(), config, types_, std::move(lanes));
  }

  void TearDown() override {
    if (service_) {
      service_->join();
      service_.reset();
    }
  }

  boost::asio::io_context ioc_{1};
  type_registry types_;
  std::unique_ptr<job_service> service_;
};

TEST_F(job_service_test, echo_job_runs_through_its_whole_lifecycle) {
  make_service({.threads = 1});
  const auto j = submit({{"v", 1}});
  EXPECT_TRUE(j->started_at.has_value()) << "dispatched at once to a free thread (it may even have ended)";
  run_until([&] { return proto::is_terminal(j->state); });
  EXPECT_EQ(j->state, job_state::succeeded);
  ASSERT_TRUE(j->result.has_value());
  EXPECT_EQ(j->result->value(), json({{"v", 1}}));
  EXPECT_EQ(j->result->owner(), j->events.events().back().frame) << "one copy: inside the terminal frame";
  std::vector<proto::event_type> types;
  for (const auto& e : j->events.events())
    types.push_back(e.type);
  EXPECT_EQ(types, (std::vector<proto::event_type>{proto::event_type::queued, proto::event_type::started,
                                                   proto::event_type::succeeded}));
  EXPECT_EQ(service_->stats().finished, 1u);
}

TEST_F(job_service_test, cancel_running_job_is_immediate_and_late_result_is_discarded) {
  make_service({.threads = 1});
  const auto j = submit({{"ms", 600000}}, "sleep");
  ASSERT_EQ(j->state, job_state::running);
  const auto r = cancel(j->id);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(j->state, job_state::cancelled) << "no waiting for the handler";
  const auto last = j->events.last_seq();
  // The handler wakes, returns `cancelled`; nothing more is logged and the slot is released.
  run_until(
      [&] { return service_->stats().running == 0 && submit({}, "echo")->state == job_state::running; });
  EXPECT_EQ(j->events.last_seq(), last);
  const auto again = cancel(j->id);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, proto::errc::already_finished);
  EXPECT_EQ(cancel("000000000999aaaaaaaa").error().code, proto::errc::not_found);
}

TEST_F(job_service_test, timeout_ends_a_running_job) {
  make_service({.threads = 1});
  const auto j = submit({{"ms", 600000}}, "sleep", 5, 20);
  run_until([&] { return proto::is_terminal(j->state); });
  EXPECT_EQ(j->state, job_state::timed_out);
  EXPECT_EQ(j->error->code, proto::errc::timed_out);
}

TEST_F(job_service_test, queue_bound_and_priorities) {
  make_service({.threads = 1, .max_queued = 2});
  const auto blocker = submit({{"ms", 600000}}, "sleep");
  const auto low = submit({}, "echo", 1);
  const auto high = submit({}, "echo", 8);
  proto::job_spec extra;
  extra.type = "echo";
  const auto full = submit_spec(extra);
  ASSERT_FALSE(full.has_value());
  EXPECT_EQ(full.error().code, proto::errc::queue_full);
  // Nothing finished yet: the thread lane is assumed to finish 0.5 jobs/s, so its 2 queued jobs take 4 s;
  // the process lane's empty queue advises the minimum.
  EXPECT_EQ(service_->retry_after(proto::lane::thread).count(), 4);
  EXPECT_EQ(service_->retry_after(proto::lane::process).count(), 1);

  ASSERT_TRUE(cancel(blocker->id).has_value());
  run_until([&] { return proto::is_terminal(low->state); });
  EXPECT_EQ(high->state, job_state::succeeded);
  EXPECT_LE(*high->finished_at, *low->started_at) << "the higher priority ran first";
}

// The machine's `leave_queue`: a cancelled queued job frees its place in the bound at once, it never
// starts, and its log ends queued → cancelled.
TEST_F(job_service_test, a_cancelled_queued_job_leaves_the_queue_and_never_runs) {
  make_service({.threads = 1, .max_queued = 1});
  const auto blocker = submit({{"ms", 600000}}, "sleep");
  run_until([&] { return blocker->state == job_state::running; });
  const auto waiting = submit({}, "echo");
  EXPECT_EQ(service_->stats().queued, 1u);
  ASSERT_TRUE(cancel(waiting->id).has_value());
  EXPECT_EQ(waiting->state, job_state::cancelled);
  EXPECT_EQ(service_->stats().queued, 0u);
  EXPECT_EQ(service_->stats().running, 1u) << "only the blocker runs";
  EXPECT_FALSE(waiting->started_at.has_value());
  ASSERT_EQ(waiting->events.events().size(), 2u);
  EXPECT_EQ(waiting->events.events().back().type, proto::event_type::cancelled);
  // The place is free again: a full queue would refuse this one.
  const auto next = submit({}, "echo");
  ASSERT_NE(next, nullptr);
  ASSERT_TRUE(cancel(blocker->id).has_value());
  run_until([&] { return next->state == job_state::succeeded; });
  EXPECT_EQ(service_->stats().running, 0u);
}

TEST_F(job_service_test, submission_errors) {
  make_service({.threads = 1});
  proto::job_spec s;
  s.type = "nope";
  EXPECT_EQ(submit_spec(s).error().code, proto::errc::unknown_type);
  s.type = "sum";
  s.input = {{"n", "x"}};
  const auto invalid = submit_spec(s);
  EXPECT_EQ(invalid.error().code, proto::errc::invalid_input);
  EXPECT_EQ(invalid.error().message.rfind("input.n:", 0), 0u) << invalid.error().message;
  s.input = {{"n", 1}};
  s.lane = proto::lane::process;
  EXPECT_EQ(submit_spec(s).error().code, proto::errc::lane_unavailable);
}

TEST_F(job_service_test, idempotent_resubmission) {
  make_service({.threads = 1});
  proto::job_spec s;
  s.type = "echo";
  s.idempotency_key = "k";
  const auto a = submit_spec(s);
  const auto b = submit_spec(s);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->job, b->job);
  EXPECT_TRUE(b->replayed);
  s.priority = 1;
  EXPECT_EQ(submit_spec(s).error().code, proto::errc::idempotency_conflict);
}

TEST_F(job_service_test, wait_finished_wakes_on_the_terminal_event) {
  make_service({.threads = 1});
  const auto j = submit({{"ms", 30}}, "sleep");
  bool woke = false;
  boost::asio::co_spawn(
      ioc_,
      [&]() -> boost::asio::awaitable<void> {
        co_await service_->async_wait_finished(j, 600s);
        woke = true;
      },
      boost::asio::detached);
  run_until([&] { return woke; });
  EXPECT_EQ(j->state, job_state::succeeded) << "woke by the job ending, not by the 600 s limit";
}

TEST_F(job_service_test, drain_refuses_new_jobs_and_cancels_what_outlives_the_grace) {
  make_service({.threads = 1});
  const auto running = submit({{"ms", 600000}}, "sleep");
  const auto queued = submit({}, "echo");
  bool drained = false;
  boost::asio::co_spawn(
      ioc_,
      [&]() -> boost::asio::awaitable<void> {
        co_await service_->async_drain(50ms);
        drained = true;
      },
      boost::asio::detached);
  run_until([&] { return service_->draining(); });
  proto::job_spec s;
  s.type = "echo";
  EXPECT_EQ(submit_spec(s).error().code, proto::errc::draining);
  run_until([&] { return drained; });
  EXPECT_EQ(running->state, job_state::cancelled);
  EXPECT_EQ(running->error->code, proto::errc::shutdown);
  EXPECT_EQ(queued->state, job_state::cancelled);
  EXPECT_EQ(service_->stats().running, 0u);
}

}  // namespace
}  // namespace offload::core
