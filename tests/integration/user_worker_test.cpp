// Operator-defined warm worker pools (`workers` in --config) under a real offloadd, with the Python SDK's
// example worker: results, progress and output, schema validation, failures, crashes, timeouts, cancel,
// recycling, metrics, a worker that disagrees with the config, a crash loop, and config errors.
#include "support/http_client.hpp"
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"
#include "support/proc_helpers.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <set>

namespace offload::test {
namespace {

using nlohmann::json;

const std::string python = "/usr/bin/python3";
const std::string example = std::string{OFFLOAD_SOURCE_DIR} + "/client/python/examples/word_count.py";

json python_pool(json types, json extra = json::object()) {
  extra["argv"] = {python, example};
  extra["types"] = std::move(types);
  return extra;
}

json word_count_schema() {
  return {{"type", "object"},
          {"additionalProperties", false},
          {"required", {"text"}},
          {"properties", {{"text", {{"type", "string"}, {"maxLength", 100000}}}}}};
}

class user_worker_test : public ::testing::Test {
 protected:
  temp_dir dir_;
  offloadd_process server_{{"--config", write_config(), "--kill-grace-ms", "300", "--process-workers", "1"}};
  unsigned short port() const { return server_.port(); }

  std::string write_config() {
    json types = {{"word_count", {{"description", "Counts words."}, {"input_schema", word_count_schema()}}},
                  {"py_fail", json::object()},
                  {"py_crash", json::object()},
                  {"py_unsendable", json::object()},
                  {"py_sleep", json::object()}};
    return dir_.write("workers.json",
                      json{{"workers", {{"py", python_pool(types, {{"pool", 2}, {"max_jobs", 3}})}}}}.dump());
  }

  json run(const json& body) const { return run_job(port(), body); }
};

TEST_F(user_worker_test, the_pool_types_are_listed_with_their_schema_and_run_in_the_process_lane) {
  const auto types = http_get(port(), "/v1/types").json();
  json word_count;
  for (const auto& t : types["types"])
    if (t["name"] == "word_count") word_count = t;
  ASSERT_FALSE(word_count.is_null()) << types.dump();
  EXPECT_EQ(word_count["description"], "Counts words.");
  EXPECT_EQ(word_count["lanes"], json::array({"process"}));
  EXPECT_EQ(word_count["input_schema"], word_count_schema());
}

TEST_F(user_worker_test, a_job_returns_its_result_after_its_progress_and_output) {
  const auto view = run({{"type", "word_count"}, {"input", {{"text", "one two\nthree"}}}});
  ASSERT_EQ(view["state"], "succeeded") << view.dump();
  EXPECT_EQ(view["result"]["words"], 3);
  EXPECT_EQ(view["progress"]["fraction"], 1.0);
  ws_client ws{port(), "/v1/jobs/" + view["id"].get<std::string>() + "/events?after=0"};
  std::vector<std::string> kinds;
  for (const auto& e : ws.read_all())
    kinds.push_back(e["type"].get<std::string>());
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"queued", "started", "progress", "progress", "output", "succeeded"}));
}

