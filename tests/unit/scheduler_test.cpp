// The scheduler: priority order, FIFO within a priority, lanes apart, exact bound and removal.
#include "core/scheduler.hpp"

#include <gtest/gtest.h>

namespace offload::core {
namespace {

std::shared_ptr<job> make_job(std::uint64_t seq, int priority, slot_pool p = slot_pool::thread) {
  auto j = std::make_shared<job>();
  j->seq = seq;
  j->spec.priority = priority;
  j->pool = p;
  return j;
}

TEST(scheduler_test, pops_highest_priority_first_then_oldest) {
  scheduler s{10};
  ASSERT_TRUE(s.push(make_job(1, 5), {}));
  ASSERT_TRUE(s.push(make_job(2, 9), {}));
  ASSERT_TRUE(s.push(make_job(3, 0), {}));
  ASSERT_TRUE(s.push(make_job(4, 5), {}));
  ASSERT_TRUE(s.push(make_job(5, 9), {}));
  std::vector<std::uint64_t> order;
  while (auto j = s.pop(slot_pool::thread))
    order.push_back(j->seq);
  EXPECT_EQ(order, (std::vector<std::uint64_t>{2, 5, 1, 4, 3}));
  EXPECT_EQ(s.size(), 0u);
}

TEST(scheduler_test, bound_is_exact_per_lane) {
  scheduler s{2};
  EXPECT_TRUE(s.push(make_job(1, 5), {}));
  EXPECT_TRUE(s.push(make_job(2, 5, slot_pool::worker), {}));
  EXPECT_TRUE(s.push(make_job(3, 5), {}));
  EXPECT_TRUE(s.full(proto::lane::thread));
  EXPECT_FALSE(s.full(proto::lane::process));
  EXPECT_FALSE(s.push(make_job(4, 5), {}));
  // Workers and commands share the process lane's bound.
  EXPECT_TRUE(s.push(make_job(5, 5, slot_pool::command), {}));
  EXPECT_TRUE(s.full(proto::lane::process));
  EXPECT_FALSE(s.push(make_job(6, 5, slot_pool::worker), {}));
  EXPECT_EQ(s.size(), 4u);
  EXPECT_EQ(s.size(proto::lane::thread), 2u);
  EXPECT_EQ(s.size(proto::lane::process), 2u);
  EXPECT_EQ(s.size(slot_pool::thread), 2u);
  EXPECT_EQ(s.size(slot_pool::worker), 1u);
}

TEST(scheduler_test, slot_pools_are_separate_queues) {
  scheduler s{10};
  s.push(make_job(1, 5, slot_pool::worker), {});
  EXPECT_EQ(s.pop(slot_pool::thread), nullptr);
  EXPECT_EQ(s.pop(slot_pool::worker)->seq, 1u);
}

TEST(scheduler_test, remove_frees_a_place_at_once) {
  scheduler s{2};
  auto a = make_job(1, 5);
  auto b = make_job(2, 7);
  s.push(a, {});
  s.push(b, {});
  EXPECT_TRUE(s.full(proto::lane::thread));
  EXPECT_TRUE(s.remove(*b));
  EXPECT_FALSE(s.remove(*b)) << "a second removal finds nothing";
  EXPECT_FALSE(s.full(proto::lane::thread));
  EXPECT_TRUE(s.push(make_job(3, 1), {}));
  EXPECT_EQ(s.pop(slot_pool::thread)->seq, 1u);
  EXPECT_EQ(s.pop(slot_pool::thread)->seq, 3u);
  EXPECT_EQ(s.pop(slot_pool::thread), nullptr);
}

}  // namespace
}  // namespace offload::core

namespace offload::core {
namespace {

// A job with a `not_before` in the future waits apart, counts against its lane's bound, and becomes
// eligible (in priority order with the rest) once released at or after its time.
TEST(scheduler_test, delayed_jobs_wait_until_due_and_count_against_the_bound) {
  using namespace std::chrono_literals;
  scheduler s{2};
  const auto now = scheduler::time_point{} + 1000h;
  auto late = make_job(1, 9);
  late->not_before = now + 5s;
  ASSERT_TRUE(s.push(late, now));
  ASSERT_TRUE(s.push(make_job(2, 0), now));
  EXPECT_EQ(s.size(proto::lane::thread), 2u);
  EXPECT_EQ(s.delayed(), 1u);
  EXPECT_FALSE(s.push(make_job(3, 5), now)) << "the delayed job holds a place";
  EXPECT_TRUE(s.push(make_job(4, 5), now, true)) << "a job accepted before goes in over the bound";
  EXPECT_EQ(s.next_due(), now + 5s);

  EXPECT_EQ(s.pop(slot_pool::thread)->seq, 4u);
  EXPECT_EQ(s.release_due(now + 4s), 0u);
  EXPECT_EQ(s.pop(slot_pool::thread)->seq, 2u);
  EXPECT_EQ(s.pop(slot_pool::thread), nullptr) << "the delayed job is not eligible yet";
  EXPECT_EQ(s.release_due(now + 5s), 1u);
  EXPECT_FALSE(s.next_due().has_value());
  EXPECT_EQ(s.pop(slot_pool::thread), late);
}

TEST(scheduler_test, a_delayed_job_can_be_removed) {
  using namespace std::chrono_literals;
  scheduler s{1};
  const auto now = scheduler::time_point{} + 1000h;
  auto j = make_job(1, 5);
  j->not_before = now + 1h;
  ASSERT_TRUE(s.push(j, now));
  EXPECT_TRUE(s.remove(*j));
  EXPECT_EQ(s.size(), 0u);
  EXPECT_FALSE(s.remove(*j));
  EXPECT_TRUE(s.push(make_job(2, 5), now)) << "its place is free again";
}

}  // namespace
}  // namespace offload::core
