// Several offloadd nodes on one real redis-server (`--store redis://…`): any node accepts, any node runs,
// any node answers; a node that dies or stalls loses its jobs to the others, and a late result of a
// superseded attempt is refused; Redis going away gives 503s and the nodes recover by themselves.
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"
#include "support/proc_helpers.hpp"
#include "support/redis_server.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>

namespace offload::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class cluster_test : public ::testing::Test {
 protected:
  /// A node on the shared Redis, with `threads` slots in the thread lane and a short lease.
  std::unique_ptr<offloadd_process> node(const std::string& name, int threads = 2,
                                         std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--store",           redis_.url(), "--node-name", name,
                                  "--lease-ms",        "900",        "--threads",   std::to_string(threads),
                                  "--process-workers", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<offloadd_process>(std::move(args));
  }

  /// A first attempt that runs, and whose start Redis has: the node that runs a job counts in `last_seq`
  /// only the events Redis holds (`queued` is 1, `started` 2). The tests below stop a node once this holds,
  /// so that the node taking over finds the job running in Redis (a take-over while the start was on its
  /// way is redis_repository_test's an_offloadd_counts_the_attempt_of_a_job_a_stopped_node_claimed_to_run).
  static bool started_in_redis(const json& view) {
    return is_state(view, "running") && view.at("last_seq").get<std::uint64_t>() >= 2;
  }

  /// Finished jobs counted by a node's /metrics (all lanes and states).
  static long finished_on(const offloadd_process& n) {
    const auto body = http_get(n.port(), "/metrics").body;
    long total = 0;
    for (std::size_t at = 0; (at = body.find("\noffload_jobs_finished_total{", at)) != std::string::npos;) {
      const auto space = body.find('}', at);
      total += std::stol(body.substr(space + 2, body.find('\n', space) - space - 2));
      at = space;
    }
    return total;
  }

  /// The types of a job's events, replayed from the start over `/v1/jobs/{id}/events` on node `port`.
  static std::vector<std::string> event_types(unsigned short port, const std::string& id) {
    ws_client ws{port, "/v1/jobs/" + id + "/events?after=0"};
    std::vector<std::string> types;
    for (const auto& e : ws.read_all())
      types.push_back(e["type"].get<std::string>());
    return types;
  }

  redis_server redis_{{.appendonly = true}};
};

// Redis's default stream-node-max-bytes (4 KiB) makes each job's event stream keep 4 KiB however few its
// events: a node says so, with the advice; at the advised 512 it says nothing.
TEST_F(cluster_test, a_node_warns_when_redis_keeps_4_kib_per_job_event_stream) {
  temp_dir dir;
  const auto warned = (dir.path() / "warned.log").string();
  {
    offloadd_process a{{"--store", redis_.url(), "--node-name", "a"}, {}, warned};
    wait_until([&] { return file_text(warned).find("stream-node-max-bytes") != std::string::npos; },
               "the warning");
  }
  EXPECT_NE(file_text(warned).find("\"stream_node_max_bytes\":4096"), std::string::npos) << file_text(warned);
  ASSERT_EQ(redis_.call({"CONFIG", "SET", "stream-node-max-bytes", "512"}), "OK");
  const auto quiet = (dir.path() / "quiet.log").string();
  {
    offloadd_process b{{"--store", redis_.url(), "--node-name", "b"}, {}, quiet};
    // The job's add goes to Redis after the check, on the same connection: once it has run, the check's
    // answer has come.
    const auto r = http_post(b.port(), "/v1/jobs?wait=30", {{"type", "echo"}});
    EXPECT_EQ(r.json()["state"], "succeeded") << r.body;
  }
  // Read once the node has stopped: its log is written by a thread of its own, and flushed at exit.
  EXPECT_EQ(file_text(quiet).find("stream-node-max-bytes"), std::string::npos) << file_text(quiet);
}

