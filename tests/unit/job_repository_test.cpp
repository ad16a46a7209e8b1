// The repository contract, run against every store: the memory one and SQLite (a real file in a temp dir).
// What a store must do for the job service: keep what it is given, find finished jobs by id and key, list
// every job in order with cursors, apply retention, and (when durable) give back after a restart exactly
// what was stored.
#include "core/store/memory_repository.hpp"
#include "core/store/sqlite_repository.hpp"
#include "support/proc_helpers.hpp"
#include "support/run_to_end.hpp"

#include <offload/proto/job_event.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <sqlite3.h>

namespace offload::core {
namespace {

using namespace std::chrono_literals;
using proto::job_state;

enum class backend { memory, sqlite };

std::string name_of(const ::testing::TestParamInfo<backend>& info) {
  return info.param == backend::memory ? "memory" : "sqlite";
}

class job_repository_test : public ::testing::TestWithParam<backend> {
 protected:
  void SetUp() override { open(); }
  void TearDown() override {
    if (store_) store_->close();
  }

  // (Re)opens the store: for SQLite, on the same directory.
  void open(std::size_t retain_jobs = 100, std::chrono::seconds retain_for = 3600s,
            std::uint64_t retain_bytes = 1ull << 30) {
    if (store_) store_->close();
    store_.reset();
    if (GetParam() == backend::memory) {
      store_ = std::make_unique<memory_repository>(retain_jobs, retain_for, retain_bytes);
    } else {
      sqlite_options options;
      options.dir = dir_.path() / "data";
      options.retain_jobs = retain_jobs;
      options.retain_for = retain_for;
      options.retain_bytes = retain_bytes;
      auto opened = sqlite_repository::open(ioc_.get_executor(), options);
      ASSERT_TRUE(opened.has_value()) << opened.error().message;
      store_ = std::move(*opened);
    }
    recovered_ = await(store_->async_recover());
  }

  template <class T>
  T await(boost::asio::awaitable<T> op) {
    return test::run_to_end(ioc_, std::move(op));
  }
  void flush() { test::run_to_end(ioc_, store_->async_flush()); }
  void turn() { test::turn(ioc_); }

  // A stored queued job.
  std::shared_ptr<job> add(std::string type = "echo", std::optional<std::string> key = std::nullopt) {
    proto::job_spec spec;
    spec.type = std::move(type);
    spec.input = {{"text", "hello"}};
    spec.idempotency_key = std::move(key);
    auto j = store_->make(std::move(spec), proto::lane::thread, slot_pool::thread);
    j->events.append(proto::event_type::queued, {{"lane", "thread"}, {"priority", 5}}, j->created_at);
    EXPECT_FALSE(await(store_->async_add(j)).has_value());
    return j;
  }

  // Runs `j` to `succeeded` as the service would: a started event, progress, the terminal record.
  void finish(const std::shared_ptr<job>& j, nlohmann::json result = {{"ok", true}}) {
    j->state = job_state::running;
    j->started_at = job::clock::now();
    j->events.append(proto::event_type::started, nlohmann::json::object());
    store_->save(*j, std::span{&j->events.events().back(), 1}, true);
    j->events.append(proto::event_type::progress, {{"fraction", 0.5}, {"note", "half"}});
    j->progress = proto::job_progress{0.5, "half"};
    store_->save(*j, std::span{&j->events.events().back(), 1}, true);
    j->state = job_state::succeeded;
    j->finished_at = job::clock::now();
    const auto& frame = j->events.append(proto::event_type::succeeded, {{"result", result}}).frame;
    j->result = job_result::from_frame(frame);
    store_->save(*j, std::span{&j->events.events().back(), 1}, true);
    store_->finished(j);
  }

  bool durable() const { return GetParam() == backend::sqlite; }

