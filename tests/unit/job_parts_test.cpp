// The small parts of the job service: per-lane completion rates (Retry-After), the output cap, and how much
// a node claims from the shared queue.
#include "core/claim_policy.hpp"
#include "core/completion_rate.hpp"
#include "core/event_log.hpp"
#include "core/job_result.hpp"
#include "core/output_budget.hpp"

#include <gtest/gtest.h>

namespace offload::core {
namespace {

// Retry-After comes from each lane's own measured completion rate.
TEST(completion_rate_test, retry_after_is_the_lanes_queue_over_its_rate) {
  completion_rate rates;
  for (int i = 0; i < 100; ++i)
    rates.finished(proto::lane::thread);
  rates.finished(proto::lane::process);
  rates.sample(std::chrono::seconds{1});
  // One sample of 100 jobs/s, smoothed from zero: 30 jobs/s; the process lane: 0.3, below the floor.
  EXPECT_DOUBLE_EQ(rates.per_second(proto::lane::thread), 30.0);
  EXPECT_EQ(rates.retry_after(proto::lane::thread, 300).count(), 10);
  EXPECT_EQ(rates.retry_after(proto::lane::thread, 301).count(), 11) << "rounded up";
  EXPECT_EQ(rates.retry_after(proto::lane::process, 10).count(), 20) << "floor of 0.5 jobs/s";
  EXPECT_EQ(rates.retry_after(proto::lane::thread, 3).count(), 1) << "at least 1 s";
  EXPECT_EQ(rates.retry_after(proto::lane::process, 1000).count(), 60) << "at most 60 s";
  // The counts start afresh: an idle interval pulls the rate down.
  rates.sample(std::chrono::seconds{1});
  EXPECT_DOUBLE_EQ(rates.per_second(proto::lane::thread), 21.0);
}

TEST(output_budget_test, logs_what_fits_then_one_marker_then_nothing) {
  output_budget budget;
  using d = output_budget::decision;
  EXPECT_EQ(budget.charge(60, 100), d::log);
  EXPECT_EQ(budget.charge(40, 100), d::log) << "exactly at the limit still fits";
  EXPECT_EQ(budget.logged(), 100u);
  EXPECT_FALSE(budget.truncated());
  EXPECT_EQ(budget.charge(1, 100), d::truncate);
  EXPECT_TRUE(budget.truncated());
  EXPECT_EQ(budget.charge(0, 100), d::drop) << "after the marker nothing is logged, however small";
  EXPECT_EQ(budget.logged(), 100u);
}

TEST(output_budget_test, counts_the_text_or_base64_payload_plus_each_events_overhead) {
  constexpr auto overhead = output_budget::event_overhead;
  EXPECT_EQ(output_budget::cost_of({{"stream", "stdout"}, {"data", "hello"}}), 5u + overhead);
  EXPECT_EQ(output_budget::cost_of({{"stream", "stderr"}, {"data_base64", "AAEC"}}), 4u + overhead);
  EXPECT_EQ(output_budget::cost_of({{"stream", "stdout"}}), overhead);
  // One byte at a time: a 64 KiB budget holds a few hundred events, not 65,536.
  output_budget budget;
  int logged = 0;
  while (budget.charge(output_budget::cost_of({{"stream", "stdout"}, {"data", "x"}}), 64 * 1024) ==
         output_budget::decision::log)
    ++logged;
  EXPECT_EQ(logged, 64 * 1024 / (1 + overhead));
}

// A pool claims ahead of its free slots only for types whose jobs it saw run here within the budget: about
// 2 ms of their work per slot, at most 64 per slot, by a moving average of their run times.
TEST(claim_policy_test, claims_about_2_ms_of_short_jobs_per_slot_ahead) {
  using std::chrono::microseconds;
  claim_policy claims;
  EXPECT_EQ(claims.ahead("echo", 2), 0u) << "none before a job of the type ran here";
  claims.ran("echo", microseconds{100});
  EXPECT_EQ(claims.ahead("echo", 2), 40u) << "2000 / 100 per slot";
  claims.ran("echo", microseconds{200});
  EXPECT_EQ(claims.ahead("echo", 2), 32u) << "average 0.8 × 100 + 0.2 × 200 = 120: 16 per slot";
  claims.ran("tiny", microseconds{10});
  EXPECT_EQ(claims.ahead("tiny", 2), 128u) << "at most 64 per slot";
  claims.ran("slow", microseconds{2500});
  EXPECT_EQ(claims.ahead("slow", 2), 0u) << "jobs longer than the budget are claimed only for free slots";
  EXPECT_EQ(claims.room("slow", 2, 1), 1u);
  EXPECT_EQ(claims.room("tiny", 2, 2), 128u);
  EXPECT_EQ(claims.room("tiny", 2, 200), 0u);
}

// A pool claims with a free slot; and for a type it claims ahead for, once half of that room is free again,
// not only once a slot is: the claim is back before what it holds has run.
TEST(claim_policy_test, a_pool_claims_again_once_half_of_its_room_ahead_is_free) {
  claim_policy claims;
  const std::vector<std::string> short_and_slow{"slow", "echo"}, slow{"slow"};
  claims.ran("echo", std::chrono::microseconds{100});  // room: 2 slots and 40 ahead
  claims.ran("slow", std::chrono::milliseconds{50});
  EXPECT_TRUE(claims.due(short_and_slow, 2, 1)) << "a free slot";
  EXPECT_TRUE(claims.due(short_and_slow, 2, 2)) << "both slots busy, nothing ahead";
  EXPECT_TRUE(claims.due(short_and_slow, 2, 21)) << "21 of 42 free";
  EXPECT_FALSE(claims.due(short_and_slow, 2, 22)) << "20 of 42 free";
  EXPECT_FALSE(claims.due(short_and_slow, 2, 42));
  EXPECT_TRUE(claims.due(slow, 2, 1));
  EXPECT_FALSE(claims.due(slow, 2, 2)) << "no free slot, and nothing claimed ahead for its types";
}

}  // namespace
}  // namespace offload::core

namespace offload::core {
namespace {

// A result is kept once, as the text inside its terminal event's frame, whatever the result holds.
TEST(job_result_test, is_the_text_inside_the_terminal_frame) {
  for (const auto& result : {nlohmann::json{{"seq", 1}, {"x", ",\"seq\":2,"}}, nlohmann::json(nullptr),
                             nlohmann::json::array({1, "two"}), nlohmann::json("s")}) {
    for (const bool truncated : {false, true}) {
      event_log log;
      nlohmann::json data{{"result", result}};
      if (truncated) data["output_truncated"] = true;
      const auto& frame = log.append(proto::event_type::succeeded, data).frame;
      const auto r = job_result::from_frame(frame);
      ASSERT_TRUE(r.has_value()) << *frame;
      EXPECT_EQ(r->owner(), frame) << "no copy";
      EXPECT_EQ(r->value(), result) << *frame;
      EXPECT_EQ(r->text(), result.dump());
    }
  }
  event_log log;
  EXPECT_FALSE(job_result::from_frame(log.append(proto::event_type::failed, {{"error", "x"}}).frame));
  EXPECT_FALSE(job_result::from_frame(nullptr));
  // A frame of another shape is still read (parsed, with its own text).
  const auto odd = job_result::from_frame(std::make_shared<const std::string>(R"({"a":1,"result":[3]})"));
  ASSERT_TRUE(odd.has_value());
  EXPECT_EQ(odd->value(), nlohmann::json::array({3}));
}

}  // namespace
}  // namespace offload::core