TEST_F(cluster_test, any_node_accepts_runs_and_answers) {
  auto a = node("a", 1), b = node("b", 1), c = node("c", 1);
  // A waiting client on A sees the job end, wherever it ran.
  const auto sum = run_job(a->port(), {{"type", "sum"}, {"input", {{"n", 1000}}}});
  EXPECT_EQ(sum["state"], "succeeded") << sum;
  EXPECT_EQ(sum["result"]["sum"], "499500");

  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i)
    ids.push_back(submit(a->port(), {{"type", "sleep"}, {"input", {{"ms", 300}}}, {"lane", "thread"}})["id"]);
  for (const auto& id : ids) {
    const auto view = wait_for_job(b->port(), id, is_terminal_view);
    EXPECT_EQ(view["state"], "succeeded") << view;
  }
  // One slot per node: the others claimed some of A's submissions.
  int nodes_that_ran = 0;
  for (const auto* n : {a.get(), b.get(), c.get()})
    nodes_that_ran += finished_on(*n) > 0 ? 1 : 0;
  EXPECT_GE(nodes_that_ran, 2);

  // Each node sees the cluster: three live nodes, nothing waiting. The gauges are what the node last read
  // from Redis (every lease / 3): the last claim may still show until the next read.
  wait_until(
      [&] {
        const auto metrics = http_get(c->port(), "/metrics").body;
        return metrics.find("\noffload_cluster_nodes 3\n") != std::string::npos &&
               metrics.find("\noffload_cluster_queued{lane=\"thread\"} 0\n") != std::string::npos;
      },
      "three live nodes and no queued thread job in /metrics");
  // Nobody stalled or died: no job changed hands, no write was refused or dropped.
  for (const auto* series : {"offload_cluster_jobs_taken_over_total", "offload_cluster_jobs_lost_total",
                             "offload_cluster_writes_refused_total", "offload_cluster_writes_dropped_total"})
    EXPECT_EQ(metric_value(c->port(), series), 0) << series;
  // A's store sent its submissions (seven) and the sum's writes in scripts, every one answered.
  EXPECT_GE(metric_value(a->port(), "offload_store_operations_total"), 7);
  EXPECT_GE(metric_value(a->port(), "offload_store_commit_seconds_count"), 2);
  EXPECT_EQ(metric_value(a->port(), "offload_store_commit_failures_total"), 0);
  wait_until([&] { return metric_value(a->port(), "offload_store_pending_operations") == 0; },
             "A's writes to be answered");

  // Listed by any node, in submission order.
  const auto page = http_get(c->port(), "/v1/jobs?limit=100").json();
  std::vector<std::string> listed;
  for (const auto& v : page["jobs"])
    listed.push_back(v["id"]);
  ASSERT_EQ(listed.size(), 7u) << page;
  EXPECT_EQ(std::vector<std::string>(listed.begin() + 1, listed.end()), ids);
  EXPECT_EQ(event_types(b->port(), ids[0]), (std::vector<std::string>{"queued", "started", "succeeded"}));
}

// A node with room for a job submitted to it, while nothing waits in its pool's queues, claims the job in the
// call that stores it (the add then looks at the queues: EXISTS) and runs it without a trip through them.
// With its one slot taken, the next job goes through the queue and runs once the slot is free.
TEST_F(cluster_test, a_node_with_room_claims_a_job_as_it_stores_it) {
  auto a = node("a", 1);
  // Until the node's first claim has found the queues empty, its submissions go through them.
  wait_until(
      [&] {
        redis_.call({"CONFIG", "RESETSTAT"});
        EXPECT_EQ(run_job(a->port(), {{"type", "echo"}})["state"], "succeeded");
        return redis_.call({"INFO", "commandstats"}).get<std::string>().find("cmdstat_exists:") !=
               std::string::npos;
      },
      "a submission claimed by its add");
  // The busy job runs until cancelled, so that the check below does not race its end (TSan runs this test).
  const auto busy = submit(a->port(), {{"type", "sleep"}, {"input", {{"ms", 60000}}}, {"lane", "thread"}});
  const auto busy_path = "/v1/jobs/" + busy["id"].get<std::string>();
  wait_until([&] { return http_get(a->port(), busy_path).json()["state"] == "running"; },
             "the sleep job to run");
  // (A type of short jobs would be claimed a little ahead of a free slot: sleep is not one.)
  const auto next = submit(a->port(), {{"type", "sleep"}, {"input", {{"ms", 1}}}, {"lane", "thread"}});
  EXPECT_EQ(redis_.call({"ZSCORE", "offload:q:thread:sleep", next["id"]}).is_string(), true)
      << "queued behind the busy slot";
  ASSERT_EQ(http_delete(a->port(), busy_path).status, 200u);
  EXPECT_EQ(wait_for_job(a->port(), next["id"], is_terminal_view)["state"], "succeeded");
}