  boost::asio::io_context ioc_{1};
  test::temp_dir dir_;
  std::unique_ptr<job_repository> store_;
  proto::result<recovered_jobs> recovered_ = recovered_jobs{};
};

// The contract a durable store adds: what survives a restart, and how writes become durable.
class durable_repository_test : public job_repository_test {};

TEST_P(job_repository_test, a_finished_job_is_found_by_id_and_key_with_its_whole_log) {
  auto j = add("echo", "key-1");
  finish(j, {{"answer", 42}});
  if (durable()) open();  // read back from disk, not from memory
  const auto found = await(store_->async_find(j->id));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->id, j->id);
  EXPECT_EQ(found->spec, j->spec);
  EXPECT_EQ(found->state, job_state::succeeded);
  ASSERT_TRUE(found->result.has_value());
  EXPECT_EQ(found->result->value(), (nlohmann::json{{"answer", 42}}));
  if (!durable()) {
    EXPECT_EQ(found->result->owner(), found->events.events().back().frame) << "one copy: the terminal frame";
  }
  ASSERT_TRUE(found->progress.has_value());
  EXPECT_EQ(found->progress->note, "half");
  ASSERT_EQ(found->events.events().size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(found->events.events()[i].seq, i + 1);
    EXPECT_EQ(*found->events.events()[i].frame, *j->events.events()[i].frame)
        << "frames are kept byte for byte";
  }
  EXPECT_EQ(found->view().last_seq, 4u);
  EXPECT_EQ(await(store_->async_find_by_key("key-1"))->id, j->id);
  EXPECT_EQ(await(store_->async_find_by_key("key-2")), nullptr);
  std::string forged = j->id;
  forged.back() = forged.back() == '0' ? '1' : '0';
  EXPECT_EQ(await(store_->async_find(forged)), nullptr) << "the random part of the id must match";
  EXPECT_EQ(store_->finished_count(), 1u);
}

TEST_P(job_repository_test, listing_is_in_submission_order_with_filters_and_cursors) {
  std::vector<std::shared_ptr<job>> jobs;
  for (int i = 0; i < 7; ++i)
    jobs.push_back(add(i % 2 ? "sum" : "echo"));
  finish(jobs[0]);
  flush();
  job_filter filter;
  filter.type = "echo";
  filter.limit = 2;
  auto page = await(store_->async_list(filter));
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->jobs.size(), 2u);
  EXPECT_EQ(page->jobs[0].id, jobs[0]->id);
  EXPECT_EQ(page->jobs[0].state, job_state::succeeded);
  EXPECT_EQ(page->jobs[0].last_seq, 4u);
  EXPECT_EQ(page->jobs[1].id, jobs[2]->id);
  ASSERT_TRUE(page->next.has_value());
  filter.after = page->next;
  page = await(store_->async_list(filter));
  ASSERT_EQ(page->jobs.size(), 2u);
  EXPECT_EQ(page->jobs[0].id, jobs[4]->id);
  EXPECT_EQ(page->jobs[1].id, jobs[6]->id);
  EXPECT_FALSE(page->next.has_value());

  job_filter failed;
  failed.state = job_state::succeeded;
  EXPECT_EQ(await(store_->async_list(failed))->jobs.size(), 1u);
  job_filter queued;
  queued.state = job_state::queued;
  EXPECT_EQ(await(store_->async_list(queued))->jobs.size(), 6u);
}

TEST_P(job_repository_test, listing_newest_first_pages_toward_older_jobs) {
  std::vector<std::shared_ptr<job>> jobs;
  for (int i = 0; i < 7; ++i)
    jobs.push_back(add(i % 2 ? "sum" : "echo"));
  finish(jobs[0]);
  finish(jobs[6]);
  flush();
  job_filter filter;
  filter.newest_first = true;
  filter.type = "echo";
  filter.limit = 3;
  auto page = await(store_->async_list(filter));
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->jobs.size(), 3u);
  EXPECT_EQ(page->jobs[0].id, jobs[6]->id);
  EXPECT_EQ(page->jobs[1].id, jobs[4]->id);
  EXPECT_EQ(page->jobs[2].id, jobs[2]->id);
  ASSERT_EQ(page->next, jobs[2]->id);
  filter.after = page->next;
  page = await(store_->async_list(filter));
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_EQ(page->jobs[0].id, jobs[0]->id);
  EXPECT_FALSE(page->next.has_value());

  job_filter succeeded;
  succeeded.newest_first = true;
  succeeded.state = job_state::succeeded;
  page = await(store_->async_list(succeeded));
  ASSERT_EQ(page->jobs.size(), 2u);
  EXPECT_EQ(page->jobs[0].id, jobs[6]->id);
  EXPECT_EQ(page->jobs[1].id, jobs[0]->id);
  job_filter queued;
  queued.newest_first = true;
  queued.state = job_state::queued;
  queued.after = jobs[3]->id;
  page = await(store_->async_list(queued));
  ASSERT_EQ(page->jobs.size(), 2u);
  EXPECT_EQ(page->jobs[0].id, jobs[2]->id);
  EXPECT_EQ(page->jobs[1].id, jobs[1]->id);
}

