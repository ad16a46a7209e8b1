// The Redis store against a real redis-server, as two nodes would use it (two repositories with their own
// connections and node names on one reactor): storing, idempotency keys, the shared queue's order, delayed
// jobs, leases and fencing, listings, retention, and writes kept while Redis is away.
#include "core/store/redis/redis_repository.hpp"

#include "core/store/job_codec.hpp"
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"
#include "support/proc_helpers.hpp"
#include "support/redis_server.hpp"
#include "support/run_with_deadline.hpp"
#include "support/ws_client.hpp"

#include <offload/asio_support.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <functional>
#include <map>

namespace offload::core {
namespace {

using namespace std::chrono_literals;
using proto::job_state;
using test::redis_server;

class redis_repository_test : public ::testing::Test {
 protected:
  std::unique_ptr<redis_repository> open(const std::string& node, std::chrono::milliseconds lease = 10s,
                                         std::size_t retain_jobs = 1000,
                                         std::uint64_t max_pending_write_bytes = 64ull << 20) {
    redis_options o;
    o.max_pending_write_bytes = max_pending_write_bytes;
    o.endpoint = redis_endpoint::parse(server_.url()).value();
    o.node = node;
    o.lease = lease;
    o.retain_jobs = retain_jobs;
    o.connection.min_backoff = 20ms;
    o.connection.max_backoff = 100ms;
    auto repo = std::make_unique<redis_repository>(ioc_.get_executor(), o);
    EXPECT_TRUE(await(repo->async_connect(10s)));
    EXPECT_TRUE(await(repo->async_recover()).has_value());
    return repo;
  }

  template <class T>
  T await(asio::awaitable<T> op) {
    return test::run_until_complete(ioc_, std::move(op), 20s);
  }

  std::shared_ptr<job> add(redis_repository& repo, const std::string& type = "echo", int priority = 5,
                           std::optional<std::string> key = std::nullopt,
                           std::optional<std::int64_t> delay_ms = {}) {
    proto::job_spec spec;
    spec.type = type;
    spec.input = {{"text", "hello"}};
    spec.priority = priority;
    spec.idempotency_key = std::move(key);
    auto j = repo.make(std::move(spec), proto::lane::thread, slot_pool::thread);
    if (delay_ms) j->not_before = j->created_at + std::chrono::milliseconds{*delay_ms};
    j->events.append(proto::event_type::queued, {{"lane", "thread"}, {"priority", priority}}, j->created_at);
    const auto failed = await(repo.async_add(j));
    EXPECT_FALSE(failed.has_value()) << failed->message;
    return j;
  }

  /// A new queued echo job of `repo`, not added yet.
  static std::shared_ptr<job> fresh(redis_repository& repo, const std::string& type = "echo",
                                    std::optional<std::string> key = std::nullopt) {
    proto::job_spec spec;
    spec.type = type;
    spec.idempotency_key = std::move(key);
    auto j = repo.make(std::move(spec), proto::lane::thread, slot_pool::thread);
    j->events.append(proto::event_type::queued, {{"lane", "thread"}}, j->created_at);
    return j;
  }

  /// Adds `jobs` from one reactor turn (so in one batch) and runs until each add has its answer.
  std::vector<std::optional<proto::error>> add_in_one_turn(redis_repository& repo,
                                                           const std::vector<std::shared_ptr<job>>& jobs) {
    std::vector<std::optional<std::optional<proto::error>>> outcomes(jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i)
      asio::co_spawn(
          ioc_, repo.async_add(jobs[i]),
          [&outcomes, i](std::exception_ptr, std::optional<proto::error> e) { outcomes[i] = std::move(e); });
    const auto answered = [&] {
      return std::all_of(outcomes.begin(), outcomes.end(), [](auto& o) { return o.has_value(); });
    };
    ioc_.restart();
    for (const auto deadline = std::chrono::steady_clock::now() + 20s;
         !answered() && std::chrono::steady_clock::now() < deadline;)
      ioc_.run_one_for(100ms);
    std::vector<std::optional<proto::error>> out;
    for (auto& o : outcomes)
      out.push_back(o ? std::move(*o) : proto::error{proto::errc::internal, "no answer within 20 s"});
    return out;
  }

  /// Runs the handlers that are ready until `done` holds (or throws after `limit`, naming `what`).
  void poll_until(const std::function<bool()>& done, const char* what, std::chrono::milliseconds limit) {
    test::wait_until(
        [&] {
          ioc_.poll();
          return done();
        },
        what, limit);
  }

  std::shared_ptr<job> claim(redis_repository& repo, std::vector<std::string> queues) {
    auto r = await(repo.async_claim(std::move(queues), 1, {}, 1));
    EXPECT_TRUE(r.has_value()) << r.error().message;
    EXPECT_LE(r->claimed.size(), 1u);
    return r && !r->claimed.empty() ? r->claimed.front() : nullptr;
  }

  /// Writes a claimed job's start (record and `started` event) as the service would; not flushed.
  static void save_started(redis_repository& repo, job& j) {
    j.state = job_state::running;
    j.started_at = job::clock::now();
    repo.save(j, std::span{&j.events.append(proto::event_type::started, {{"attempt", 1}}, *j.started_at), 1},
              true);
  }
  /// Writes a started job's end (record and `succeeded` event) and marks it finished; not flushed.
  static void save_succeeded(redis_repository& repo, const std::shared_ptr<job>& j) {
    j->state = job_state::succeeded;
    j->finished_at = job::clock::now();
    repo.save(*j,
              std::span{&j->events.append(proto::event_type::succeeded, {{"result", 7}}, *j->finished_at), 1},
              true);
    repo.finished(j);
  }