TEST_F(cluster_test, an_idempotency_key_is_global) {
  auto a = node("a"), b = node("b");
  const json body{{"type", "echo"}, {"input", {{"text", "once"}}}, {"idempotency_key", "order-42"}};
  const auto first = submit(a->port(), body);
  const auto again = http_post(b->port(), "/v1/jobs", body);
  EXPECT_EQ(again.status, 202u) << again.body;
  EXPECT_EQ(again.json()["id"], first["id"]);
  EXPECT_EQ(again.header("idempotent-replayed"), "true");
  json other = body;
  other["input"]["text"] = "twice";
  const auto conflict = http_post(b->port(), "/v1/jobs", other);
  EXPECT_EQ(conflict.status, 409u) << conflict.body;
}

TEST_F(cluster_test, a_job_is_cancelled_from_any_node) {
  auto a = node("a", 1), b = node("b", 1);
  const auto running = submit(a->port(), {{"type", "sleep"}, {"input", {{"ms", 60000}}}, {"lane", "thread"}});
  const auto other = submit(a->port(), {{"type", "sleep"}, {"input", {{"ms", 60000}}}, {"lane", "thread"}});
  const auto queued = submit(a->port(), {{"type", "sleep"}, {"input", {{"ms", 60000}}}, {"lane", "thread"}});
  wait_for_job(b->port(), running["id"], [](const json& v) { return is_state(v, "running"); });
  wait_for_job(b->port(), other["id"], [](const json& v) { return is_state(v, "running"); });
  // Both slots busy: the third waits in the shared queue; cancelled from either node.
  const auto q = http_delete(b->port(), "/v1/jobs/" + queued["id"].get<std::string>());
  EXPECT_EQ(q.status, 200u) << q.body;
  EXPECT_EQ(q.json()["state"], "cancelled") << q.body;
  // The running ones are cancelled by the node that runs them, whichever node is asked.
  for (const auto& j : {running, other}) {
    const auto r = http_delete(b->port(), "/v1/jobs/" + j["id"].get<std::string>());
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.json()["state"], "cancelled") << r.body;
    EXPECT_EQ(wait_for_job(a->port(), j["id"], is_terminal_view)["state"], "cancelled");
  }
}

TEST_F(cluster_test, the_jobs_of_a_killed_node_are_taken_over_by_the_others) {
  auto a = node("a", 2);
  const auto retried = submit(
      a->port(), {{"type", "sleep"}, {"input", {{"ms", 1500}}}, {"lane", "thread"}, {"max_attempts", 2}});
  const auto last_try =
      submit(a->port(), {{"type", "sleep"}, {"input", {{"ms", 60000}}}, {"lane", "thread"}});
  for (const auto& j : {retried, last_try})
    wait_for_job(a->port(), j["id"], started_in_redis);
  // A dies before B starts: a start takes a while under TSan, and the jobs must still be running on A.
  a->signal(SIGKILL);
  auto b = node("b", 2);
  // Once A's lease has passed, B takes both over: one is retried (and succeeds there), the other had no
  // attempt left and fails `interrupted`.
  const auto done = wait_for_job(b->port(), retried["id"], is_terminal_view);
  EXPECT_EQ(done["state"], "succeeded") << done;
  EXPECT_EQ(done["attempt"], 2) << done;
  const auto failed = wait_for_job(b->port(), last_try["id"], is_terminal_view);
  EXPECT_EQ(failed["state"], "failed") << failed;
  EXPECT_EQ(failed["error"]["code"], "interrupted") << failed;
}