TEST_F(user_worker_test, inputs_are_checked_against_the_configured_schema_at_submission) {
  auto r = http_post(port(), "/v1/jobs", {{"type", "word_count"}, {"input", json::object()}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json()["error"]["code"], "invalid_input");
  EXPECT_EQ(r.json()["error"]["message"], "input.text: is required");
  r = http_post(port(), "/v1/jobs", {{"type", "word_count"}, {"input", {{"text", 5}}}});
  EXPECT_EQ(r.json()["error"]["message"], "input.text: must be a string");
  r = http_post(port(), "/v1/jobs", {{"type", "word_count"}, {"input", {{"text", "x"}, {"extra", 1}}}});
  EXPECT_EQ(r.json()["error"]["message"], "input.extra: unknown field (known: text)");
}

TEST_F(user_worker_test, a_raised_error_fails_the_job_and_the_worker_lives_on) {
  const auto failed =
      run({{"type", "py_fail"}, {"input", {{"code", "bad_image"}, {"message", "not a PNG"}}}});
  ASSERT_EQ(failed["state"], "failed") << failed.dump();
  EXPECT_EQ(failed["error"]["code"], "handler_error");
  EXPECT_NE(failed["error"]["message"].get<std::string>().find("bad_image"), std::string::npos);
  EXPECT_NE(failed["error"]["message"].get<std::string>().find("not a PNG"), std::string::npos);
  EXPECT_EQ(run({{"type", "word_count"}, {"input", {{"text", "a"}}}})["state"], "succeeded");
}

TEST_F(user_worker_test, a_result_that_cannot_be_sent_fails_the_job_and_the_worker_lives_on) {
  // The pool's workers (wait until both are up, so that none starts meanwhile).
  const auto workers = [this] {
    std::set<int> out;
    for (const int pid : children_of(server_.pid())) {
      const auto argv = command_line(pid);
      if (argv.size() >= 2 && argv[1].ends_with("word_count.py")) out.insert(pid);
    }
    return out;
  };
  wait_until([&] { return workers().size() == 2; }, "two Python workers");
  const auto before = workers();
  for (const auto& [kind, why] :
       {std::pair{"set", "not JSON serializable"}, {"surrogate", "UnicodeEncodeError"}}) {
    const auto failed = run({{"type", "py_unsendable"}, {"input", {{"kind", kind}}}});
    ASSERT_EQ(failed["state"], "failed") << failed.dump();
    EXPECT_EQ(failed["error"]["code"], "handler_error") << failed.dump();
    EXPECT_NE(failed["error"]["message"].get<std::string>().find(why), std::string::npos) << failed.dump();
  }
  // (Two jobs: below the pool's max_jobs of 3, after which a worker is replaced anyway.)
  EXPECT_EQ(workers(), before) << "a worker was replaced";
  const auto huge = run({{"type", "py_unsendable"}, {"input", {{"kind", "huge"}}}});
  EXPECT_EQ(huge["error"]["message"], "the result is larger than the 16 MiB line limit") << huge.dump();
  EXPECT_EQ(run({{"type", "word_count"}, {"input", {{"text", "a"}}}})["state"], "succeeded");
}

TEST_F(user_worker_test, a_crash_ends_only_its_job_and_a_fresh_worker_takes_the_next) {
  const auto crashed = run({{"type", "py_crash"}, {"input", json::object()}});
  ASSERT_EQ(crashed["state"], "crashed") << crashed.dump();
  EXPECT_NE(crashed["error"]["message"].get<std::string>().find("SIGKILL"), std::string::npos);
  EXPECT_EQ(run({{"type", "word_count"}, {"input", {{"text", "a"}}}})["state"], "succeeded");
  const auto metrics = http_get(port(), "/metrics").body;
  EXPECT_NE(metrics.find("offload_process_worker_crashes_total{pool=\"py\"} 1\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("offload_process_pool_healthy{pool=\"py\"} 1\n"), std::string::npos);
}

TEST_F(user_worker_test, timeout_and_cancel_kill_the_worker_and_the_pool_recovers) {
  const auto timed_out = run({{"type", "py_sleep"}, {"input", {{"seconds", 60}}}, {"timeout_ms", 300}});
  EXPECT_EQ(timed_out["state"], "timed_out") << timed_out.dump();
  const auto job = submit(port(), {{"type", "py_sleep"}, {"input", {{"seconds", 60}}}});
  const auto id = job["id"].get<std::string>();
  wait_for_job(port(), id, [](const json& v) { return is_state(v, "running"); });
  EXPECT_EQ(http_delete(port(), "/v1/jobs/" + id).status, 200u);
  EXPECT_EQ(wait_for_job(port(), id, is_terminal_view)["state"], "cancelled");
  EXPECT_EQ(run({{"type", "word_count"}, {"input", {{"text", "a"}}}})["state"], "succeeded");
  // Killed for a cancel or a timeout is not a crash.
  const auto metrics = http_get(port(), "/metrics").body;
  EXPECT_NE(metrics.find("offload_process_worker_crashes_total{pool=\"py\"} 0\n"), std::string::npos)
      << metrics;
}

TEST_F(user_worker_test, workers_are_replaced_after_max_jobs) {
  // A worker that has run three jobs serves on while its replacement starts: jobs go on until a third
  // worker process has answered one.
  std::set<int> pids;
  wait_until(
      [&] {
        const auto view = run({{"type", "word_count"}, {"input", {{"text", "a"}}}});
        EXPECT_EQ(view["state"], "succeeded") << view.dump();
        pids.insert(view["result"]["pid"].get<int>());
        return pids.size() >= 3;
      },
      "a job answered by a third worker");
  // The replaced workers go: no more than the pool's two are left alive.
  wait_until([&] { return std::ranges::count_if(pids, [](int pid) { return !process_dead(pid); }) <= 2; },
             "the replaced workers to exit");
}

TEST(user_worker_pool_test, a_worker_past_max_jobs_serves_on_until_its_replacement_is_ready) {
  const std::string script = std::string{OFFLOAD_SOURCE_DIR} + "/tests/support/hostile_worker.py";
  // Every worker after the first hangs before its ready line, or leaves the pool's type out of it: no
  // replacement ever becomes ready. The ready timeout is what ends a hanging one; one that disagrees says so
  // at once. Both timeouts leave the first worker (a Python start) room on a loaded machine, and the longer
  // one keeps a slow start of a disagreeing worker from counting as a hang.
  struct case_t {
    const char* later;
    const char* trouble;
    int ready_timeout_ms;
  };
  for (const auto& [later, trouble, ready_timeout_ms] :
       {case_t{"hang", "fail at start-up", 3000}, case_t{"disagree", "ready line does not list it", 10000}}) {
    SCOPED_TRACE(later);
    temp_dir dir;
    const auto config = dir.write(
        "workers.json",
        json{{"workers",
              {{"w",
                {{"argv", {python, script}},
                 {"types", {"whoami"}},
                 {"pool", 1},
                 {"max_jobs", 1},
                 {"ready_timeout_ms", ready_timeout_ms},
                 {"env", {{"FIRST_MARKER", (dir.path() / "started").string()}, {"LATER", later}}}}}}}}
            .dump());
    offloadd_process server{{"--config", config, "--process-workers", "1"}};
    const auto whoami = [&] {
      return run_job(server.port(), {{"type", "whoami"}, {"input", json::object()}});
    };
    const auto first = whoami();
    ASSERT_EQ(first["state"], "succeeded") << first.dump();
    const int pid = first["result"]["pid"].get<int>();
    // Past its one job, the worker serves every next job while replacements are tried, instead of leaving
    // the pool without a worker.
    for (int i = 0; i < 5; ++i) {
      const auto next = whoami();
      ASSERT_EQ(next["state"], "succeeded") << next.dump();
      EXPECT_EQ(next["result"]["pid"], pid);
    }
    // A replacement was tried and failed: the pool says why, and still serves. (After a failure, the end of a
    // job tries again once the back-off has passed: jobs keep coming meanwhile, as they would.)
    wait_until(
        [&] {
          EXPECT_EQ(whoami()["result"]["pid"], pid);
          return http_get(server.port(), "/v1/stats").body.find(trouble) != std::string::npos;
        },
        std::string{"'"} + trouble + "' in /v1/stats", std::chrono::seconds{30});
  }
}

// The Node SDK's example worker: the same promises, with async handlers.
class node_worker_test : public ::testing::Test {
 protected:
  temp_dir dir_;
  offloadd_process server_{{"--config", write_config(), "--kill-grace-ms", "300"}};
  unsigned short port() const { return server_.port(); }

  std::string write_config() {
    const json types = {
        {"count_primes",
         {{"input_schema",
           {{"type", "object"},
            {"required", {"below"}},
            {"properties", {{"below", {{"type", "integer"}, {"minimum", 2}, {"maximum", 100000000}}}}}}}}},
        {"node_fail", json::object()},
        {"node_throw", json::object()},
        {"node_crash", json::object()},
        {"node_unsendable", json::object()},
        {"node_sleep", json::object()}};
    const std::string script = std::string{OFFLOAD_SOURCE_DIR} + "/client/node/worker/examples/primes.mjs";
    return dir_.write(
        "node.json",
        json{{"workers", {{"node", {{"argv", {"/usr/bin/node", script}}, {"types", types}, {"pool", 2}}}}}}
            .dump());
  }
  json run(const json& body) const { return run_job(port(), body); }
};

TEST_F(node_worker_test, async_handlers_report_progress_output_and_results) {
  const auto view = run({{"type", "count_primes"}, {"input", {{"below", 100000}}}});
  ASSERT_EQ(view["state"], "succeeded") << view.dump();
  EXPECT_EQ(view["result"]["count"], 9592);
  ws_client ws{port(), "/v1/jobs/" + view["id"].get<std::string>() + "/events?after=0"};
  std::vector<std::string> kinds;
  for (const auto& e : ws.read_all())
    kinds.push_back(e["type"].get<std::string>());
  EXPECT_EQ(kinds, (std::vector<std::string>{"queued", "started", "progress", "progress", "progress",
                                             "output", "succeeded"}));
  const auto bad = http_post(port(), "/v1/jobs", {{"type", "count_primes"}, {"input", {{"below", 1}}}});
  EXPECT_EQ(bad.json()["error"]["message"], "input.below: must be at least 2");
}

TEST_F(node_worker_test, thrown_errors_fail_the_job_and_timeouts_and_cancels_replace_the_worker) {
  const auto failed = run({{"type", "node_fail"}, {"input", json::object()}});
  EXPECT_EQ(failed["state"], "failed");
  EXPECT_EQ(failed["error"]["message"], "bad_input: failed on purpose");
  const auto thrown = run({{"type", "node_throw"}, {"input", json::object()}});
  EXPECT_EQ(thrown["error"]["code"], "handler_error");
  EXPECT_EQ(thrown["error"]["message"], "TypeError: something broke");
  for (const auto& [kind, why] : {std::pair{"bigint", "BigInt"}, {"function", "not JSON"}}) {
    const auto unsendable = run({{"type", "node_unsendable"}, {"input", {{"kind", kind}}}});
    EXPECT_EQ(unsendable["error"]["code"], "handler_error") << unsendable.dump();
    EXPECT_NE(unsendable["error"]["message"].get<std::string>().find(why), std::string::npos)
        << unsendable.dump();
  }
  const auto crashed = run({{"type", "node_crash"}, {"input", json::object()}});
  EXPECT_EQ(crashed["state"], "crashed") << crashed.dump();
  EXPECT_NE(crashed["error"]["message"].get<std::string>().find("SIGKILL"), std::string::npos);
  EXPECT_EQ(run({{"type", "node_sleep"}, {"input", {{"ms", 60000}}}, {"timeout_ms", 300}})["state"],
            "timed_out");
  const auto job = submit(port(), {{"type", "node_sleep"}, {"input", {{"ms", 60000}}}});
  const auto id = job["id"].get<std::string>();
  wait_for_job(port(), id, [](const json& v) { return is_state(v, "running"); });
  EXPECT_EQ(http_delete(port(), "/v1/jobs/" + id).status, 200u);
  EXPECT_EQ(wait_for_job(port(), id, is_terminal_view)["state"], "cancelled");
  EXPECT_EQ(run({{"type", "node_sleep"}, {"input", {{"ms", 1}}}})["result"]["slept"], 1);
}

// A worker (on the Python SDK) that misbehaves: the service stays up, each job ends once, no process is
// left behind.
class hostile_worker_test : public ::testing::Test {
 protected:
  temp_dir dir_;
  offloadd_process server_{{"--config", write_config(), "--kill-grace-ms", "300"}};
  unsigned short port() const { return server_.port(); }

  std::string write_config() {
    const std::string script = std::string{OFFLOAD_SOURCE_DIR} + "/tests/support/hostile_worker.py";
    return dir_.write(
        "hostile.json",
        json{{"workers",
              {{"hostile",
                {{"argv", {python, script}},
                 {"types", {"ignore_term", "leak_grandchild", "flood_stderr", "flood_stdout", "garbage"}},
                 {"pool", 1},
                 {"max_jobs", 1}}}}}}
            .dump());
  }
  json run(const json& body) const { return run_job(port(), body); }
  // The pids of this pool's workers (not the built-in ones).
  std::vector<int> hostile_workers() const {
    std::vector<int> out;
    for (const int pid : children_of(server_.pid())) {
      const auto argv = command_line(pid);
      if (argv.size() >= 2 && argv[1].ends_with("hostile_worker.py")) out.push_back(pid);
    }
    return out;
  }
  void expect_healthy() {
    EXPECT_EQ(http_get(port(), "/healthz").status, 200u);
    EXPECT_EQ(run({{"type", "echo"}, {"input", {{"ok", 1}}}})["state"], "succeeded");
  }
};

TEST_F(hostile_worker_test, a_worker_ignoring_sigterm_is_killed_and_its_job_cancelled_once) {
  const auto job = submit(port(), {{"type", "ignore_term"}, {"input", json::object()}});
  const auto id = job["id"].get<std::string>();
  wait_for_job(port(), id, [](const json& v) { return v.contains("progress"); });
  const auto workers = hostile_workers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(http_delete(port(), "/v1/jobs/" + id).status, 200u);
  EXPECT_EQ(wait_for_job(port(), id, is_terminal_view)["state"], "cancelled");
  for (const int pid : workers)
    wait_until([&] { return process_dead(pid); }, "the SIGTERM-proof worker to be killed");
  expect_healthy();
}

TEST_F(hostile_worker_test, a_grandchild_dies_with_its_worker) {
  const auto pidfile = (dir_.path() / "grandchild.pid").string();
  const auto done = run({{"type", "leak_grandchild"}, {"input", {{"pidfile", pidfile}}}});
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  const int grandchild = done["result"]["grandchild"].get<int>();
  // max_jobs 1: the worker is retired after the job, and its whole group with it.
  wait_until([&] { return process_dead(grandchild); }, "the leaked grandchild to be killed");
  expect_healthy();
}

TEST_F(hostile_worker_test, floods_and_garbage_end_the_job_not_the_service) {
  EXPECT_EQ(run({{"type", "flood_stderr"}, {"input", {{"mib", 8}}}})["state"], "succeeded");
  const auto oversize = run({{"type", "flood_stdout"}, {"input", {{"mib", 20}}}});
  EXPECT_EQ(oversize["state"], "crashed") << oversize.dump();
  EXPECT_EQ(oversize["error"]["code"], "protocol_error");
  const auto garbage = run({{"type", "garbage"}, {"input", json::object()}});
  EXPECT_EQ(garbage["state"], "crashed") << garbage.dump();
  EXPECT_EQ(garbage["error"]["code"], "protocol_error");
  expect_healthy();
  wait_until([&] { return hostile_workers().size() <= 1; }, "no worker left over beyond the pool's one");
}

TEST(user_worker_pool_test, a_worker_serving_other_types_than_configured_stops_its_pool_with_a_clear_error) {
  temp_dir dir;
  const auto config =
      dir.write("w.json", json{{"workers", {{"py", python_pool({"word_count", "not_served"})}}}}.dump());
  offloadd_process server{{"--config", config}};
  const auto job = submit(server.port(), {{"type", "not_served"}, {"input", json::object()}});
  const auto view = wait_for_job(server.port(), job["id"].get<std::string>(), is_terminal_view);
  EXPECT_EQ(view["state"], "failed") << view.dump();
  EXPECT_EQ(view["error"]["code"], "worker_unavailable");
  EXPECT_NE(view["error"]["message"].get<std::string>().find("'not_served'"), std::string::npos);
  const auto ready = http_get(server.port(), "/readyz");
  EXPECT_EQ(ready.status, 200u) << "the rest of the server works";
  ASSERT_TRUE(ready.json().contains("degraded")) << ready.body;
  EXPECT_NE(ready.json()["degraded"][0].get<std::string>().find("worker pool py"), std::string::npos);
  EXPECT_NE(http_get(server.port(), "/metrics").body.find("offload_process_pool_healthy{pool=\"py\"} 0\n"),
            std::string::npos);
}

TEST(user_worker_pool_test, a_worker_that_exits_at_once_fails_jobs_instead_of_hanging) {
  temp_dir dir;
  const auto config = dir.write(
      "w.json", json{{"workers", {{"dies", {{"argv", {"/bin/false"}}, {"types", {"doomed"}}}}}}}.dump());
  offloadd_process server{{"--config", config}};
  const auto job = submit(server.port(), {{"type", "doomed"}, {"input", json::object()}});
  const auto view =
      wait_for_job(server.port(), job["id"].get<std::string>(), is_terminal_view, std::chrono::seconds{60});
  EXPECT_EQ(view["state"], "failed") << view.dump();
  EXPECT_EQ(view["error"]["code"], "worker_unavailable");
  wait_until([&] { return http_get(server.port(), "/readyz").json().contains("degraded"); },
             "the crash loop to show in /readyz", std::chrono::seconds{60});
  EXPECT_EQ(http_get(server.port(), "/healthz").status, 200u);
}

TEST(user_worker_pool_test, a_stored_job_whose_pool_is_gone_after_a_restart_fails_clearly) {
  temp_dir dir;
  const auto data = (dir.path() / "data").string();
  const auto config = dir.write("w.json", json{{"workers", {{"py", python_pool({"word_count"})}}}}.dump());
  std::string id;
  {
    offloadd_process server{{"--config", config, "--data-dir", data}};
    // Delayed by an hour: it is still queued when the server stops.
    id = submit(server.port(),
                {{"type", "word_count"}, {"input", {{"text", "a"}}}, {"delay_ms", 3600000}})["id"];
    server.signal(SIGKILL);
    ASSERT_TRUE(server.wait_exit(std::chrono::seconds{20}).has_value());
  }
  offloadd_process server{{"--data-dir", data}};
  const auto view = http_get(server.port(), "/v1/jobs/" + id).json();
  EXPECT_EQ(view["state"], "failed") << view.dump();
  EXPECT_EQ(view["error"]["code"], "unknown_type");
  EXPECT_NE(view["error"]["message"].get<std::string>().find("no longer served"), std::string::npos);
}

TEST(user_worker_pool_test, bad_worker_configurations_stop_start_up_naming_the_field) {
  temp_dir dir;
  const auto check = [&](const json& workers, const std::string& expected) {
    const auto path = dir.write("bad.json", json{{"workers", workers}}.dump());
    const auto [code, output] = offloadd_process::run_to_exit({"--listen", "127.0.0.1:0", "--config", path});
    EXPECT_EQ(code, 2) << output;
    EXPECT_NE(output.find(expected), std::string::npos) << "expected '" << expected << "' in " << output;
  };
  check({{"w", {{"argv", {"/no/such/worker"}}, {"types", {"a"}}}}},
        "workers.w.argv[0]: /no/such/worker is not");
  check({{"w", {{"argv", {"/bin/true"}}, {"types", {"a"}}, {"pool", 0}}}}, "workers.w.pool: must be from 1");
  check({{"w", {{"argv", {"/bin/true"}}, {"types", {"sum"}}}}},
        "'sum' is already the name of a built-in type");
  check({{"w", {{"argv", {"/bin/true"}}, {"types", {"a"}}}},
         {"v", {{"argv", {"/bin/true"}}, {"types", {"a"}}}}},
        "type 'a' is already served by pool 'v'");
  check({{"w", {{"argv", {"/bin/true"}}, {"types", json::array()}}}},
        "workers.w.types: must name at least one");
  check({{"w", {{"argv", {"/bin/true"}}, {"types", {"a"}}, {"input_schema", {{"type", "objekt"}}}}}},
        "workers.w.input_schema: type: must name object");
  check({{"w", {{"argv", {"/bin/true"}}, {"types", {"a"}}, {"input_schema", {{"pattern", "^a"}}}}}},
        "pattern: is not a supported keyword");
  check(
      {{"w", {{"argv", {"/bin/true"}}, {"types", {"a"}}, {"cmd", "x"}}}},
      "workers.w.cmd: unknown field (known: argv, types, pool, max_jobs, timeout_ms, ready_timeout_ms, env, "
      "limits, input_schema, description)");
}

}  // namespace
}  // namespace offload::test