  /// Runs a claimed job to `succeeded` as the service would: started, the terminal record, finished.
  void succeed(redis_repository& repo, job& j, nlohmann::json result) {
    j.state = job_state::running;
    j.started_at = job::clock::now();
    const auto first = j.events.events().size();
    j.events.append(proto::event_type::started, {{"attempt", j.attempt}}, *j.started_at);
    j.state = job_state::succeeded;
    j.finished_at = job::clock::now();
    const auto& terminal =
        j.events.append(proto::event_type::succeeded, {{"result", result}}, *j.finished_at);
    j.result = job_result::from_frame(terminal.frame);
    repo.save(j, std::span{j.events.events()}.subspan(first), true);
    repo.finished(std::shared_ptr<job>(std::shared_ptr<job>{}, &j));
  }

  redis_server server_{{.appendonly = true}};
  asio::io_context ioc_;
  const std::string echo_queue = redis_repository::queue_of(proto::lane::thread, "echo");
  const std::string sum_queue = redis_repository::queue_of(proto::lane::thread, "sum");
};

TEST_F(redis_repository_test, a_stored_job_is_found_by_id_and_key_with_its_log) {
  auto repo = open("a");
  const auto j = add(*repo, "echo", 5, "key-1");
  const auto found = await(repo->async_find(j->id));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, j->id);
  EXPECT_EQ(found->seq, j->seq);
  EXPECT_EQ(found->state, job_state::queued);
  EXPECT_EQ(found->spec, j->spec);
  ASSERT_EQ(found->events.events().size(), 1u);
  EXPECT_EQ(*found->events.events()[0].frame, *j->events.events()[0].frame);
  EXPECT_EQ(await(repo->async_find_by_key("key-1"))->id, j->id);
  EXPECT_FALSE(await(repo->async_find_by_key("key-2")));
  EXPECT_FALSE(await(repo->async_find("000000000001deadbeef")));
  EXPECT_FALSE(await(repo->async_find("not-an-id")));
}

TEST_F(redis_repository_test, an_idempotency_key_is_global_across_nodes) {
  auto a = open("a");
  auto b = open("b");
  const auto first = add(*a, "echo", 5, "shared-key");
  proto::job_spec spec;
  spec.type = "echo";
  spec.idempotency_key = "shared-key";
  auto second = b->make(std::move(spec), proto::lane::thread, slot_pool::thread);
  const auto refused = await(b->async_add(second));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, proto::errc::idempotency_conflict);
  EXPECT_NE(refused->message.find(first->id), std::string::npos) << refused->message;
  // Nothing of the refused job was stored.
  EXPECT_FALSE(await(b->async_find(second->id)));
  EXPECT_EQ(server_.call({"ZCARD", "offload:jobs"}), 1);
}

TEST_F(redis_repository_test, ids_are_unique_across_nodes) {
  auto a = open("a");
  auto b = open("b");
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    ids.insert(add(*a)->id);
    ids.insert(add(*b)->id);
  }
  EXPECT_EQ(ids.size(), 100u);
}

TEST_F(redis_repository_test, claims_take_the_highest_priority_then_the_oldest_across_types) {
  auto a = open("a");
  const auto low = add(*a, "echo", 2);
  const auto high_old = add(*a, "sum", 8);
  const auto high_new = add(*a, "echo", 8);
  const auto mid = add(*a, "sum", 5);
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    auto j = claim(*a, {echo_queue, sum_queue});
    ASSERT_TRUE(j);
    EXPECT_EQ(j->claim, 1u);
    order.push_back(j->id);
  }
  EXPECT_EQ(order, (std::vector<std::string>{high_old->id, high_new->id, mid->id, low->id}));
  EXPECT_FALSE(claim(*a, {echo_queue, sum_queue}));
}

TEST_F(redis_repository_test, one_claim_takes_several_jobs_in_order_and_stops_at_the_end_of_the_queues) {
  auto a = open("a");
  const auto first = add(*a, "sum", 9);
  const auto second = add(*a, "echo", 7);
  const auto third = add(*a, "echo", 7);
  auto got = await(a->async_claim({echo_queue, sum_queue}, 2, {}, 0));
  ASSERT_TRUE(got);
  ASSERT_EQ(got->claimed.size(), 2u);
  EXPECT_EQ(got->claimed[0]->id, first->id);
  EXPECT_EQ(got->claimed[1]->id, second->id);
  got = await(a->async_claim({echo_queue, sum_queue}, 5, {}, 0));
  ASSERT_EQ(got->claimed.size(), 1u);
  EXPECT_EQ(got->claimed[0]->id, third->id);
  EXPECT_EQ(got->claimed[0]->claim, 1u);
}

// A pool claims ahead (beyond its free slots) only from the queues of its short jobs: the claim honours a
// bound per queue.
TEST_F(redis_repository_test, a_claim_takes_no_more_from_a_queue_than_its_bound) {
  auto a = open("a");
  const auto sum_high = add(*a, "sum", 9);
  const auto echo_first = add(*a, "echo", 7);
  add(*a, "echo", 7);
  const auto sum_low = add(*a, "sum", 1);
  auto got = await(a->async_claim({echo_queue, sum_queue}, 4, {1, 0}, 0));
  ASSERT_TRUE(got);
  ASSERT_EQ(got->claimed.size(), 1u);
  EXPECT_EQ(got->claimed[0]->id, echo_first->id);
  got = await(a->async_claim({echo_queue, sum_queue}, 4, {0, 5}, 0));
  ASSERT_TRUE(got);
  ASSERT_EQ(got->claimed.size(), 2u);
  EXPECT_EQ(got->claimed[0]->id, sum_high->id);
  EXPECT_EQ(got->claimed[1]->id, sum_low->id);
}

