// The small parts of the job service: per-lane completion rates (Retry-After) and the output cap.
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