TEST_F(cluster_test, thread_worker_and_command_jobs_of_a_killed_node_run_again_once_each) {
  temp_dir dir;
  const auto runs = (dir.path() / "runs").string();
  const auto config =
      dir.write("commands.json",
                json{{"commands", {{"append", test_command({"append-and-sleep", runs, "1500"})}}}}.dump());
  auto a = node("a", 1, {"--config", config});
  std::vector<std::string> ids;
  for (const auto& body :
       {json{{"type", "sleep"}, {"input", {{"ms", 1500}}}, {"lane", "thread"}},
        json{{"type", "sleep"}, {"input", {{"ms", 1500}}}, {"lane", "process"}}, json{{"type", "append"}}}) {
    auto with_retry = body;
    with_retry["max_attempts"] = 3;
    ids.push_back(submit(a->port(), with_retry)["id"]);
  }
  for (const auto& id : ids)
    wait_for_job(a->port(), id, started_in_redis);
  // The whole line: the file exists a moment before the line is in it.
  wait_until([&] { return file_text(runs).ends_with('\n'); }, "the command's first run");
  a->signal(SIGKILL);  // before B starts, while the jobs still run on A (as above)
  auto b = node("b", 1, {"--config", config});
  // Each job ends exactly once, on B, with attempt 2: the attempt A was running is the only one run again.
  for (const auto& id : ids) {
    const auto done = wait_for_job(b->port(), id, is_terminal_view);
    EXPECT_EQ(done["state"], "succeeded") << done;
    EXPECT_EQ(done["attempt"], 2) << done;
  }
  std::ifstream in{runs};
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);)
    ++lines;
  EXPECT_EQ(lines, 2u) << "the command ran on A, then once more on B";
}

// A node that stops (SIGTERM) while jobs still run past its drain grace hands them to the others at once, as
// interrupted attempts, and stops them here: it does not wait for them to end, nor let them run on beside
// the next attempt.
TEST_F(cluster_test, a_node_that_stops_hands_over_what_it_still_runs_and_stops_it) {
  auto a = node("a", 2, {"--drain-seconds", "0"});
  const auto retried = submit(
      a->port(), {{"type", "sleep"}, {"input", {{"ms", 60000}}}, {"lane", "thread"}, {"max_attempts", 2}});
  const auto last_try =
      submit(a->port(), {{"type", "sleep"}, {"input", {{"ms", 60000}}}, {"lane", "thread"}});
  for (const auto& j : {retried, last_try})
    wait_for_job(a->port(), j["id"], started_in_redis);
  auto b = node("b", 1);
  a->signal(SIGTERM);
  const auto code = a->wait_exit(15s);
  ASSERT_TRUE(code.has_value()) << "A waits for the 60 s sleeps it interrupted";
  EXPECT_EQ(*code, 0);
  const auto failed = wait_for_job(b->port(), last_try["id"], is_terminal_view);
  EXPECT_EQ(failed["state"], "failed") << failed;
  EXPECT_EQ(failed["error"]["code"], "interrupted") << failed;
  // B runs the next attempt; cancelled there to end the test.
  wait_for_job(b->port(), retried["id"], [](const json& v) { return is_state(v, "running"); });
  const auto r = http_delete(b->port(), "/v1/jobs/" + retried["id"].get<std::string>());
  EXPECT_EQ(r.json()["state"], "cancelled") << r.body;
  EXPECT_EQ(r.json()["attempt"], 2) << r.body;
}