// Group commit: the submissions (and the writes) of one reactor turn reach Redis in one script, each with its
// own answer; a duplicate idempotency key within the batch is refused for the second job alone.
TEST_F(redis_repository_test, the_adds_of_one_turn_go_to_redis_in_one_call) {
  auto a = open("a");
  server_.call({"CONFIG", "RESETSTAT"});
  std::vector<std::shared_ptr<job>> jobs;
  for (std::size_t i = 0; i < 20; ++i)
    jobs.push_back(fresh(*a, "echo", i >= 18 ? std::optional<std::string>{"same-key"} : std::nullopt));
  const auto outcomes = add_in_one_turn(*a, jobs);
  for (std::size_t i = 0; i < 19; ++i)
    EXPECT_FALSE(outcomes[i].has_value()) << i << ": " << outcomes[i]->message;
  ASSERT_TRUE(outcomes[19].has_value());
  EXPECT_EQ(outcomes[19]->code, proto::errc::idempotency_conflict);
  EXPECT_EQ(server_.call({"ZCARD", "offload:jobs"}), 19);
  EXPECT_EQ(server_.call({"ZCARD", echo_queue}), 19);
  const auto stats = server_.call({"INFO", "commandstats"}).get<std::string>();
  EXPECT_NE(stats.find("cmdstat_evalsha:calls=1,"), std::string::npos) << stats;
}

// Writes wait for the batch in flight (so that batches grow with the load) until enough of them wait: then a
// second batch goes at once, never a third. Redis applies the two in the order sent: a job started in the
// first and ended in the second ends succeeded, its events in order. (Redis is paused meanwhile, so that no
// answer comes between.)
TEST_F(redis_repository_test, a_second_batch_of_writes_goes_while_the_first_waits_once_enough_wait_for_it) {
  auto a = open("a");
  auto b = open("b");
  for (int i = 0; i < 32; ++i)
    add(*a);
  auto claimed = await(a->async_claim({echo_queue}, 32, {}, 32));
  ASSERT_TRUE(claimed);
  auto& jobs = claimed->claimed;
  ASSERT_EQ(jobs.size(), 32u);
  server_.call({"CLIENT", "PAUSE", "10000", "WRITE"});
  std::optional<std::size_t> first_alone, fifteen_waiting, sixteen_waiting, sixteen_more;
  asio::post(ioc_, [&] {
    save_started(*a, *jobs[0]);  // sent at the end of this turn
    asio::post(ioc_, [&] {
      first_alone = a->write_batches_in_flight();
      for (std::size_t i = 1; i < 16; ++i)
        save_started(*a, *jobs[i]);
      asio::post(ioc_, [&] {
        fifteen_waiting = a->write_batches_in_flight();
        save_succeeded(*a, jobs[0]);
        asio::post(ioc_, [&] {
          sixteen_waiting = a->write_batches_in_flight();
          for (std::size_t i = 16; i < 32; ++i)
            save_started(*a, *jobs[i]);
          asio::post(ioc_, [&] { sixteen_more = a->write_batches_in_flight(); });
        });
      });
    });
  });
  poll_until([&] { return sixteen_more.has_value(); }, "the writes of four turns", 10s);
  server_.call({"CLIENT", "UNPAUSE"});
  EXPECT_EQ(first_alone, 1u);
  EXPECT_EQ(fifteen_waiting, 1u) << "fifteen writes wait for the batch in flight";
  EXPECT_EQ(sixteen_waiting, 2u) << "sixteen go at once";
  EXPECT_EQ(sixteen_more, 2u) << "not a third batch";
  poll_until([&] { return a->write_batches_in_flight() == 0; }, "both batches answered", 10s);
  const auto done = await(b->async_find(jobs[0]->id));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, job_state::succeeded);
  std::vector<proto::event_type> types;
  for (const auto& e : done->events.events())
    types.push_back(e.type);
  EXPECT_EQ(types, (std::vector{proto::event_type::queued, proto::event_type::started,
                                proto::event_type::succeeded}));
  for (std::size_t i = 1; i < 32; ++i) {
    const auto running = await(b->async_find(jobs[i]->id));
    ASSERT_TRUE(running);
    EXPECT_EQ(running->state, job_state::running) << i;
  }
}

// A node with room for a job it accepts asks its add to claim it: Redis then stores the job as that node's
// (token 1, a lease) without queuing it, but only while nothing a claim would take first can wait (a job in
// any queue of the job's pool, a delayed job now due) and never a job that is not due itself.
TEST_F(redis_repository_test, an_add_claims_its_job_only_while_nothing_could_be_claimed_before_it) {
  auto a = open("a");
  a->set_pool_queues({{echo_queue, sum_queue}});
  const auto claiming = [&](const std::string& type, std::optional<std::int64_t> delay_ms = {}) {
    auto j = fresh(*a, type);
    if (delay_ms) j->not_before = j->created_at + std::chrono::milliseconds{*delay_ms};
    j->claim_at_add = true;
    const auto failed = await(a->async_add(j));
    EXPECT_FALSE(failed.has_value()) << failed->message;
    return j;
  };
  const auto first = claiming("echo");
  EXPECT_EQ(first->claim, 1u);
  EXPECT_EQ(first->owner, "a");
  EXPECT_EQ(server_.call({"HMGET", "offload:job:" + first->id, "owner", "claim"}),
            nlohmann::json({"a", "1"}));
  EXPECT_TRUE(server_.call({"ZSCORE", "offload:running", first->id}).is_string()) << "a lease";
  EXPECT_EQ(server_.call({"ZCARD", echo_queue}), 0);
  // Its writes are fenced by that token, as those of any claimed job.
  succeed(*a, *first, 7);
  await(a->async_flush());
  const auto done = await(a->async_find(first->id));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, job_state::succeeded);
  EXPECT_EQ(done->events.events().size(), 3u);

  // A job waiting in another queue of the pool would be claimed first: the next add only queues its job.
  const auto waiting = add(*a, "sum");
  const auto second = claiming("echo");
  EXPECT_EQ(second->claim, 0u);
  EXPECT_EQ(second->owner, "");
  EXPECT_EQ(server_.call({"ZCARD", echo_queue}), 1);
  EXPECT_EQ(server_.call({"HMGET", "offload:job:" + second->id, "owner", "claim"}),
            nlohmann::json({nullptr, nullptr}));
  auto both = await(a->async_claim({echo_queue, sum_queue}, 4, {}, 0));
  ASSERT_TRUE(both);
  ASSERT_EQ(both->claimed.size(), 2u);
  EXPECT_EQ(both->claimed[0]->id, waiting->id);
  EXPECT_EQ(both->claimed[1]->id, second->id);

  // A job not due yet is queued (delayed) and holds nothing back.
  const auto delayed = claiming("echo", 60000);
  EXPECT_EQ(delayed->claim, 0u);
  EXPECT_EQ(server_.call({"ZSCORE", "offload:delayed", delayed->id}).is_string(), true);
  EXPECT_EQ(claiming("echo")->claim, 1u);
  // A delayed job that is due would be claimed first.
  const auto due = add(*a, "sum", 5, std::nullopt, 1);
  test::wait_until([&] { return job::clock::now() > *due->not_before + 10ms; }, "the delayed job to be due");
  EXPECT_EQ(claiming("echo")->claim, 0u);
}

