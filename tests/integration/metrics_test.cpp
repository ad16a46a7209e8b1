// GET /metrics of a real offloadd: valid Prometheus text, counters that move, the reactor-lag histogram,
// and lag-based readiness.
#include "support/http_client.hpp"
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"
#include "support/proc_helpers.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <unistd.h>

namespace offload::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A test parser of the text format: every sample line as "name{labels}" → value, checking the grammar and
// that each sample belongs to a family declared by # TYPE.
std::map<std::string, double> parse_prometheus(const std::string& text) {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      types[name] = type;
      continue;
    }
    EXPECT_NE(line[0], '#') << line;
    const auto space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    const auto key = line.substr(0, space);
    const auto name = key.substr(0, key.find('{'));
    EXPECT_FALSE(name.empty());
    for (const char c : name)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':') << line;
    if (key.find('{') != std::string::npos) {
      EXPECT_EQ(key.back(), '}') << line;
    }
    std::string family = name;
    for (const auto* suffix : {"_bucket", "_sum", "_count"})
      if (!types.count(family) && family.size() > std::strlen(suffix) &&
          family.compare(family.size() - std::strlen(suffix), std::string::npos, suffix) == 0)
        family = family.substr(0, family.size() - std::strlen(suffix));
    EXPECT_TRUE(types.count(family)) << "no # TYPE for " << line;
    const auto value = line.substr(space + 1);
    samples[key] = value == "+Inf" ? INFINITY : std::stod(value);
  }
  return samples;
}

double value(const std::map<std::string, double>& samples, const std::string& key) {
  const auto it = samples.find(key);
  if (it == samples.end()) {
    ADD_FAILURE() << "no sample " << key;
    return -1;
  }
  return it->second;
}

std::map<std::string, double> scrape(unsigned short port) {
  const auto r = http_get(port, "/metrics");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  return parse_prometheus(r.body);
}