TEST_F(cluster_test, a_stalled_node_s_late_result_is_refused) {
  auto a = node("a", 1);
  const auto j = submit(
      a->port(), {{"type", "sleep"}, {"input", {{"ms", 1500}}}, {"lane", "thread"}, {"max_attempts", 2}});
  wait_for_job(a->port(), j["id"], started_in_redis);
  a->signal(SIGSTOP);  // before B starts, while the job still runs on A (as above)
  auto b = node("b", 1);
  // B takes the job over once A's lease passes and runs attempt 2.
  wait_for_job(b->port(), j["id"], [](const json& v) { return v["attempt"] == 2; });
  a->signal(SIGCONT);
  const auto done = wait_for_job(b->port(), j["id"], is_terminal_view);
  EXPECT_EQ(done["state"], "succeeded") << done;
  EXPECT_EQ(done["attempt"], 2) << done;
  // A's attempt 1 ended after A woke up; its result was refused: one terminal event in the log.
  wait_until(
      [&] {
        return http_get(a->port(), "/metrics").body.find("offload_jobs_running{lane=\"thread\"} 0") !=
               std::string::npos;
      },
      "A's late attempt to end");
  const auto types = event_types(a->port(), j["id"]);
  EXPECT_EQ(std::count(types.begin(), types.end(), "succeeded"), 1) << ::testing::PrintToString(types);
  EXPECT_EQ(types.back(), "succeeded") << ::testing::PrintToString(types);
  EXPECT_EQ(std::count(types.begin(), types.end(), "retrying"), 1) << ::testing::PrintToString(types);
  // Counted once on each side (A learns of it from its lease's renewal or from its refused end, whichever
  // comes first).
  EXPECT_EQ(metric_value(b->port(), "offload_cluster_jobs_taken_over_total"), 1);
  wait_until([&] { return metric_value(a->port(), "offload_cluster_jobs_lost_total") == 1; },
             "A to count the job it lost");
  EXPECT_EQ(metric_value(a->port(), "offload_cluster_jobs_taken_over_total"), 0);
}

// A node stalled past its lease loses its job to another node. What it logs once it wakes (the output it
// reads then, or the job's end) Redis refuses; a client that followed the job there goes on with the other
// node's run, seq for seq, and is never sent those refused events.
TEST_F(cluster_test, a_subscriber_of_a_stalled_node_gets_the_other_node_s_run_not_the_refused_events) {
  temp_dir dir;
  // drip: 1 MiB in 16 KiB pieces 30 ms apart (~2 s); its child fills the pipe while A is stopped and still
  // runs when A wakes. ticks: 200 short lines 5 ms apart (~1 s); its child has ended when A wakes.
  const auto config = dir.write("commands.json", json{{"commands",
                                                       {{"drip", test_command({"drip", "1", "30000"})},
                                                        {"ticks", test_command({"ticks", "200", "5000"})}}}}
                                                     .dump());
  // Seq and type of each event, and whether all frames are the same (outputs are large to print).
  const auto same_log = [](const std::vector<json>& got, const std::vector<json>& expected) {
    const auto outline = [](const std::vector<json>& events) {
      std::vector<std::string> out;
      for (const auto& e : events)
        out.push_back(std::to_string(e["seq"].get<std::uint64_t>()) + " " + e["type"].get<std::string>());
      return out;
    };
    EXPECT_EQ(outline(got), outline(expected));
    EXPECT_TRUE(got == expected) << "the same seqs and types, other frames";
  };
  for (const std::string type : {"drip", "ticks"}) {
    SCOPED_TRACE(type);
    auto a = node("a-" + type, 1, {"--config", config});
    const std::string id = submit(a->port(), {{"type", type}, {"max_attempts", 2}})["id"];
    std::uint64_t last = 0;
    ws_client ws{a->port(), "/v1/jobs/" + id + "/events?after=0"};
    ws.read_outputs(2, last);
    a->signal(SIGSTOP);
    auto b = node("b-" + type, 1, {"--config", config});
    // B takes the job over once A's lease passes, and runs it to its end while A sleeps.
    const auto done = wait_for_job(b->port(), id, is_terminal_view);
    EXPECT_EQ(done["state"], "succeeded") << done;
    EXPECT_EQ(done["attempt"], 2) << done;
    a->signal(SIGCONT);
    ws_client at_b{b->port(), "/v1/jobs/" + id + "/events?after=" + std::to_string(last)};
    const auto expected = at_b.read_all(30s);
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(expected.back()["type"], "succeeded");
    same_log(ws.read_all(30s), expected);
    // A client that connects to A now reads the log B has.
    ws_client again_a{a->port(), "/v1/jobs/" + id + "/events?after=0"};
    ws_client again_b{b->port(), "/v1/jobs/" + id + "/events?after=0"};
    same_log(again_a.read_all(30s), again_b.read_all(30s));
  }
}

