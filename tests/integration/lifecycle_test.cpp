// Scheduling and lifecycle of a real offloadd: queue bound, priorities, responsiveness, retention, drain.
#include "support/http_client.hpp"
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"
#include "support/proc_helpers.hpp"
#include "support/raw_socket.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <future>
#include <thread>

namespace offload::test {
namespace {

using nlohmann::json;

const json long_sleep{{"type", "sleep"}, {"input", {{"ms", 600000}}}};

std::string running_sleep(unsigned short port) {
  const auto id = submit(port, long_sleep)["id"].get<std::string>();
  wait_for_job(port, id, [](const json& v) { return is_state(v, "running"); });
  return id;
}

TEST(lifecycle, reactor_answers_while_every_pool_thread_is_busy) {
  offloadd_process server{{"--threads", "2"}};
  const auto port = server.port();
  const auto a = running_sleep(port);
  const auto b = running_sleep(port);

  // Both threads are taken. The reactor must still answer at once…
  EXPECT_EQ(http_get(port, "/healthz").status, 200u);
  const auto queued = submit(port, {{"type", "echo"}, {"input", {{"x", 1}}}});
  EXPECT_EQ(queued["state"], "queued");
  EXPECT_EQ(http_get(port, "/v1/types").status, 200u);
  // …and it did so before either long job ended: they are still running now.
  EXPECT_EQ(http_get(port, "/v1/jobs/" + a).json()["state"], "running");
  EXPECT_EQ(http_get(port, "/v1/jobs/" + b).json()["state"], "running");

  // Freeing one thread lets the queued job run.
  ASSERT_EQ(http_delete(port, "/v1/jobs/" + a).status, 200u);
  const auto done = wait_for_job(port, queued["id"], is_terminal_view);
  EXPECT_EQ(done["state"], "succeeded");
  EXPECT_EQ(http_get(port, "/v1/jobs/" + b).json()["state"], "running");
  ASSERT_EQ(http_delete(port, "/v1/jobs/" + b).status, 200u);
}

TEST(lifecycle, full_queue_answers_429_with_retry_after_and_loses_nothing) {
  offloadd_process server{{"--threads", "1", "--max-queued", "2"}};
  const auto port = server.port();
  const auto blocker = running_sleep(port);
  const auto q1 = submit(port, {{"type", "echo"}, {"input", {{"q", 1}}}})["id"].get<std::string>();
  const auto q2 = submit(port, {{"type", "echo"}, {"input", {{"q", 2}}}})["id"].get<std::string>();

  const auto full = http_post(port, "/v1/jobs", {{"type", "echo"}});
  ASSERT_EQ(full.status, 429u) << full.body;
  EXPECT_EQ(full.json()["error"]["code"], "queue_full");
  const auto retry = std::stoi(full.header("retry-after"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 60);

  // Cancelling a queued job frees its place at once.
  const auto cancelled = http_delete(port, "/v1/jobs/" + q1);
  ASSERT_EQ(cancelled.status, 200u);
  EXPECT_EQ(cancelled.json()["state"], "cancelled");
  EXPECT_FALSE(cancelled.json().contains("started_at")) << "a cancelled queued job never started";
  const auto q3 = submit(port, {{"type", "echo"}, {"input", {{"q", 3}}}})["id"].get<std::string>();

  // Every accepted job reaches exactly one terminal state.
  ASSERT_EQ(http_delete(port, "/v1/jobs/" + blocker).status, 200u);
  EXPECT_EQ(wait_for_job(port, q2, is_terminal_view)["state"], "succeeded");
  EXPECT_EQ(wait_for_job(port, q3, is_terminal_view)["state"], "succeeded");
  EXPECT_EQ(http_get(port, "/v1/jobs/" + q1).json()["state"], "cancelled");
}

TEST(lifecycle, higher_priority_runs_first_and_fifo_within_a_priority) {
  offloadd_process server{{"--threads", "1"}};
  const auto port = server.port();
  const auto blocker = running_sleep(port);
  const auto low = submit(port, {{"type", "echo"}, {"priority", 0}})["id"].get<std::string>();
  const auto mid1 = submit(port, {{"type", "echo"}, {"priority", 5}})["id"].get<std::string>();
  const auto mid2 = submit(port, {{"type", "echo"}})["id"].get<std::string>();
  const auto high = submit(port, {{"type", "echo"}, {"priority", 9}})["id"].get<std::string>();
  ASSERT_EQ(http_delete(port, "/v1/jobs/" + blocker).status, 200u);

  // One thread runs them one after another: each started no earlier than the previous one finished.
  std::vector<json> order;
  for (const auto& id : {high, mid1, mid2, low})
    order.push_back(wait_for_job(port, id, is_terminal_view));
  for (std::size_t i = 1; i < order.size(); ++i)
    EXPECT_GE(order[i]["started_at"].get<std::string>(), order[i - 1]["finished_at"].get<std::string>())
        << order[i].dump() << " vs " << order[i - 1].dump();
  for (const auto& view : order)
    EXPECT_EQ(view["state"], "succeeded");
}

TEST(lifecycle, retention_evicts_the_oldest_finished_jobs) {
  offloadd_process server{{"--retain-jobs", "3"}};
  const auto port = server.port();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(
        http_post(port, "/v1/jobs?wait=10", {{"type", "echo"}, {"input", {{"i", i}}}}).json()["id"]);
  EXPECT_EQ(http_get(port, "/v1/jobs/" + ids[0]).status, 404u);
  EXPECT_EQ(http_get(port, "/v1/jobs/" + ids[1]).status, 404u);
  for (int i = 2; i < 5; ++i)
    EXPECT_EQ(http_get(port, "/v1/jobs/" + ids[i]).status, 200u);
  EXPECT_EQ(http_get(port, "/v1/jobs").json()["jobs"].size(), 3u);
}

// Kept while younger than --retain-seconds, then removed by the periodic sweep (every second), with both
// stores. (With 0 s the job was gone on finishing, so the sweep itself was never tested.)
TEST(lifecycle, retention_by_age_evicts_finished_jobs) {
  for (const auto* store : {"sqlite", "memory"}) {
    offloadd_process server{{"--retain-seconds", "2", "--store", store}};
    const auto port = server.port();
    const auto id = http_post(port, "/v1/jobs?wait=10", {{"type", "echo"}}).json()["id"].get<std::string>();
    const auto finished = std::chrono::steady_clock::now();
    EXPECT_EQ(http_get(port, "/v1/jobs/" + id).status, 200u) << store << ": kept while young";
    wait_until([&] { return http_get(port, "/v1/jobs/" + id).status == 404; },
               std::string{store} + ": the sweep to evict the aged job", std::chrono::seconds{15});
    EXPECT_GE(std::chrono::steady_clock::now() - finished, std::chrono::milliseconds{1500}) << store;
  }
}

// Polls /readyz on a kept-alive connection until it says 503: proof the signal was handled.
void wait_until_draining(http_connection& conn) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (conn.request("GET", "/readyz").status != 503) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "offloadd never started draining";
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

// Submits `body` with ?wait on its own connection from another thread.
std::future<http_response> submit_and_wait(unsigned short port, const json& body) {
  return std::async(std::launch::async, [port, body] { return http_post(port, "/v1/jobs?wait=120", body); });
}

// Waits until `n` jobs are running.
void wait_running(unsigned short port, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (http_get(port, "/v1/jobs?state=running").json()["jobs"].size() != n) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

TEST(lifecycle, sigterm_lets_running_jobs_finish_then_exits_zero) {
  offloadd_process server{{"--drain-seconds", "30"}};
  const auto port = server.port();
  http_connection conn{port};
  auto waiting = submit_and_wait(port, {{"type", "sleep"}, {"input", {{"ms", 1000}}}});
  wait_running(port, 1);

  server.signal(SIGTERM);
  wait_until_draining(conn);
  // The kept-alive connection still gets answers while draining, and new jobs are refused.
  const auto refused = conn.request("POST", "/v1/jobs", json{{"type", "echo"}}.dump());
  EXPECT_EQ(refused.status, 503u);
  EXPECT_EQ(refused.json()["error"]["code"], "draining");
  // Following jobs still works while draining: WebSocket upgrades are accepted until the end.
  EXPECT_EQ(ws_client::refused_status(port, "/v1/ws"), 0u);

  // The running job was allowed to finish, and its waiting client got the final answer.
  ASSERT_EQ(waiting.wait_for(std::chrono::seconds{30}), std::future_status::ready);
  const auto answer = waiting.get();
  EXPECT_EQ(answer.status, 200u) << answer.body;
  EXPECT_EQ(answer.json()["state"], "succeeded");
  const auto exit_code = server.wait_exit(std::chrono::seconds{20});
  ASSERT_TRUE(exit_code.has_value()) << "offloadd did not exit after draining";
  EXPECT_EQ(*exit_code, 0);
}

// With the memory store nothing outlives the process: what is left at the end of the grace is cancelled.
TEST(lifecycle, drain_grace_expiry_cancels_the_rest_and_exits_zero) {
  offloadd_process server{{"--drain-seconds", "1", "--threads", "1", "--store", "memory"}};
  const auto port = server.port();
  auto running = submit_and_wait(port, long_sleep);
  wait_running(port, 1);
  auto queued = submit_and_wait(port, {{"type", "echo"}});
  // Both requests are in: one job runs, one waits in the queue.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (http_get(port, "/v1/jobs?state=queued").json()["jobs"].size() != 1) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }

  server.signal(SIGTERM);
  ASSERT_EQ(running.wait_for(std::chrono::seconds{30}), std::future_status::ready);
  ASSERT_EQ(queued.wait_for(std::chrono::seconds{30}), std::future_status::ready);
  const auto r = running.get().json();
  EXPECT_EQ(r["state"], "cancelled");
  EXPECT_EQ(r["error"]["code"], "shutdown");
  const auto q = queued.get().json();
  EXPECT_EQ(q["state"], "cancelled");
  EXPECT_EQ(q["error"]["code"], "shutdown");
  const auto exit_code = server.wait_exit(std::chrono::seconds{20});
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, 0);
}

TEST(lifecycle, second_signal_stops_at_once) {
  offloadd_process server{{"--drain-seconds", "600"}};
  const auto port = server.port();
  http_connection conn{port};
  running_sleep(port);
  server.signal(SIGTERM);
  wait_until_draining(conn);
  server.signal(SIGINT);
  const auto exit_code = server.wait_exit(std::chrono::seconds{20});
  ASSERT_TRUE(exit_code.has_value()) << "a second signal must not wait for the 600 s grace";
  EXPECT_EQ(*exit_code, 0);
}

}  // namespace
}  // namespace offload::test

namespace offload::test {
namespace {

// At the end of a drain every WebSocket session is closed with 1001; an upgrade asked for after that, on a
// connection kept alive from before, is refused with 503 draining. (A client that does not answer its
// close keeps offloadd waiting up to 2 s: the window in which the upgrade arrives.)
TEST(lifecycle, after_the_drain_sessions_get_1001_and_late_upgrades_503) {
  offloadd_process server{{"--store", "memory", "--drain-seconds", "30"}};
  const auto port = server.port();
  raw_socket kept{port};
  ASSERT_TRUE(kept.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(kept.read_some(std::chrono::seconds{10}).rfind("HTTP/1.1 200", 0), 0u);
  ws_client deaf{port, "/v1/ws"};  // never reads: its close handshake does not finish
  ws_client listener{port, "/v1/ws"};
  server.signal(SIGTERM);
  EXPECT_FALSE(listener.read(std::chrono::seconds{20}).has_value());
  EXPECT_EQ(listener.close_code(), 1001);
  ASSERT_TRUE(
      kept.send("GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  const auto answer = kept.read_some(std::chrono::seconds{10});
  EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0u) << answer;
  EXPECT_NE(answer.find("draining"), std::string::npos) << answer;
  EXPECT_EQ(server.wait_exit(std::chrono::seconds{20}), 0);
}

}  // namespace
}  // namespace offload::test
