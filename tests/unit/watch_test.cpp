// The parts behind the dashboard's live view, without a network: the per-second rings, the watch feed's
// batching, and the `watch` / `unwatch` messages.
#include "core/finish_history.hpp"
#include "core/job.hpp"
#include "core/second_ring.hpp"
#include "net/watch_hub.hpp"
#include "net/ws_request.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace offload {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

clock_type::time_point at_second(long long s) {
  return clock_type::time_point{std::chrono::seconds{s}} + 300ms;
}

TEST(second_ring, keeps_the_last_seconds_and_forgets_older_ones) {
  core::second_ring<int, 4> ring;
  ring.at(100) = 1;
  ring.at(101) += 2;
  ring.at(101) += 3;
  EXPECT_EQ(ring.get(100), 1);
  EXPECT_EQ(ring.get(101), 5);
  EXPECT_EQ(ring.get(102), 0) << "nothing recorded";
  // Second 104 takes second 100's slot: 100 reads as nothing now, however it is asked for.
  ring.at(104) += 7;  // starts from nothing, not from second 100's count
  EXPECT_EQ(ring.get(100), 0);
  EXPECT_EQ(ring.get(104), 7);
  // The whole seconds before `now`, oldest first; the current one is not over and not included.
  EXPECT_EQ(ring.last(4, at_second(105)), (std::vector<int>{5, 0, 0, 7}));
  EXPECT_EQ(ring.last(2, at_second(104)), (std::vector<int>{0, 0}));
  EXPECT_EQ(ring.last(4, at_second(200)), (std::vector<int>{0, 0, 0, 0})) << "all of it is too old";
}

TEST(finish_history, counts_jobs_by_terminal_state_per_second) {
  core::finish_history history;
  history.finished(proto::job_state::succeeded, at_second(10));
  history.finished(proto::job_state::succeeded, at_second(10));
  history.finished(proto::job_state::failed, at_second(10));
  history.finished(proto::job_state::timed_out, at_second(12));
  history.finished(proto::job_state::cancelled, at_second(12));
  history.finished(proto::job_state::running, at_second(12));  // not terminal: not counted
  const auto last = history.last(at_second(13));
  ASSERT_EQ(last.size(), core::finish_history::seconds);
  const auto& s10 = last[last.size() - 3];
  const auto& s12 = last.back();
  EXPECT_EQ(s10, (core::finish_history::counts{2, 1, 0, 0}));
  EXPECT_EQ(last[last.size() - 2], (core::finish_history::counts{}));
  EXPECT_EQ(s12, (core::finish_history::counts{0, 0, 1, 1}));
}

TEST(ws_request, watch_and_unwatch) {
  auto parsed = net::parse_ws_request(R"({"op":"watch","req":7})");
  auto* watch = std::get_if<net::ws_request>(&parsed);
  ASSERT_TRUE(watch);
  EXPECT_EQ(watch->op, net::ws_request::kind::watch);
  EXPECT_TRUE(watch->stats);
  EXPECT_TRUE(watch->jobs);
  EXPECT_EQ(watch->req, 7);

  parsed = net::parse_ws_request(R"({"op":"watch","jobs":false})");
  watch = std::get_if<net::ws_request>(&parsed);
  ASSERT_TRUE(watch);
  EXPECT_TRUE(watch->stats);
  EXPECT_FALSE(watch->jobs);

  parsed = net::parse_ws_request(R"({"op":"unwatch"})");
  ASSERT_TRUE(std::holds_alternative<net::ws_request>(parsed));
  EXPECT_EQ(std::get<net::ws_request>(parsed).op, net::ws_request::kind::unwatch);

  for (const auto* bad : {R"({"op":"watch","stats":1})", R"({"op":"watch","stats":false,"jobs":false})"}) {
    parsed = net::parse_ws_request(bad);
    ASSERT_TRUE(std::holds_alternative<net::ws_request_error>(parsed)) << bad;
    EXPECT_EQ(std::get<net::ws_request_error>(parsed).error.code, proto::errc::invalid_input) << bad;
  }
}

