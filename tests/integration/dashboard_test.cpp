// What the dashboard reads: `GET /v1/stats`, the `watch` feed of `/v1/ws`, a job's input on request, and the
// dashboard's own files (public, under a content security policy). The browser tests (tests/ui) drive the
// page itself.
#include "support/http_client.hpp"
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"
#include "support/proc_helpers.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

namespace offload::test {
namespace {

using nlohmann::json;

std::uint64_t last_minute(const json& series) {
  std::uint64_t total = 0;
  for (const auto& n : series)
    total += n.get<std::uint64_t>();
  return total;
}

class dashboard_test : public ::testing::Test {
 protected:
  temp_dir dir_;
  std::string config_ =
      dir_.write("commands.json", json{{"commands", {{"exit3", test_command({"exit", "3"})}}}}.dump());
  offloadd_process server_{
      {"--config", config_, "--threads", "2", "--process-workers", "1", "--work-root", dir_.path().string()}};

  json stats() const {
    const auto r = http_get(server_.port(), "/v1/stats");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }

  // The next message of `op` on `ws`, skipping others; throws when none comes within `limit`.
  static json next_of(ws_client& ws, const std::string& op, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= std::chrono::milliseconds{0}) throw std::runtime_error("no " + op + " message in time");
      auto message = ws.read_json(left);
      if (!message) throw std::runtime_error("the socket closed while waiting for " + op);
      if ((*message)["op"] == op) return *message;
    }
  }
};

TEST_F(dashboard_test, stats_report_pools_jobs_and_what_finished_each_second) {
  const auto port = server_.port();
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(submit(port, {{"type", "sum"}, {"input", {{"n", 10}}}}, "?wait=10", 200)["state"], "succeeded");
  EXPECT_EQ(submit(port, {{"type", "exit3"}}, "?wait=10", 200)["state"], "failed");

  auto s = stats();
  EXPECT_EQ(s["jobs"]["submitted"], 4);
  EXPECT_EQ(s["jobs"]["finished"], 4);
  EXPECT_EQ(s["jobs"]["running"], 0);
  EXPECT_EQ(s["jobs"]["retained"], 4);
  EXPECT_EQ(s["store"].get<std::string>().rfind("sqlite:", 0), 0u) << s["store"];
  EXPECT_FALSE(s["draining"].get<bool>());
  ASSERT_EQ(s["pools"].size(), 3u) << s["pools"];
  EXPECT_EQ(s["pools"][0]["name"], "threads");
  EXPECT_EQ(s["pools"][0]["capacity"], 2);
  EXPECT_EQ(s["pools"][1]["name"], "builtin");
  EXPECT_EQ(s["pools"][1]["kind"], "workers");
  EXPECT_EQ(s["pools"][1]["capacity"], 1);
  EXPECT_TRUE(s["pools"][1]["workers"]["healthy"].get<bool>());
  EXPECT_EQ(s["pools"][2]["name"], "commands");
  EXPECT_FALSE(s["pools"][2].contains("workers"));
  for (const auto* state : {"succeeded", "failed", "cancelled", "timed_out"})
    EXPECT_EQ(s["finished_per_second"][state].size(), 120u) << state;
  EXPECT_EQ(s["reactor"]["lag_max_ms_per_second"].size(), 120u);
  EXPECT_GE(s["connections"]["http"], 1);
  EXPECT_GT(s["process"]["resident_bytes"], 0);

  // The second in which the jobs ended is counted once it is over (the series holds whole seconds only); the
  // reactor's lag is sampled every 20 ms from its start (this test may get here sooner).
  wait_until(
      [&] {
        s = stats();
        return last_minute(s["finished_per_second"]["succeeded"]) == 3 &&
               last_minute(s["finished_per_second"]["failed"]) == 1 && s["reactor"]["lag_ms"]["samples"] > 0;
      },
      "the finished jobs in the per-second series, and a sample of the reactor's lag",
      std::chrono::seconds{5});
  EXPECT_EQ(last_minute(s["finished_per_second"]["cancelled"]), 0u);
  EXPECT_GT(s["reactor"]["lag_ms"]["samples"], 0);

  // A running job shows in its pool.
  const auto sleeping = submit(port, {{"type", "sleep"}, {"input", {{"ms", 60000}}}});
  wait_for_job(port, sleeping["id"], [](const json& v) { return is_state(v, "running"); });
  s = stats();
  EXPECT_EQ(s["jobs"]["running"], 1);
  EXPECT_EQ(s["pools"][0]["running"], 1);
  EXPECT_EQ(http_delete(port, "/v1/jobs/" + sleeping["id"].get<std::string>()).status, 200);
}