// In one call too: an add after one that queued its job only queues its own.
TEST_F(redis_repository_test, an_add_claims_nothing_behind_a_job_queued_in_the_same_call) {
  auto a = open("a");
  a->set_pool_queues({{echo_queue}});
  server_.call({"CONFIG", "RESETSTAT"});
  std::vector<std::shared_ptr<job>> jobs;
  for (std::size_t i = 0; i < 3; ++i) {
    jobs.push_back(fresh(*a));
    jobs.back()->claim_at_add = i != 1;
  }
  for (const auto& outcome : add_in_one_turn(*a, jobs))
    EXPECT_FALSE(outcome.has_value()) << outcome->message;
  EXPECT_EQ(jobs[0]->claim, 1u);
  EXPECT_EQ(jobs[1]->claim, 0u);
  EXPECT_EQ(jobs[2]->claim, 0u);
  EXPECT_EQ(server_.call({"ZRANGE", echo_queue, "0", "-1"}), nlohmann::json({jobs[1]->id, jobs[2]->id}));
  const auto stats = server_.call({"INFO", "commandstats"}).get<std::string>();
  EXPECT_NE(stats.find("cmdstat_evalsha:calls=1,"), std::string::npos) << "one call: " << stats;
}

// A node keeps the jobs it added until it claims them: Redis answers such a claim with the fencing token
// alone, and the node takes the very job it added; a job another node added is read whole.
TEST_F(redis_repository_test, a_claim_of_a_job_this_node_added_takes_it_without_reading_it_back) {
  auto a = open("a");
  auto b = open("b");
  const auto mine = add(*a);
  const auto theirs = add(*b);
  server_.call({"CONFIG", "RESETSTAT"});
  const auto first = claim(*a, {echo_queue});
  ASSERT_TRUE(first);
  EXPECT_EQ(first.get(), mine.get());
  EXPECT_EQ(first->claim, 1u);
  EXPECT_EQ(first->owner, "a");
  EXPECT_EQ(server_.call({"INFO", "commandstats"}).get<std::string>().find("cmdstat_hgetall"),
            std::string::npos);
  const auto second = claim(*a, {echo_queue});
  ASSERT_TRUE(second);
  EXPECT_NE(second.get(), theirs.get());
  EXPECT_EQ(second->id, theirs->id);
  EXPECT_EQ(second->spec, theirs->spec);
  EXPECT_EQ(second->claim, 1u);
  EXPECT_EQ(second->events.events().size(), 1u);
  EXPECT_NE(server_.call({"INFO", "commandstats"}).get<std::string>().find("cmdstat_hgetall:calls=1,"),
            std::string::npos);
}

// Two repositories of one name (as a node restarted under the same name while its predecessor still
// runs): Redis answers the claim as for a job the node added, the node does not hold it, and reads it.
TEST_F(redis_repository_test, a_claimed_job_the_node_does_not_hold_is_read_back) {
  auto claimer = open("same");
  auto adder = open("same");  // its seqs come after the claimer's first block
  const auto j = add(*adder);
  const auto got = claim(*claimer, {echo_queue});
  ASSERT_TRUE(got);
  EXPECT_NE(got.get(), j.get());
  EXPECT_EQ(got->id, j->id);
  EXPECT_EQ(got->spec, j->spec);
  EXPECT_EQ(got->claim, 1u);
  EXPECT_EQ(got->events.events().size(), 1u);
}

// A job shorter than a round trip to Redis starts and ends in one turn: its two writes are one.
TEST_F(redis_repository_test, the_writes_of_one_job_in_one_turn_go_to_redis_as_one) {
  auto a = open("a");
  add(*a);
  const auto j = claim(*a, {echo_queue});
  ASSERT_TRUE(j);
  server_.call({"CONFIG", "RESETSTAT"});
  save_started(*a, *j);
  save_succeeded(*a, j);
  await(a->async_flush());
  const auto stats = server_.call({"INFO", "commandstats"}).get<std::string>();
  // One fencing check, one record, both events.
  EXPECT_NE(stats.find("cmdstat_hmget:calls=1,"), std::string::npos) << stats;
  EXPECT_NE(stats.find("cmdstat_hset:calls=1,"), std::string::npos) << stats;
  EXPECT_NE(stats.find("cmdstat_xadd:calls=2,"), std::string::npos) << stats;
  const auto stored = await(a->async_find(j->id));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->state, job_state::succeeded);
  EXPECT_TRUE(stored->owner.empty());
  EXPECT_EQ(stored->events.events().size(), 3u);
  EXPECT_EQ(server_.call({"ZCARD", "offload:running"}), 0);
  EXPECT_EQ(server_.call({"ZCARD", "offload:finished"}), 1);
}