// A client that saw a job end on a node and asks that node again reads the end, even before Redis has it:
// the node answers for the jobs it ended from memory until Redis has their last write (read your writes).
TEST_F(cluster_test, a_node_answers_for_a_job_it_ended_before_redis_has_the_end) {
  auto a = node("a", 1);
  const std::string id =
      submit(a->port(), {{"type", "sleep"}, {"input", {{"ms", 600}}}, {"lane", "thread"}})["id"];
  wait_for_job(a->port(), id, [](const json& v) { return is_state(v, "running"); });
  redis_.pause();
  struct resume_at_exit {
    redis_server& r;
    ~resume_at_exit() { r.resume(); }
  } resume{redis_};
  // Each read answers within 2 s, from memory: Redis, stopped, answers nothing.
  json view;
  wait_until(
      [&] {
        view = http_request(a->port(), "GET", "/v1/jobs/" + id, {}, {}, 2s).json();
        return is_terminal_view(view);
      },
      "the job to end, as node A answers while Redis is stopped");
  EXPECT_EQ(view["state"], "succeeded") << view;
  EXPECT_EQ(view["result"]["slept_ms"], 600) << view;
  redis_.resume();
  // Redis has it too once it runs again: a node that never saw the job reads the same end.
  auto b = node("b", 1);
  const auto stored = wait_for_job(b->port(), id, is_terminal_view);
  EXPECT_EQ(stored["state"], "succeeded") << stored;
  EXPECT_EQ(stored["result"], view["result"]) << stored;
}

TEST_F(cluster_test, a_subscriber_of_a_dying_node_goes_on_at_another_node_and_misses_nothing) {
  temp_dir dir;
  // 2,000 lines 0.2 ms apart: the node always has events that Redis may not have yet.
  const auto config = dir.write(
      "commands.json", json{{"commands", {{"ticks", test_command({"ticks", "2000", "200"})}}}}.dump());
  // Several rounds: the kill lands at a different point of the writes each time.
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const auto suffix = std::to_string(round);
    auto a = node("a" + suffix, 1, {"--config", config});
    const auto j = submit(a->port(), {{"type", "ticks"}, {"max_attempts", 2}});
    const std::string id = j["id"];
    std::uint64_t last = 0;
    ws_client ws{a->port(), "/v1/jobs/" + id + "/events?after=0"};
    ws.read_outputs(50, last);
    // A dies with events sent. A node sends its subscribers only what Redis has, so B, which numbers its
    // events after the last one there, reuses no seq the client saw (were it otherwise, the client resuming
    // after its last seq would miss the event that took it: here, `retrying`).
    a->signal(SIGKILL);
    ASSERT_TRUE(a->wait_exit(20s).has_value());
    auto b = node("b" + suffix, 1, {"--config", config});
    // The client reconnects to B with the last seq it saw: B replays the rest from Redis, then follows the
    // job live (B takes it over once A's lease passes, and runs attempt 2).
    ws_client again{b->port(), "/v1/jobs/" + id + "/events?after=" + std::to_string(last)};
    std::vector<std::string> types;
    for (const auto& e : again.read_all(30s)) {
      ASSERT_EQ(e["seq"].get<std::uint64_t>(), last + 1) << e;
      last = e["seq"];
      types.push_back(e["type"]);
    }
    ASSERT_FALSE(types.empty());
    EXPECT_EQ(types.back(), "succeeded") << ::testing::PrintToString(types);
    EXPECT_EQ(std::count(types.begin(), types.end(), "retrying"), 1) << ::testing::PrintToString(types);
    EXPECT_EQ(std::count(types.begin(), types.end(), "started"), 1) << ::testing::PrintToString(types);
    const auto view = wait_for_job(b->port(), id, is_terminal_view);
    EXPECT_EQ(view["attempt"], 2);
    EXPECT_EQ(view["last_seq"], last) << "the client has the whole log";
  }
}