// Listings are summaries unless results are asked for, and a page stops at its byte budget (always with at
// least one job), so one request cannot build an unbounded body.
TEST_P(job_repository_test, listings_are_summaries_and_pages_have_a_byte_budget) {
  std::vector<std::shared_ptr<job>> jobs;
  const std::string blob(300 * 1024, 'r');
  for (int i = 0; i < 10; ++i) {
    jobs.push_back(add());
    finish(jobs.back(), {{"blob", blob}, {"i", i}});
  }
  flush();
  job_filter summaries;
  auto page = await(store_->async_list(summaries));
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->jobs.size(), 10u) << "summaries are small: no budget reached";
  for (const auto& v : page->jobs) {
    EXPECT_EQ(v.state, job_state::succeeded);
    EXPECT_FALSE(v.result.has_value() || v.result_owner) << "a summary has no result";
    EXPECT_EQ(v.progress->note, "half");
  }
  job_filter full;
  full.with_results = true;
  std::vector<std::string> seen;
  for (;;) {
    page = await(store_->async_list(full));
    ASSERT_TRUE(page.has_value());
    ASSERT_FALSE(page->jobs.empty());
    EXPECT_LE(page->jobs.size(), 4u) << "about 1 MiB of results per page";
    for (const auto& v : page->jobs) {
      ASSERT_TRUE(v.result_owner);
      EXPECT_EQ(nlohmann::json::parse(v.result_text)["i"], static_cast<int>(seen.size()));
      seen.push_back(v.id);
    }
    if (!page->next) break;
    full.after = page->next;
  }
  EXPECT_EQ(seen.size(), 10u) << "every job, page after page";
  // A single result larger than the budget still comes, alone.
  auto big = add();
  finish(big, {{"blob", std::string(2 * 1024 * 1024, 'x')}});
  flush();
  full.after = jobs.back()->id;
  page = await(store_->async_list(full));
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_EQ(page->jobs[0].id, big->id);
}

TEST_P(job_repository_test, retention_by_count_removes_the_oldest_finished_jobs) {
  open(2);
  std::vector<std::shared_ptr<job>> jobs;
  for (int i = 0; i < 4; ++i) {
    jobs.push_back(add());
    finish(jobs.back());
  }
  const auto unfinished = add();
  store_->evict(job::clock::now(), 1000);
  flush();
  turn();
  EXPECT_EQ(store_->finished_count(), 2u);
  EXPECT_EQ(await(store_->async_find(jobs[0]->id)), nullptr);
  EXPECT_EQ(await(store_->async_find(jobs[1]->id)), nullptr);
  EXPECT_NE(await(store_->async_find(jobs[3]->id)), nullptr);
  EXPECT_EQ(await(store_->async_list(job_filter{}))->jobs.size(), 3u) << "two finished, one unfinished";
  if (durable()) {
    open(2);
    EXPECT_EQ(recovered_->finished, 2u);
  }
}

TEST_P(job_repository_test, retention_by_age) {
  open(100, 0s);
  auto old_job = add();
  finish(old_job);
  store_->evict(job::clock::now() + 1s, 1000);
  flush();
  turn();
  EXPECT_EQ(await(store_->async_find(old_job->id)), nullptr);
  EXPECT_EQ(store_->finished_count(), 0u);
}