// A write sends only the fields of the record that changed since the node's last write (or its claim): a
// field changed behind its back (here by the test) stays as it is, and the record read back is whole.
TEST_F(redis_repository_test, a_write_sends_only_the_fields_that_changed) {
  auto a = open("a");
  auto b = open("b");
  add(*a);
  const auto j = claim(*a, {echo_queue});
  ASSERT_TRUE(j);
  const auto key = "offload:job:" + j->id;
  server_.call({"HSET", key, "attempt", "9"});
  save_started(*a, *j);
  await(a->async_flush());
  EXPECT_EQ(server_.call({"HGET", key, "state"}), "1");
  EXPECT_EQ(server_.call({"HGET", key, "attempt"}), "9");
  save_succeeded(*a, j);
  await(a->async_flush());
  const auto stored = await(b->async_find(j->id));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->state, job_state::succeeded);
  EXPECT_EQ(stored->attempt, 9u);
  ASSERT_TRUE(stored->started_at && stored->finished_at);
  EXPECT_EQ(to_micros(*stored->started_at), to_micros(*j->started_at));
  EXPECT_EQ(to_micros(*stored->finished_at), to_micros(*j->finished_at));
  EXPECT_TRUE(stored->owner.empty());
}

// A node is told of the changes other nodes make to jobs, not of its own (it made them), nor of new jobs
// (nobody follows a job before it exists).
TEST_F(redis_repository_test, a_node_is_told_of_changes_by_others_and_not_of_its_own) {
  auto a = open("a");
  auto b = open("b");
  std::vector<std::string> seen_by_a;
  shared_queue_events events;
  events.on_job_changed = [&](std::string_view id) { seen_by_a.emplace_back(id); };
  a->set_events(std::move(events));
  const auto start = [this](redis_repository& repo, job& j) {
    save_started(repo, j);
    await(repo.async_flush());
  };
  add(*a);
  const auto own = claim(*a, {echo_queue});
  ASSERT_TRUE(own);
  start(*a, *own);
  const auto added = add(*b, "sum");
  add(*b);
  const auto other = claim(*b, {echo_queue});
  ASSERT_TRUE(other);
  start(*b, *other);
  // Messages on one channel arrive in order: once b's write's is in, those of a's add, a's write and b's
  // adds would have come before it.
  ioc_.restart();
  for (const auto deadline = std::chrono::steady_clock::now() + 20s;
       std::find(seen_by_a.begin(), seen_by_a.end(), other->id) == seen_by_a.end() &&
       std::chrono::steady_clock::now() < deadline;)
    ioc_.run_one_for(100ms);
  EXPECT_EQ(seen_by_a, std::vector<std::string>{other->id}) << "not " << own->id << " nor " << added->id;
}

TEST_F(redis_repository_test, a_node_claims_only_the_types_it_offers) {
  auto a = open("a");
  auto b = open("b");
  const auto s = add(*a, "sum");
  EXPECT_FALSE(claim(*b, {echo_queue}));
  const auto got = claim(*b, {sum_queue});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, s->id);
  // Claimed once: no other node gets it.
  EXPECT_FALSE(claim(*a, {sum_queue}));
}

TEST_F(redis_repository_test, a_delayed_job_is_claimable_only_once_due) {
  auto a = open("a");
  const auto later = add(*a, "echo", 5, std::nullopt, 400);
  auto none = await(a->async_claim({echo_queue}, 4, {}, 0));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->claimed.empty());
  ASSERT_TRUE(none->next_due);
  EXPECT_GT(*none->next_due, job::clock::now() + 100ms);
  // Claims back to back (each a round trip to Redis), so that a job made claimable even a fraction of a
  // millisecond before its not_before is caught (Redis's time is read in whole milliseconds).
  std::shared_ptr<job> got;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!(got = claim(*a, {echo_queue})))
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the delayed job never became due";
  EXPECT_EQ(got->id, later->id);
  EXPECT_GE(job::clock::now(), *later->not_before);
}

TEST_F(redis_repository_test, an_expired_lease_is_taken_over_and_the_old_owner_is_fenced_out) {
  auto a = open("a", 300ms);
  auto b = open("b", 10s);
  std::vector<std::pair<std::string, const job*>> lost_by_a;
  shared_queue_events events;
  events.on_lost = [&](std::string_view id, std::shared_ptr<job> ended) {
    lost_by_a.emplace_back(id, ended.get());
  };
  a->set_events(events);
  const auto j = add(*a);
  auto mine = claim(*a, {echo_queue});
  ASSERT_TRUE(mine);
  EXPECT_TRUE(await(b->async_expired(10))->empty());
  EXPECT_FALSE(*await(b->async_take(j->id, shared_queue::take_reason::expired)));

  // A renews in time: nothing expires.
  std::vector<std::pair<std::string, std::uint64_t>> owned{{mine->id, mine->claim}};
  EXPECT_TRUE(await(a->async_renew(owned))->empty());

  // A stops renewing: once the lease passes, B takes the job over with a new token.
  std::vector<std::string> expired;
  test::wait_until([&] { return !(expired = *await(b->async_expired(10))).empty(); }, "the lease to pass");
  EXPECT_EQ(expired, std::vector<std::string>{j->id});
  auto theirs = *await(b->async_take(j->id, shared_queue::take_reason::expired));
  ASSERT_TRUE(theirs);
  EXPECT_EQ(theirs->claim, 2u);
  EXPECT_TRUE(await(b->async_expired(10))->empty());

  // A's late writes are refused, and A learns it lost the job (from the write and from its renewal).
  succeed(*a, *mine, {{"from", "a"}});
  await(a->async_flush());
  poll_until([&] { return !lost_by_a.empty(); }, "A to learn it lost the job", 5s);
  EXPECT_EQ(lost_by_a.front().first, j->id);
  // The refused write was the job's end: A is handed the job it ended, for whoever follows it there.
  EXPECT_EQ(lost_by_a.front().second, mine.get());
  EXPECT_GE(a->fenced_writes(), 1u);
  EXPECT_EQ(*await(a->async_renew(owned)), std::vector<std::string>{j->id});

  // B's result is the job's one result.
  theirs->attempt = 2;
  succeed(*b, *theirs, {{"from", "b"}});
  await(b->async_flush());
  const auto stored = await(a->async_find(j->id));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->state, job_state::succeeded);
  ASSERT_TRUE(stored->result);
  EXPECT_EQ(stored->result->value(), (nlohmann::json{{"from", "b"}}));
  EXPECT_EQ(stored->attempt, 2u);
  std::size_t terminal = 0;
  for (const auto& e : stored->events.events())
    terminal += proto::is_terminal(e.type) ? 1 : 0;
  EXPECT_EQ(terminal, 1u);
  EXPECT_EQ(server_.call({"ZCARD", "offload:running"}), 0);
  EXPECT_EQ(server_.call({"ZCARD", "offload:finished"}), 1);
}