TEST_F(cluster_test, redis_restarting_under_load_loses_nothing_acknowledged) {
  auto a = node("a", 2), b = node("b", 2);
  std::vector<std::string> acknowledged;
  const auto submit_one = [&](int i) {
    const auto* n = i % 2 ? b.get() : a.get();
    const auto r =
        http_post(n->port(), "/v1/jobs", {{"type", "sleep"}, {"input", {{"ms", 700}}}, {"lane", "thread"}});
    if (r.status == 202) return acknowledged.push_back(r.json()["id"]);
    EXPECT_EQ(r.status, 503u) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "storage_unavailable") << r.body;
  };
  for (int i = 0; i < 16; ++i)
    submit_one(i);
  wait_for_job(a->port(), acknowledged.front(), [](const json& v) { return is_state(v, "running"); });
  // Killed with jobs queued and running (`appendfsync always` kept every acknowledged job), and kept away
  // for longer than two leases: every lease in Redis has passed when it comes back, yet the nodes that hold
  // the jobs keep them (they renew before anyone takes over).
  redis_.stop(SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  for (int i = 16; i < 24; ++i)
    submit_one(i);
  wait_until([&] { return std::chrono::steady_clock::now() > killed_at + 2s; }, "two leases without Redis",
             5s);
  redis_.start();
  wait_until(
      [&] {
        return http_get(a->port(), "/readyz").status == 200 && http_get(b->port(), "/readyz").status == 200;
      },
      "both nodes to be ready again");
  for (int i = 24; i < 28; ++i)
    submit_one(i);
  ASSERT_EQ(acknowledged.size(), 20u);
  for (const auto& id : acknowledged) {
    const auto view = wait_for_job(a->port(), id, is_terminal_view);
    EXPECT_EQ(view["state"], "succeeded") << view;
    EXPECT_EQ(view["attempt"], 1) << view;
  }
}

TEST_F(cluster_test, redis_away_means_503_and_the_nodes_recover_by_themselves) {
  auto a = node("a");
  EXPECT_EQ(run_job(a->port(), {{"type", "echo"}, {"input", {{"text", "before"}}}})["state"], "succeeded");
  redis_.stop(SIGKILL);
  wait_until([&] { return http_get(a->port(), "/readyz").status == 503; }, "readyz to say 503");
  EXPECT_EQ(http_get(a->port(), "/healthz").status, 200u);
  const auto refused = http_post(a->port(), "/v1/jobs", {{"type", "echo"}, {"input", {{"text", "x"}}}});
  EXPECT_EQ(refused.status, 503u) << refused.body;
  EXPECT_EQ(refused.json()["error"]["code"], "storage_unavailable") << refused.body;
  redis_.start();
  wait_until([&] { return http_get(a->port(), "/readyz").status == 200; }, "readyz to be 200 again");
  EXPECT_EQ(run_job(a->port(), {{"type", "echo"}, {"input", {{"text", "after"}}}})["state"], "succeeded");
}

}  // namespace
}  // namespace offload::test