// What a durable store gives back after a restart: unfinished jobs, oldest first, in their stored state,
// with their logs; finished ones stay findable; new ids continue after the old ones.
TEST_P(durable_repository_test, a_restart_gives_back_what_was_stored) {
  auto done = add("echo", "done-key");
  finish(done);
  auto queued = add("sum");
  auto running = add("sleep");
  running->state = job_state::running;
  running->attempt = 2;
  running->earlier_errors.push_back({proto::errc::crashed, "SIGSEGV"});
  running->events.append(proto::event_type::started, {{"attempt", 2}});
  store_->save(*running, std::span{&running->events.events().back(), 1}, true);
  // An unacknowledged job never reaches the store: nothing of it comes back.
  open();
  ASSERT_TRUE(recovered_.has_value());
  ASSERT_EQ(recovered_->unfinished.size(), 2u);
  EXPECT_EQ(recovered_->unfinished[0]->id, queued->id);
  EXPECT_EQ(recovered_->unfinished[0]->state, job_state::queued);
  EXPECT_EQ(recovered_->unfinished[0]->spec, queued->spec);
  EXPECT_EQ(recovered_->unfinished[1]->id, running->id);
  EXPECT_EQ(recovered_->unfinished[1]->state, job_state::running);
  EXPECT_EQ(recovered_->unfinished[1]->attempt, 2u);
  EXPECT_EQ(recovered_->unfinished[1]->earlier_errors.size(), 1u);
  EXPECT_EQ(recovered_->unfinished[1]->events.last_seq(), 2u);
  EXPECT_EQ(recovered_->finished, 1u);
  EXPECT_EQ(await(store_->async_find_by_key("done-key"))->id, done->id);
  const auto next = store_->make(proto::job_spec{}, proto::lane::thread, slot_pool::thread);
  EXPECT_GT(next->seq, running->seq) << "ids are never reused";
}

// --retain-bytes: finished jobs whose specs and logs hold more bytes than the bound go, oldest first, down to
// the bound; the count of bytes survives a restart.
TEST_P(durable_repository_test, retention_by_bytes_deletes_the_oldest_down_to_the_bound) {
  open(100, 3600s, 4000);
  std::vector<std::shared_ptr<job>> jobs;
  for (int i = 0; i < 10; ++i) {
    jobs.push_back(add());
    finish(jobs.back(), {{"padding", std::string(500, 'x')}});
  }
  store_->evict(job::clock::now(), 1000);
  flush();
  turn();
  const auto kept = store_->finished_count();
  EXPECT_GE(kept, 3u);
  EXPECT_LE(kept, 6u) << "each job holds about 800 bytes; 4000 keep about five";
  EXPECT_EQ(await(store_->async_find(jobs[0]->id)), nullptr) << "the oldest goes first";
  EXPECT_NE(await(store_->async_find(jobs[9]->id)), nullptr);
  open(100, 3600s, 4000);
  EXPECT_EQ(recovered_->finished, kept);
  store_->evict(job::clock::now(), 1000);
  flush();
  turn();
  EXPECT_EQ(store_->finished_count(), kept) << "already within the bound: nothing more goes";
}

// --store memory has a byte bound too: finished jobs beyond it go, oldest first, by what they are reckoned
// to hold (frames, which hold the result, plus the parsed input at twice its JSON size).
TEST(memory_repository_test, retention_by_bytes_evicts_the_oldest_down_to_the_bound) {
  memory_repository store{100, 3600s, 1024 * 1024};
  boost::asio::io_context ioc{1};
  std::vector<std::shared_ptr<job>> jobs;
  for (int i = 0; i < 10; ++i) {
    proto::job_spec spec;
    spec.type = "echo";
    spec.input = {{"blob", std::string(100 * 1024, 'i')}};
    auto j = store.make(std::move(spec), proto::lane::thread, slot_pool::thread);
    EXPECT_FALSE(test::run_to_end(ioc, store.async_add(j)).has_value());
    j->state = job_state::succeeded;
    j->finished_at = job::clock::now();
    j->result = job_result::from_frame(
        j->events.append(proto::event_type::succeeded, {{"result", j->spec.input}}).frame);
    store.finished(j);
    jobs.push_back(j);
  }
  // Each: 2 × 100 KiB of input and 100 KiB of terminal frame holding the result (its only copy): 300 KiB.
  EXPECT_GE(job_store::retained_bytes(*jobs[0]), 300u * 1024);
  EXPECT_LT(job_store::retained_bytes(*jobs[0]), 320u * 1024);
  store.evict(job::clock::now(), 1000);
  EXPECT_EQ(store.finished_count(), 3u) << "1 MiB holds three of them";
  EXPECT_EQ(test::run_to_end(ioc, store.async_find(jobs[6]->id)), nullptr) << "the oldest go first";
  EXPECT_NE(test::run_to_end(ioc, store.async_find(jobs[9]->id)), nullptr);
}