// A job claimed to start at once (into a free slot) whose node stopped before Redis had its start may have
// begun there: the node that takes it over is told so. Not for one claimed ahead of a slot, nor for one
// whose start Redis has (that one is running in Redis's eyes).
TEST_F(redis_repository_test, a_take_over_says_whether_the_attempt_of_the_old_claim_may_have_begun) {
  auto a = open("a", 300ms);
  auto b = open("b");
  a->set_pool_queues({{echo_queue}});
  const auto added = [&](bool run) {
    auto j = fresh(*a);
    j->claim_at_add = true;
    j->run_at_add = run;
    const auto failed = await(a->async_add(j));
    EXPECT_FALSE(failed.has_value()) << failed->message;
    EXPECT_EQ(j->claim, 1u) << "claimed by its add";
    return j;
  };
  const auto run_at_add = added(true);
  const auto ahead_at_add = added(false);
  for (int i = 0; i < 3; ++i)
    add(*a);
  // One claim of three: the first two into free slots, the third ahead of one.
  auto claimed = await(a->async_claim({echo_queue}, 3, {}, 2));
  ASSERT_TRUE(claimed.has_value());
  ASSERT_EQ(claimed->claimed.size(), 3u);
  const auto& started = claimed->claimed[1];
  save_started(*a, *started);
  await(a->async_flush());

  const std::vector<std::pair<std::string, bool>> expected{{run_at_add->id, true},
                                                           {ahead_at_add->id, false},
                                                           {claimed->claimed[0]->id, true},
                                                           {started->id, false},
                                                           {claimed->claimed[2]->id, false}};
  test::wait_until([&] { return await(b->async_expired(10))->size() == expected.size(); },
                   "A's leases to pass");
  for (const auto& [id, begun] : expected) {
    SCOPED_TRACE(id);
    const auto taken = *await(b->async_take(id, shared_queue::take_reason::expired));
    ASSERT_TRUE(taken);
    EXPECT_EQ(taken->may_have_begun, begun);
    EXPECT_EQ(taken->state, id == started->id ? job_state::running : job_state::queued);
    // B runs what it takes at once: should B stop too, its claim counts the same way.
    EXPECT_EQ(server_.call({"HMGET", "offload:job:" + id, "claim", "run"}), nlohmann::json({"2", "2"}));
  }
}

// The same, as the service acts on it: a node (this test's repository) claims jobs and stops renewing without
// storing any start; the offloadd that takes them over counts the attempt of each job that node claimed to
// run at once (failed `interrupted` with no attempt left, retried with one left), and runs a job it claimed
// ahead of a slot as its first attempt.
TEST_F(redis_repository_test, an_offloadd_counts_the_attempt_of_a_job_a_stopped_node_claimed_to_run) {
  auto gone = open("gone", 1500ms);
  const auto with_attempts = [&](std::uint32_t attempts) {
    auto j = fresh(*gone);
    j->spec.max_attempts = attempts;
    const auto failed = await(gone->async_add(j));
    EXPECT_FALSE(failed.has_value()) << failed->message;
    return j;
  };
  const auto once = with_attempts(1);
  const auto twice = with_attempts(2);
  const auto ahead = with_attempts(1);
  const auto claimed = await(gone->async_claim({echo_queue}, 3, {}, 2));
  ASSERT_TRUE(claimed.has_value());
  ASSERT_EQ(claimed->claimed.size(), 3u);
  ASSERT_EQ(claimed->claimed[2]->id, ahead->id);

  test::offloadd_process node{{"--store", server_.url(), "--node-name", "b", "--lease-ms", "900"}};
  // A client follows each of the two jobs on the node before their leases pass: the node then takes over
  // the job object that client follows (the take's word on the old claim must reach it).
  std::map<std::string, std::unique_ptr<test::ws_client>> followers;
  for (const auto& j : {once, twice}) {
    auto& ws = followers[j->id] =
        std::make_unique<test::ws_client>(node.port(), "/v1/jobs/" + j->id + "/events?after=0");
    const auto replayed = ws->read_json();
    ASSERT_TRUE(replayed);
    EXPECT_EQ((*replayed)["type"], "queued") << *replayed;
    ASSERT_EQ(server_.call({"HGET", "offload:job:" + j->id, "owner"}), "gone") << "followed before the take";
  }
  const auto failed = test::wait_for_job(node.port(), once->id, test::is_terminal_view);
  ASSERT_EQ(failed["state"], "failed") << failed;
  EXPECT_EQ(failed["error"]["code"], "interrupted") << failed;
  EXPECT_EQ(failed["attempt"], 1) << failed;
  // Its log in Redis (once the end is there): no `started`, since none was stored.
  std::vector<proto::event_type> logged;
  test::wait_until(
      [&] {
        logged.clear();
        if (const auto stored = await(gone->async_find(once->id)))
          for (const auto& e : stored->events.events())
            logged.push_back(e.type);
        return logged.size() >= 2;
      },
      "the end in Redis");
  EXPECT_EQ(logged, (std::vector{proto::event_type::queued, proto::event_type::failed}));
  const auto retried = test::wait_for_job(node.port(), twice->id, test::is_terminal_view);
  EXPECT_EQ(retried["state"], "succeeded") << retried;
  EXPECT_EQ(retried["attempt"], 2) << retried;
  ASSERT_EQ(retried["attempt_errors"].size(), 1u) << retried;
  EXPECT_EQ(retried["attempt_errors"][0]["code"], "interrupted") << retried;
  const auto first = test::wait_for_job(node.port(), ahead->id, test::is_terminal_view);
  EXPECT_EQ(first["state"], "succeeded") << first;
  EXPECT_EQ(first["attempt"], 1) << first;
  EXPECT_FALSE(first.contains("attempt_errors")) << first;
  // What each follower read after the replay.
  const auto types = [&](const std::string& id) {
    std::vector<std::string> out;
    for (const auto& e : followers[id]->read_all())
      out.push_back(e["type"].get<std::string>());
    return out;
  };
  EXPECT_EQ(types(once->id), std::vector<std::string>{"failed"});
  EXPECT_EQ(types(twice->id), (std::vector<std::string>{"retrying", "started", "succeeded"}));
}