class watch_hub_test : public ::testing::Test {
 protected:
  asio::io_context reactor_;
  net::watch_hub hub_{reactor_.get_executor()};
  std::vector<nlohmann::json> received_;
  std::uint64_t stats_calls_ = 0;

  std::uint64_t add_watcher() {
    return hub_.add(
        [this](const net::watch_hub::frame& f) { received_.push_back(nlohmann::json::parse(*f)); });
  }

  static std::shared_ptr<core::job> job(std::uint64_t seq) {
    return core::new_job(seq, 1, proto::job_spec{.type = "echo"}, proto::lane::thread,
                         core::slot_pool::thread);
  }

  // Runs the reactor until `count` messages arrived (the hub's timers are real: 250 ms per batch).
  void run_until(std::size_t count) {
    const auto deadline = clock_type::now() + 5s;
    while (received_.size() < count && clock_type::now() < deadline)
      reactor_.run_one_for(100ms);
    ASSERT_GE(received_.size(), count);
  }
};

TEST_F(watch_hub_test, a_batch_names_each_job_once_in_its_newest_state_and_counts_what_does_not_fit) {
  const auto id = add_watcher();
  hub_.job_changed(*job(1));  // nobody watches jobs yet: not kept
  hub_.set_topics(id, {.stats = false, .jobs = true});
  auto first = job(2);
  hub_.job_changed(*first);
  first->state = proto::job_state::running;
  hub_.job_changed(*first);
  for (std::uint64_t seq = 3; seq < 3 + net::watch_hub::max_jobs_per_batch + 5; ++seq)
    hub_.job_changed(*job(seq));
  run_until(1);
  const auto& batch = received_.front();
  EXPECT_EQ(batch["op"], "jobs");
  ASSERT_EQ(batch["jobs"].size(), net::watch_hub::max_jobs_per_batch);
  EXPECT_EQ(batch["jobs"][0]["id"], first->id);
  EXPECT_EQ(batch["jobs"][0]["state"], "running");
  EXPECT_EQ(batch["dropped"], 6) << "one job did not fit, and 5 more";
  EXPECT_EQ(stats_calls_, 0u);

  // The next batch starts empty: only what changed since.
  hub_.job_changed(*first);
  run_until(2);
  ASSERT_EQ(received_[1]["jobs"].size(), 1u);
  EXPECT_FALSE(received_[1].contains("dropped"));
}

TEST_F(watch_hub_test, stats_come_at_once_and_then_every_second_only_to_their_watchers) {
  hub_.set_stats_source([this] { return nlohmann::json{{"n", ++stats_calls_}}; });
  const auto stats_watcher = add_watcher();
  std::vector<nlohmann::json> other;
  const auto jobs_watcher =
      hub_.add([&](const net::watch_hub::frame& f) { other.push_back(nlohmann::json::parse(*f)); });
  hub_.set_topics(jobs_watcher, {.stats = false, .jobs = true});
  hub_.set_topics(stats_watcher, {.stats = true, .jobs = false});
  ASSERT_EQ(received_.size(), 1u) << "the current stats at once";
  EXPECT_EQ(received_[0], (nlohmann::json{{"op", "stats"}, {"stats", {{"n", 1}}}}));
  run_until(3);
  EXPECT_EQ(received_[2]["stats"]["n"], 3) << "each tick serialises the stats once for all";
  EXPECT_TRUE(other.empty());
  // Removed: nothing more; and the timer stops once nobody watches.
  hub_.remove(stats_watcher);
  hub_.remove(jobs_watcher);
  const auto before = received_.size();
  reactor_.restart();
  reactor_.run_for(1500ms);
  EXPECT_EQ(received_.size(), before);
  EXPECT_TRUE(reactor_.stopped()) << "no timer left armed";
}

}  // namespace
}  // namespace offload