// The log is checkpointed into the database by the checkpointer thread as it grows: the data reaches
// offload.db while the store runs, and the log stays bounded (it once grew to 12 GB, every checkpoint a
// no-op).
TEST_P(durable_repository_test, the_log_is_checkpointed_into_the_database_while_it_runs) {
  const auto db = dir_.path() / "data" / "offload.db";
  const auto wal = dir_.path() / "data" / "offload.db-wal";
  const auto before = std::filesystem::file_size(db);
  for (int i = 0; i < 3000; ++i) {
    proto::job_spec spec;
    spec.type = "echo";
    spec.input = {{"pad", std::string(4000, 'p')}, {"i", i}};
    auto j = store_->make(std::move(spec), proto::lane::thread, slot_pool::thread);
    j->events.append(proto::event_type::queued, {{"lane", "thread"}, {"priority", 5}});
    ASSERT_FALSE(await(store_->async_add(j)).has_value());
  }
  test::turn_until(
      ioc_, [&] { return std::filesystem::file_size(db) > before + 8 * 1024 * 1024; },
      "the checkpointer to copy the log into offload.db");
  EXPECT_LE(std::filesystem::file_size(wal), 80u * 1024 * 1024);
}

TEST_P(durable_repository_test, a_second_job_with_a_used_key_is_refused_without_harm) {
  auto first = add("echo", "same");
  proto::job_spec spec;
  spec.type = "echo";
  spec.idempotency_key = "same";
  auto second = store_->make(spec, proto::lane::thread, slot_pool::thread);
  const auto refused = await(store_->async_add(second));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->code, proto::errc::storage_unavailable);
  EXPECT_FALSE(store_->health().has_value()) << "one refused insert is not a broken store";
  EXPECT_NE(await(store_->async_find(first->id)), nullptr);
}

// Acknowledged means committed: while another connection holds the database's write lock, a new job's
// `async_add` does not complete; it completes once the lock is gone and the job's row is on disk.
TEST_P(durable_repository_test, a_new_job_is_acknowledged_only_after_its_commit) {
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "data" / "offload.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  proto::job_spec spec;
  spec.type = "echo";
  auto j = store_->make(spec, proto::lane::thread, slot_pool::thread);
  j->events.append(proto::event_type::queued, {{"lane", "thread"}, {"priority", 5}});
  std::optional<std::optional<proto::error>> added;
  boost::asio::co_spawn(ioc_, store_->async_add(j),
                        [&added](std::exception_ptr, std::optional<proto::error> e) { added = e; });
  const auto until = std::chrono::steady_clock::now() + 300ms;
  while (std::chrono::steady_clock::now() < until)
    turn();
  EXPECT_FALSE(added.has_value()) << "acknowledged before its transaction committed";

  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!added && std::chrono::steady_clock::now() < deadline)
    turn();
  ASSERT_TRUE(added.has_value());
  EXPECT_FALSE(added->has_value());
  sqlite3_stmt* count = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(other, "SELECT count(*) FROM jobs WHERE id = ?1", -1, &count, nullptr),
            SQLITE_OK);
  sqlite3_bind_text(count, 1, j->id.c_str(), -1, SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(count, 0), 1) << "the acknowledged job is on disk";
  sqlite3_finalize(count);
  sqlite3_close(other);
}