TEST(metrics_test, counters_move_as_jobs_run) {
  offloadd_process server{{"--process-workers", "1"}};
  const auto before = scrape(server.port());
  for (int i = 0; i < 3; ++i)
    submit(server.port(), {{"type", "sum"}, {"input", {{"n", 1000}}}}, "?wait=10", 200);
  submit(server.port(), {{"type", "echo"}, {"lane", "process"}}, "?wait=10", 200);
  EXPECT_EQ(http_get(server.port(), "/v1/jobs/000000000000deadbeef").status, 404u);
  const auto after = scrape(server.port());
  const auto delta = [&](const std::string& key) {
    const auto b = before.count(key) ? before.at(key) : 0.0;
    EXPECT_TRUE(after.count(key)) << key;
    return after.count(key) ? value(after, key) - b : -1.0;
  };
  EXPECT_EQ(delta(R"(offload_jobs_submitted_total{type="sum",lane="thread"})"), 3);
  EXPECT_EQ(delta(R"(offload_jobs_finished_total{type="sum",lane="thread",state="succeeded"})"), 3);
  EXPECT_EQ(delta(R"(offload_jobs_finished_total{type="echo",lane="process",state="succeeded"})"), 1);
  EXPECT_EQ(delta(R"(offload_job_run_seconds_count{lane="thread"})"), 3);
  EXPECT_EQ(delta(R"(offload_job_queue_wait_seconds_count{lane="process"})"), 1);
  EXPECT_EQ(delta(R"(offload_http_requests_total{route="/v1/jobs",status="200"})"), 4);
  EXPECT_EQ(delta(R"(offload_http_requests_total{route="/v1/jobs/{id}",status="404"})"), 1);
  EXPECT_EQ(value(after, R"(offload_jobs_queued{lane="thread"})"), 0);
  EXPECT_EQ(value(after, R"(offload_process_workers{pool="builtin",state="idle"})") +
                value(after, R"(offload_process_workers{pool="builtin",state="busy"})"),
            1);
  EXPECT_GE(value(after, "offload_http_connections"), 1);
  EXPECT_GT(value(after, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(value(after, "process_start_time_seconds"), 1.6e9);
  // The lag histogram is there from the start and samples continuously (every 20 ms); its buckets are
  // cumulative and end at the count.
  wait_until([&] { return value(scrape(server.port()), "offload_reactor_lag_seconds_count") > 0; },
             "a lag sample");
  const auto sampled = scrape(server.port());
  EXPECT_GT(value(sampled, "offload_reactor_lag_seconds_count"), 0);
  EXPECT_EQ(value(sampled, R"(offload_reactor_lag_seconds_bucket{le="+Inf"})"),
            value(sampled, "offload_reactor_lag_seconds_count"));
  EXPECT_LE(value(sampled, R"(offload_reactor_lag_seconds_bucket{le="0.001"})"),
            value(sampled, R"(offload_reactor_lag_seconds_bucket{le="0.01"})"));
}

// The job store's commits: each `?wait` job is stored before it runs and its end before the answer, so three
// jobs one after the other take at least six commits, carrying the three writes of each; nothing stays
// pending; /v1/stats reports the same counts. A store that writes nothing (memory) has no such series and
// no `store_commits`.
TEST(metrics_test, the_store_s_commits_are_counted) {
  offloadd_process server;
  const auto before = scrape(server.port());
  for (int i = 0; i < 3; ++i)
    submit(server.port(), {{"type", "echo"}, {"input", {{"i", i}}}}, "?wait=10", 200);
  wait_until([&] { return metric_value(server.port(), "offload_store_pending_operations") == 0; },
             "the store's writes to be committed");
  const auto after = scrape(server.port());
  const auto delta = [&](const std::string& key) { return value(after, key) - value(before, key); };
  EXPECT_GE(delta("offload_store_commit_seconds_count"), 6);
  EXPECT_GE(delta("offload_store_operations_total"), 9);
  EXPECT_GT(delta("offload_store_commit_seconds_sum"), 0);
  EXPECT_EQ(value(after, R"(offload_store_commit_seconds_bucket{le="+Inf"})"),
            value(after, "offload_store_commit_seconds_count"));
  EXPECT_EQ(value(after, "offload_store_commit_failures_total"), 0);
  // /v1/stats (the dashboard) reads the same counts, a moment later.
  const auto stats = http_get(server.port(), "/v1/stats").json();
  ASSERT_TRUE(stats.contains("store_commits")) << stats;
  const auto& commits = stats["store_commits"];
  EXPECT_GE(commits["commits"].get<double>(), value(after, "offload_store_commit_seconds_count"));
  EXPECT_GE(commits["operations"].get<double>(), value(after, "offload_store_operations_total"));
  EXPECT_GE(commits["seconds"].get<double>(), value(after, "offload_store_commit_seconds_sum"));
  EXPECT_EQ(commits["failures"], 0);
  EXPECT_TRUE(commits["pending"].is_number_unsigned()) << commits;

  offloadd_process memory{{"--store", "memory"}};
  submit(memory.port(), {{"type", "echo"}, {"input", json::object()}}, "?wait=10", 200);
  EXPECT_EQ(metric_value(memory.port(), "offload_store_commit_seconds_count"), -1);
  EXPECT_FALSE(http_get(memory.port(), "/v1/stats").json().contains("store_commits"));
}

TEST(metrics_test, metrics_are_open_unless_metrics_auth) {
  offloadd_process open{{}, {"OFFLOAD_TOKEN=secret"}};
  EXPECT_EQ(http_get(open.port(), "/metrics").status, 200u);
  EXPECT_EQ(http_get(open.port(), "/v1/types").status, 401u);
  offloadd_process closed{{"--metrics-auth", "true"}, {"OFFLOAD_TOKEN=secret"}};
  EXPECT_EQ(http_get(closed.port(), "/metrics").status, 401u);
  EXPECT_EQ(http_request(closed.port(), "GET", "/metrics", {}, {{"Authorization", "Bearer secret"}}).status,
            200u);
}

TEST(metrics_test, readiness_follows_reactor_lag) {
  // Parsing and answering 8 MB bodies holds the reactor for well over 25 ms (deliberately: it is the one
  // piece of work the reactor does in proportion to a request).
  offloadd_process server{{"--max-reactor-lag-ms", "25", "--max-body", "16m"}};
  const json big{{"type", "echo"},
                 {"input", {{"blob", std::vector<std::string>(40000, std::string(200, 'x'))}}}};
  http_response ready;
  wait_until(
      [&] {
        submit(server.port(), big, "?wait=10", 200);
        ready = http_get(server.port(), "/readyz");
        return ready.status == 503;
      },
      "readyz to report the lag", 30s);
  EXPECT_EQ(ready.json()["error"]["code"], "overloaded");
  EXPECT_EQ(http_get(server.port(), "/healthz").status, 200u) << "alive, only not ready";
  // Lag ages out of the 5 s window once the load stops.
  wait_until([&] { return http_get(server.port(), "/readyz").status == 200; }, "readyz to recover", 20s);
}

// After a burst, the memory of the jobs that queued goes back to the system once no job waits: 2,000 jobs
// with 16 KiB inputs queue behind a sleeping one in a lane of one thread, then run; only the newest 100
// finished jobs stay, and they, made last, sit above the space the others held, which glibc keeps by itself.
TEST(metrics_test, the_memory_of_a_drained_burst_goes_back_to_the_system) {
  if (!offloadd_process::plain()) GTEST_SKIP() << "a sanitizer's allocator is not glibc's: nothing to trim";
  offloadd_process server{
      {"--store", "memory", "--threads", "1", "--retain-jobs", "100", "--trim-memory", "8m"}};
  const auto port = server.port();
  const auto blocker =
      submit(port, {{"type", "sleep"}, {"input", {{"ms", 600000}}}})["id"].get<std::string>();
  wait_for_job(port, blocker, [](const json& v) { return is_state(v, "running"); });
  http_connection conn{port};
  const auto body = json{{"type", "echo"}, {"input", {{"blob", std::string(16384, 'x')}}}}.dump();
  for (int i = 0; i < 2000; ++i)
    ASSERT_EQ(conn.request("POST", "/v1/jobs", body).status, 202u) << "job " << i;
  const auto burst = scrape(port);
  EXPECT_EQ(value(burst, R"(offload_jobs_queued{lane="thread"})"), 2000);
  EXPECT_EQ(value(burst, "offload_memory_trims_total"), 0) << "no trim while jobs wait";
  const auto peak = value(burst, "process_resident_memory_bytes");
  ASSERT_EQ(http_delete(port, "/v1/jobs/" + blocker).status, 200u);
  wait_until([&] { return value(scrape(port), "offload_memory_trims_total") >= 1; }, "a trim", 30s);
  const auto after = scrape(port);
  EXPECT_EQ(value(after, R"(offload_jobs_queued{lane="thread"})"), 0);
  EXPECT_GE(value(after, "offload_memory_trimmed_bytes_total"), 16 << 20);
  EXPECT_LE(value(after, "process_resident_memory_bytes"), peak - (16 << 20)) << "peak " << peak;
}

// A stderr nobody reads (a full pipe) must not stall the service: log lines queue for the log thread, the
// ones beyond its 1 MiB are dropped and counted, and requests are answered throughout. (The old logger
// wrote stderr on the reactor: once the pipe was full, the submission loop below hung.)
TEST(log_test, a_stalled_stderr_drops_log_lines_instead_of_stalling_the_reactor) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  // offloadd inherits this process's stderr: make it the pipe while it starts, then restore ours.
  const int saved_stderr = ::dup(STDERR_FILENO);
  ::dup2(pipe_fds[1], STDERR_FILENO);
  std::optional<offloadd_process> server;
  try {
    server.emplace(std::vector<std::string>{"--log-level", "debug", "--threads", "2"});
  } catch (...) {
    ::dup2(saved_stderr, STDERR_FILENO);
    throw;
  }
  ::dup2(saved_stderr, STDERR_FILENO);
  ::close(saved_stderr);
  ::close(pipe_fds[1]);

  // Two debug lines per job (queued, finished), ~150 bytes each: 64 KiB of pipe and 1 MiB of queue fill
  // after about 3,700 jobs.
  http_connection conn{server->port()};
  const auto body = json{{"type", "echo"}, {"input", {{"n", 1}}}}.dump();
  for (int i = 0; i < 6000; ++i)
    ASSERT_EQ(conn.request("POST", "/v1/jobs", body).status, 202u) << "job " << i;
  wait_until([&] { return value(scrape(server->port()), "offload_log_lines_dropped_total") > 0; },
             "dropped log lines to be counted");
  EXPECT_EQ(http_get(server->port(), "/healthz").status, 200u);
  ::close(pipe_fds[0]);
}

}  // namespace
}  // namespace offload::test