namespace offload::test {
namespace {

// A worker that never says `ready` is killed after the pool's `ready_timeout_ms` and counted as a start-up
// failure; its job fails `worker_unavailable` naming the reason.
TEST(user_worker_pool_test, a_worker_that_never_says_ready_fails_after_its_ready_timeout) {
  temp_dir dir;
  const auto config = dir.write(
      "w.json",
      json{{"workers",
            {{"mute",
              {{"argv", {TEST_CHILD_PATH, "hang"}}, {"types", {"quiet"}}, {"ready_timeout_ms", 300}}}}}}
          .dump());
  offloadd_process server{{"--config", config, "--store", "memory"}};
  const auto started = std::chrono::steady_clock::now();
  const auto view = run_job(server.port(), {{"type", "quiet"}, {"input", json::object()}});
  EXPECT_EQ(view["state"], "failed") << view.dump();
  EXPECT_EQ(view["error"]["code"], "worker_unavailable");
  EXPECT_NE(view["error"]["message"].get<std::string>().find("no ready line within 300 ms"),
            std::string::npos)
      << view.dump();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds{9})
      << "well before the 10 s default";
}

// What a worker writes to stderr reaches offloadd's log, with its pool and pid.
TEST(user_worker_pool_test, worker_stderr_goes_to_the_log) {
  temp_dir dir;
  const std::string script = std::string{OFFLOAD_SOURCE_DIR} + "/tests/support/hostile_worker.py";
  const auto config = dir.write(
      "w.json", json{{"workers", {{"talky", {{"argv", {python, script}}, {"types", {"complain"}}}}}}}.dump());
  const auto log = (dir.path() / "offloadd.log").string();
  offloadd_process server{{"--config", config, "--store", "memory"}, {}, log};
  EXPECT_EQ(run_job(server.port(), {{"type", "complain"}, {"input", {{"what", "the moon"}}}})["state"],
            "succeeded");
  wait_until(
      [&] {
        const auto text = file_text(log);
        return text.find("\"msg\":\"worker stderr\"") != std::string::npos &&
               text.find("something is off with the moon") != std::string::npos &&
               text.find("\"pool\":\"talky\"") != std::string::npos;
      },
      "the worker's stderr line in the log");
}

}  // namespace
}  // namespace offload::test