TEST_F(dashboard_test, a_watcher_gets_stats_every_second_and_job_changes_in_batches) {
  const auto port = server_.port();
  ws_client ws{port, "/v1/ws"};
  ws.send(json{{"op", "watch"}, {"req", 1}});
  const auto ack = ws.read_json();
  ASSERT_TRUE(ack);
  EXPECT_EQ(*ack, (json{{"op", "ack"}, {"req", 1}, {"watch", {{"stats", true}, {"jobs", true}}}}));
  // The current statistics at once, then one message a second.
  const auto first = ws.read_json();
  ASSERT_TRUE(first);
  ASSERT_EQ((*first)["op"], "stats");
  EXPECT_EQ((*first)["stats"]["jobs"]["submitted"], 0);
  EXPECT_EQ((*first)["stats"]["connections"]["websocket"], 1);

  const auto job = submit(port, {{"type", "sum"}, {"input", {{"n", 1000}}}}, "?wait=10", 200);
  const auto id = job["id"].get<std::string>();
  // The job's changes: each batch names a job once, in its newest state; it ends as succeeded.
  std::string state;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (state != "succeeded") {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no batch said succeeded";
    const auto batch = next_of(ws, "jobs", std::chrono::seconds{5});
    std::size_t mentions = 0;
    for (const auto& view : batch["jobs"]) {
      if (view["id"] != id) continue;
      ++mentions;
      state = view["state"];
      EXPECT_FALSE(view.contains("result")) << "summaries only";
      EXPECT_EQ(view["type"], "sum");
    }
    EXPECT_LE(mentions, 1u) << batch;
  }
  const auto later = next_of(ws, "stats", std::chrono::seconds{3});
  EXPECT_EQ(later["stats"]["jobs"]["submitted"], 1);

  // Stats only: no job batches. Then unwatch: nothing more (a request's answer is the next message even
  // after a stats interval has passed).
  ws.send(json{{"op", "watch"}, {"req", 2}, {"jobs", false}});
  auto ack2 = next_of(ws, "ack", std::chrono::seconds{3});
  EXPECT_EQ(ack2["watch"], (json{{"stats", true}, {"jobs", false}}));
  ws.send(json{{"op", "unwatch"}, {"req", 3}});
  auto ack3 = next_of(ws, "ack", std::chrono::seconds{3});
  EXPECT_EQ(ack3["req"], 3);
  const double unwatched_at = stats()["uptime_seconds"];
  submit(port, {{"type", "sum"}, {"input", {{"n", 5}}}}, "?wait=10", 200);
  wait_until([&] { return stats()["uptime_seconds"].get<double>() > unwatched_at + 1.6; },
             "a stats interval to pass", std::chrono::seconds{5});
  ws.send(json{{"op", "subscribe"}, {"req", 4}, {"id", "00000000000000000000dead"}});
  const auto answer = ws.read_json(std::chrono::seconds{3});
  ASSERT_TRUE(answer);
  EXPECT_EQ((*answer)["op"], "error") << "nothing was sent after unwatch: " << *answer;
  EXPECT_EQ((*answer)["req"], 4);
}

TEST_F(dashboard_test, watch_requests_are_validated) {
  ws_client ws{server_.port(), "/v1/ws"};
  ws.send(json{{"op", "watch"}, {"req", 1}, {"stats", false}, {"jobs", false}});
  auto refused = ws.read_json();
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["op"], "error");
  EXPECT_EQ((*refused)["error"]["code"], "invalid_input");
  ws.send(json{{"op", "watch"}, {"req", 2}, {"stats", "yes"}});
  refused = ws.read_json();
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["error"]["message"], "stats: must be true or false");
  ws.send(json{{"op", "watch"}, {"req", 3}, {"stats", false}});
  const auto ack = ws.read_json();
  ASSERT_TRUE(ack);
  EXPECT_EQ((*ack)["watch"], (json{{"stats", false}, {"jobs", true}}));
}

TEST_F(dashboard_test, a_job_carries_its_input_only_when_asked) {
  const auto port = server_.port();
  const auto job =
      submit(port, {{"type", "echo"}, {"input", {{"a", json::array({1, "x"})}}}}, "?wait=10", 200);
  const auto path = "/v1/jobs/" + job["id"].get<std::string>();
  EXPECT_FALSE(job.contains("input"));
  EXPECT_FALSE(http_get(port, path).json().contains("input"));
  EXPECT_EQ(http_get(port, path + "?input=true").json()["input"], (json{{"a", json::array({1, "x"})}}));
  EXPECT_FALSE(http_get(port, path + "?input=false").json().contains("input"));
  const auto bad = http_get(port, path + "?input=1");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json()["error"]["message"], "input: must be true or false");
}

TEST(dashboard_files, are_public_and_sent_under_a_content_security_policy_while_the_data_needs_the_token) {
  temp_dir dir;
  const auto tokens = dir.write("tokens", "dashboard-token\n");
  offloadd_process server{{"--token-file", tokens}};
  const auto port = server.port();
  EXPECT_EQ(http_get(port, "/v1/stats").status, 401);
  const auto root = http_get(port, "/");
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(root.header("location"), "/ui/");
  EXPECT_EQ(http_get(port, "/ui").header("location"), "/ui/");
  const auto page = http_get(port, "/ui/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.header("content-security-policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(page.header("content-security-policy").find("unsafe"), std::string::npos);
  EXPECT_EQ(page.header("x-content-type-options"), "nosniff");
  EXPECT_NE(page.body.find("<script type=\"module\" src=\"app.js\"></script>"), std::string::npos);
  const auto script = http_get(port, "/ui/app.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.header("content-type"), "text/javascript; charset=utf-8");
  const auto again = http_request(port, "GET", "/ui/app.js", {}, {{"If-None-Match", script.header("etag")}});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(http_get(port, "/ui/missing.js").status, 404);
  EXPECT_EQ(http_get(port, "/ui/../v1/stats").status, 401)
      << "a path out of /ui/ is the API's, token and all";
  const auto authorised =
      http_request(port, "GET", "/v1/stats", {}, {{"Authorization", "Bearer dashboard-token"}});
  EXPECT_EQ(authorised.status, 200);
}

}  // namespace
}  // namespace offload::test