TEST_F(redis_repository_test, a_requeued_job_is_claimable_again_with_its_new_record) {
  auto a = open("a");
  auto b = open("b");
  add(*a);
  auto j = claim(*a, {echo_queue});
  ASSERT_TRUE(j);
  j->state = job_state::queued;
  j->attempt = 2;
  const auto first = j->events.events().size();
  j->events.append(proto::event_type::retrying, {{"attempt", 2}}, job::clock::now());
  a->requeue(*j, std::span{j->events.events()}.subspan(first));
  auto again = claim(*b, {echo_queue});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, j->id);
  EXPECT_EQ(again->attempt, 2u);
  EXPECT_EQ(again->claim, 2u);
  EXPECT_EQ(again->events.events().size(), 2u);
  // A no longer owns it.
  EXPECT_EQ(*await(a->async_renew({{j->id, j->claim}})), std::vector<std::string>{j->id});
}

TEST_F(redis_repository_test, a_queued_job_can_be_taken_for_a_cancel_and_a_running_one_cannot) {
  auto a = open("a");
  auto b = open("b");
  const auto queued = add(*a);
  const auto running = add(*a);
  const auto claimed = claim(*a, {echo_queue});
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->id, queued->id);  // the older one is claimed…
  // …so the running one is `queued`'s neighbour: take the still-queued `running` job for a cancel.
  auto taken = *await(b->async_take(running->id, shared_queue::take_reason::queued));
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->claim, 1u);
  EXPECT_FALSE(claim(*a, {echo_queue}));
  EXPECT_FALSE(*await(b->async_take(queued->id, shared_queue::take_reason::queued)));
}

TEST_F(redis_repository_test, listings_follow_submission_order_with_filters_and_cursors) {
  auto a = open("a");
  std::vector<std::shared_ptr<job>> jobs;
  for (int i = 0; i < 5; ++i)
    jobs.push_back(add(*a, i % 2 ? "sum" : "echo"));
  auto done = claim(*a, {echo_queue});
  ASSERT_TRUE(done);
  succeed(*a, *done, {{"n", 1}});
  await(a->async_flush());

  job_filter all;
  all.limit = 2;
  auto page = *await(a->async_list(all));
  ASSERT_EQ(page.jobs.size(), 2u);
  EXPECT_EQ(page.jobs[0].id, jobs[0]->id);
  ASSERT_TRUE(page.next);
  all.after = page.next;
  page = *await(a->async_list(all));
  ASSERT_EQ(page.jobs.size(), 2u);
  EXPECT_EQ(page.jobs[0].id, jobs[2]->id);
  all.after = page.next;
  page = *await(a->async_list(all));
  ASSERT_EQ(page.jobs.size(), 1u);
  EXPECT_FALSE(page.next);

  job_filter sums;
  sums.type = "sum";
  page = *await(a->async_list(sums));
  ASSERT_EQ(page.jobs.size(), 2u);
  EXPECT_EQ(page.jobs[1].id, jobs[3]->id);

  job_filter succeeded;
  succeeded.state = job_state::succeeded;
  succeeded.with_results = true;
  page = *await(a->async_list(succeeded));
  ASSERT_EQ(page.jobs.size(), 1u);
  EXPECT_EQ(page.jobs[0].id, jobs[0]->id);
  EXPECT_EQ(nlohmann::json(page.jobs[0])["result"], (nlohmann::json{{"n", 1}}));

  job_filter newest;
  newest.newest_first = true;
  newest.limit = 3;
  page = *await(a->async_list(newest));
  ASSERT_EQ(page.jobs.size(), 3u);
  EXPECT_EQ(page.jobs[0].id, jobs[4]->id);
  EXPECT_EQ(page.jobs[2].id, jobs[2]->id);
}

TEST_F(redis_repository_test, retention_deletes_the_oldest_finished_jobs_with_their_logs_and_keys) {
  auto a = open("a", 10s, 2);
  std::vector<std::shared_ptr<job>> finished;
  for (int i = 0; i < 4; ++i) {
    add(*a, "echo", 5, "k" + std::to_string(i));
    auto j = claim(*a, {echo_queue});
    ASSERT_TRUE(j);
    succeed(*a, *j, {{"i", i}});
    finished.push_back(j);
  }
  await(a->async_flush());
  a->evict(job::clock::now(), 100);
  poll_until([&] { return a->finished_count() == 2; }, "retention to run", 5s);
  EXPECT_FALSE(await(a->async_find(finished[0]->id)));
  EXPECT_FALSE(await(a->async_find(finished[1]->id)));
  EXPECT_TRUE(await(a->async_find(finished[3]->id)));
  EXPECT_FALSE(await(a->async_find_by_key("k0")));
  EXPECT_EQ(server_.call({"EXISTS", "offload:ev:" + finished[0]->id}), 0);
  EXPECT_EQ(server_.call({"ZCARD", "offload:jobs"}), 2);
}

