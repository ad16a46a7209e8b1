// The job store: ids, lookup, idempotency index, listing with cursors, and retention.
#include "core/store/job_store.hpp"

#include "core/job_id.hpp"

#include <gtest/gtest.h>

namespace offload::core {
namespace {

using namespace std::chrono_literals;

proto::job_spec spec(std::string type = "echo", std::optional<std::string> key = std::nullopt) {
  proto::job_spec s;
  s.type = std::move(type);
  s.idempotency_key = std::move(key);
  return s;
}

void finish(job_store& store, job& j, job::clock::time_point at = job::clock::now()) {
  j.state = proto::job_state::succeeded;
  j.finished_at = at;
  store.mark_finished(j);
}

TEST(job_store_test, ids_are_unique_sortable_and_encode_the_seq) {
  job_store store{100, 3600s};
  const auto a = store.create(spec(), proto::lane::thread);
  const auto b = store.create(spec(), proto::lane::thread);
  EXPECT_EQ(a->id.size(), 20u);
  EXPECT_LT(a->id, b->id);
  EXPECT_EQ(job_id::seq_of(a->id), a->seq);
  EXPECT_EQ(store.find(a->id), a);
  // Same seq, wrong random part: not found.
  std::string forged = a->id;
  forged.back() = forged.back() == '0' ? '1' : '0';
  EXPECT_EQ(store.find(forged), nullptr);
  EXPECT_EQ(store.find("zz"), nullptr);
  EXPECT_FALSE(job_id::seq_of("00000000000g00000000").has_value());
}

TEST(job_store_test, idempotency_key_finds_the_job_until_it_is_evicted) {
  job_store store{1, 3600s};
  const auto a = store.create(spec("echo", "key"), proto::lane::thread);
  EXPECT_EQ(store.find_by_idempotency_key("key"), a);
  EXPECT_EQ(store.find_by_idempotency_key("other"), nullptr);
  finish(store, *a);
  const auto b = store.create(spec(), proto::lane::thread);
  finish(store, *b);
  EXPECT_EQ(store.evict(job::clock::now()), 1u);
  EXPECT_EQ(store.find(a->id), nullptr);
  EXPECT_EQ(store.find_by_idempotency_key("key"), nullptr);
}

TEST(job_store_test, retention_by_count_evicts_oldest_finished_first) {
  job_store store{2, 3600s};
  std::vector<std::shared_ptr<job>> jobs;
  for (int i = 0; i < 4; ++i)
    jobs.push_back(store.create(spec(), proto::lane::thread));
  // Finish in the order 2, 0, 3: the first to finish is the first to go.
  finish(store, *jobs[2]);
  finish(store, *jobs[0]);
  finish(store, *jobs[3]);
  EXPECT_EQ(store.evict(job::clock::now()), 1u);
  EXPECT_EQ(store.find(jobs[2]->id), nullptr);
  EXPECT_NE(store.find(jobs[0]->id), nullptr);
  EXPECT_NE(store.find(jobs[1]->id), nullptr) << "unfinished jobs are never evicted";
  EXPECT_EQ(store.size(), 3u);
  EXPECT_EQ(store.unfinished().size(), 1u);
}

TEST(job_store_test, eviction_goes_in_slices_of_at_most_limit) {
  job_store store{1, 3600s};
  for (int i = 0; i < 5; ++i)
    finish(store, *store.create(spec(), proto::lane::thread));
  EXPECT_EQ(store.evict(job::clock::now(), 3), 3u);
  EXPECT_EQ(store.finished_count(), 2u);
  EXPECT_EQ(store.evict(job::clock::now(), 3), 1u) << "only down to the bound";
  EXPECT_EQ(store.finished_count(), 1u);
}

TEST(job_store_test, retention_by_age) {
  job_store store{100, 10s};
  const auto now = job::clock::now();
  const auto old_job = store.create(spec(), proto::lane::thread);
  const auto new_job = store.create(spec(), proto::lane::thread);
  finish(store, *old_job, now - 11s);
  finish(store, *new_job, now - 1s);
  EXPECT_EQ(store.evict(now), 1u);
  EXPECT_EQ(store.find(old_job->id), nullptr);
  EXPECT_NE(store.find(new_job->id), nullptr);
}

TEST(job_store_test, list_filters_and_pages_with_a_cursor) {
  job_store store{100, 3600s};
  std::vector<std::shared_ptr<job>> jobs;
  for (int i = 0; i < 7; ++i)
    jobs.push_back(store.create(spec(i % 2 ? "sum" : "echo"), proto::lane::thread));
  finish(store, *jobs[0]);

  auto page = store.list({.type = "echo", .limit = 2});
  ASSERT_EQ(page.jobs.size(), 2u);
  EXPECT_EQ(page.jobs[0], jobs[0]);
  EXPECT_EQ(page.jobs[1], jobs[2]);
  ASSERT_TRUE(page.next.has_value());
  page = store.list({.type = "echo", .limit = 2, .after = page.next});
  ASSERT_EQ(page.jobs.size(), 2u);
  EXPECT_EQ(page.jobs[0], jobs[4]);
  EXPECT_EQ(page.jobs[1], jobs[6]);
  EXPECT_FALSE(page.next.has_value()) << "no further match, no cursor";

  EXPECT_EQ(store.list({.state = proto::job_state::succeeded}).jobs.size(), 1u);
  EXPECT_EQ(store.list({.state = proto::job_state::queued}).jobs.size(), 6u);
  // A cursor whose job was evicted still works: it is a position, not a reference.
  page = store.list({.after = jobs[0]->id});
  EXPECT_EQ(page.jobs.front(), jobs[1]);
}

}  // namespace
}  // namespace offload::core