// A database this build creates has 1 KiB pages (a quarter of the log's bytes per commit); one that an
// earlier build created with SQLite's 4 KiB pages opens as it is, keeps its pages, and serves.
TEST_P(durable_repository_test, new_databases_have_small_pages_and_older_ones_keep_theirs) {
  const auto path = (dir_.path() / "data" / "offload.db").string();
  const auto page_size = [&path] {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* query = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &query, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(query), SQLITE_ROW);
    const int size = sqlite3_column_int(query, 0);
    sqlite3_finalize(query);
    sqlite3_close(db);
    return size;
  };
  auto first = add("echo", "k1");
  finish(first);
  flush();
  store_->close();
  EXPECT_EQ(page_size(), 1024);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "PRAGMA journal_mode = DELETE; PRAGMA page_size = 4096; VACUUM; "
                         "PRAGMA journal_mode = WAL",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  ASSERT_EQ(page_size(), 4096);

  open();
  const auto found = await(store_->async_find(first->id));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->state, job_state::succeeded);
  EXPECT_EQ(found->events.events().size(), first->events.events().size());
  auto second = add("echo", "k2");
  finish(second);
  flush();
  store_->close();
  EXPECT_EQ(page_size(), 4096);
  open();
  EXPECT_NE(await(store_->async_find(second->id)), nullptr);
}

INSTANTIATE_TEST_SUITE_P(stores, job_repository_test, ::testing::Values(backend::memory, backend::sqlite),
                         name_of);
INSTANTIATE_TEST_SUITE_P(stores, durable_repository_test, ::testing::Values(backend::sqlite), name_of);

// SQLite refuses what it must not touch, naming the path.
class sqlite_open_test : public ::testing::Test {
 protected:
  proto::result<std::unique_ptr<sqlite_repository>> open(const std::filesystem::path& dir) {
    sqlite_options options;
    options.dir = dir;
    return sqlite_repository::open(ioc_.get_executor(), options);
  }
  boost::asio::io_context ioc_{1};
  test::temp_dir dir_;
};

TEST_F(sqlite_open_test, a_second_store_on_the_same_directory_is_refused) {
  auto first = open(dir_.path());
  ASSERT_TRUE(first.has_value()) << first.error().message;
  const auto second = open(dir_.path());
  ASSERT_FALSE(second.has_value());
  EXPECT_NE(second.error().message.find("in use by another offloadd"), std::string::npos)
      << second.error().message;
  (*first)->close();
  EXPECT_TRUE(open(dir_.path()).has_value()) << "the lock goes with the store";
}

TEST_F(sqlite_open_test, a_corrupt_or_foreign_file_is_refused_and_left_alone) {
  const auto garbage = std::string(8192, 'x');
  dir_.write("offload.db", garbage);
  const auto corrupt = open(dir_.path());
  ASSERT_FALSE(corrupt.has_value());
  EXPECT_NE(corrupt.error().message.find("offload.db"), std::string::npos) << corrupt.error().message;
  EXPECT_NE(corrupt.error().message.find("does not overwrite"), std::string::npos) << corrupt.error().message;
  std::ifstream in{dir_.path() / "offload.db"};
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>{in}, {}), garbage) << "the file is untouched";
}

TEST_F(sqlite_open_test, a_directory_that_cannot_be_created_is_named) {
  const auto file = dir_.write("plain-file", "not a directory");
  const auto refused = open(std::filesystem::path{file} / "data");
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find(file), std::string::npos) << refused.error().message;
}

// SQLite keeps no memory statistics: with them, each of its allocations takes a process-wide mutex (5 % of
// the store thread's time under load). The setting only takes before SQLite initialises, which the first
// store of the process does; ctest runs each test in a process of its own.
TEST_F(sqlite_open_test, sqlite_keeps_no_memory_statistics) {
  auto store = open(dir_.path());
  ASSERT_TRUE(store.has_value()) << store.error().message;
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "offload.db").c_str(), &other), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(other, "SELECT count(*) FROM jobs", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_memory_used(), 0) << "SQLite counts its allocations";
  EXPECT_EQ(sqlite3_memory_highwater(0), 0);
  sqlite3_close(other);
  (*store)->close();
}

}  // namespace
}  // namespace offload::core