TEST_F(redis_repository_test, writes_made_while_redis_is_away_are_applied_in_order_once_it_is_back) {
  auto a = open("a", 60s);
  add(*a);
  auto j = claim(*a, {echo_queue});
  ASSERT_TRUE(j);
  server_.stop(SIGKILL);
  poll_until([&] { return a->health().has_value(); }, "the store to notice", 5s);
  EXPECT_EQ(a->health()->code, proto::errc::storage_unavailable);
  // Progress, then the end, while Redis is down: kept in order.
  j->state = job_state::running;
  j->progress = proto::job_progress{0.5, "half"};
  a->save(*j, {}, true);
  succeed(*a, *j, {{"late", true}});
  server_.start();  // the append-only file brings the claim back
  poll_until([&] { return !a->health().has_value(); }, "the store to reconnect", 10s);
  await(a->async_flush());
  const auto stored = await(a->async_find(j->id));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->state, job_state::succeeded);
  EXPECT_EQ(stored->result->value(), (nlohmann::json{{"late", true}}));
  EXPECT_EQ(a->dropped_writes(), 0u);
}

// Past --max-pending-write-bytes the oldest writes go. When one was the last write of a job that ended here,
// Redis keeps the job as running here, and the job will run again once its lease passes: the node is told,
// as of a job lost to another node, so that whoever follows it does not wait for the end it dropped.
TEST_F(redis_repository_test, a_job_whose_end_is_dropped_while_redis_is_away_is_handed_back_as_lost) {
  auto a = open("a", 60s, 1000, 8192);
  std::vector<std::pair<std::string, const job*>> lost;
  shared_queue_events events;
  events.on_lost = [&](std::string_view id, std::shared_ptr<job> ended) {
    lost.emplace_back(id, ended.get());
  };
  a->set_events(events);
  add(*a);
  add(*a);
  const auto ended = claim(*a, {echo_queue});
  const auto going_on = claim(*a, {echo_queue});
  ASSERT_TRUE(ended && going_on);
  server_.stop(SIGKILL);
  poll_until([&] { return a->health().has_value(); }, "the store to notice", 5s);
  save_started(*a, *ended);
  save_succeeded(*a, ended);
  save_started(*a, *going_on);
  // Output of the other job, more than the bound: the oldest writes, the ended job's, are dropped.
  for (int i = 0; i < 4; ++i) {
    const auto& e = going_on->events.append(proto::event_type::output, {{"text", std::string(3000, 'x')}});
    a->save(*going_on, std::span{&e, 1}, false);
  }
  EXPECT_GE(a->dropped_writes(), 2u);
  poll_until([&] { return !lost.empty(); }, "the node to be told", 5s);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost.front().first, ended->id);
  EXPECT_EQ(lost.front().second, ended.get());
  EXPECT_FALSE(ended->events.all_published()) << "its end never reached Redis";
}

// What a dropped write of a job that goes on here carried is sent with the job's next write: once Redis is
// back, its log of the job has no gap and its record is current; subscribers get the events once it has them.
TEST_F(redis_repository_test, what_dropped_writes_carried_goes_with_the_next_write_of_their_job) {
  auto a = open("a", 60s, 1000, 8192);
  for (int i = 0; i < 3; ++i)
    add(*a);
  const auto j = claim(*a, {echo_queue});
  const auto k = claim(*a, {echo_queue});
  const auto other = claim(*a, {echo_queue});
  ASSERT_TRUE(j && k && other);
  server_.stop(SIGKILL);
  poll_until([&] { return a->health().has_value(); }, "the store to notice", 5s);
  const auto write_output = [&](job& of) {
    const auto& e = of.events.append(proto::event_type::output, {{"text", std::string(3000, 'x')}});
    a->save(of, std::span{&e, 1}, false);
  };
  save_started(*a, *j);
  save_started(*a, *k);
  write_output(*j);
  write_output(*j);  // kept: events only, it takes the dropped start's record along
  k->progress = proto::job_progress{0.5, "half"};
  a->save(*k, {}, true);  // kept: a record only, it takes the dropped start's event along
  write_output(*other);   // past the bound: the oldest three go (both starts, j's first output)
  EXPECT_EQ(a->dropped_writes(), 3u);
  server_.start();  // the append-only file brings the claims back
  poll_until([&] { return !a->health().has_value(); }, "the store to reconnect", 10s);
  await(a->async_flush());
  EXPECT_TRUE(j->events.all_published());
  EXPECT_TRUE(k->events.all_published()) << "published once Redis has them";
  EXPECT_EQ(server_.call({"HGET", "offload:job:" + j->id, "state"}), "1")
      << "running, from the dropped start";
  // Then the end of j, once Redis is back.
  save_succeeded(*a, j);
  await(a->async_flush());
  using enum proto::event_type;
  using event_list = std::vector<std::pair<std::uint64_t, proto::event_type>>;
  const auto logged = [&](const job& of) {
    event_list out;
    if (const auto stored = await(a->async_find(of.id)))
      for (const auto& e : stored->events.events())
        out.emplace_back(e.seq, e.type);
    return out;
  };
  EXPECT_EQ(logged(*j), (event_list{{1, queued}, {2, started}, {3, output}, {4, output}, {5, succeeded}}));
  EXPECT_EQ(logged(*k), (event_list{{1, queued}, {2, started}}));
  const auto stored_j = await(a->async_find(j->id));
  ASSERT_TRUE(stored_j);
  EXPECT_EQ(stored_j->state, job_state::succeeded);
}

}  // namespace
}  // namespace offload::core
