// Jobs outlive offloadd: the real binary on a real SQLite file in a temp dir, killed with SIGKILL (or
// stopped with SIGTERM) and started again on the same directory.
#include "support/http_client.hpp"
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"
#include "support/proc_helpers.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sys/mount.h>
#include <thread>

namespace offload::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A tmpfs of 4 MiB in a temp dir, a disk that fills up quickly; `unavailable` says why there is none
// (mounting needs root).
struct small_disk {
  temp_dir dir;
  std::optional<std::string> unavailable;
  small_disk() {
    if (::geteuid() != 0)
      unavailable = "needs root to mount a tmpfs of a few MiB";
    else if (::mount("tmpfs", dir.path().c_str(), "tmpfs", 0, "size=4m") != 0)
      unavailable = std::string{"cannot mount a tmpfs here: "} + std::strerror(errno);
  }
  ~small_disk() {
    if (!unavailable) ::umount2(dir.path().c_str(), MNT_DETACH);
  }
  small_disk(const small_disk&) = delete;
  small_disk& operator=(const small_disk&) = delete;
};

class durability_test : public ::testing::Test {
 protected:
  std::vector<std::string> args(std::vector<std::string> extra = {}) const {
    std::vector<std::string> out{"--data-dir",        data_.string(),
                                 "--config",          config_,
                                 "--work-root",       dir_.path().string(),
                                 "--threads",         "2",
                                 "--process-workers", "2"};
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
  }
  std::unique_ptr<offloadd_process> start(std::vector<std::string> extra = {}) {
    return std::make_unique<offloadd_process>(args(std::move(extra)));
  }
  static void kill_hard(offloadd_process& server) {
    server.signal(SIGKILL);
    ASSERT_TRUE(server.wait_exit(20s).has_value());
  }

  temp_dir dir_;
  std::filesystem::path data_ = dir_.path() / "data";
  std::string config_ = dir_.write(
      "commands.json", json{{"commands",
                             {{"exit3", test_command({"exit", "3"})},
                              // 2,000 lines 0.2 ms apart: a stream of output events faster than commits.
                              {"ticks", test_command({"ticks", "2000", "200"})}}}}
                           .dump());
};

// The plain promise: what was acknowledged before a SIGKILL is there after it — finished results, queued
// jobs (which then run), idempotency keys; a job that was running is retried when it has attempts left and
// otherwise ends `failed` with `interrupted`.
TEST_F(durability_test, acknowledged_jobs_survive_sigkill) {
  auto server = start({"--threads", "1"});
  auto port = server->port();
  const auto done = http_post(port, "/v1/jobs?wait=10",
                              {{"type", "echo"}, {"input", {{"x", 1}}}, {"idempotency_key", "first"}})
                        .json();
  ASSERT_EQ(done["state"], "succeeded");
  const auto running = submit(port, {{"type", "sleep"}, {"input", {{"ms", 60000}}}});
  wait_for_job(port, running["id"], [](const json& v) { return is_state(v, "running"); });
  const auto retried = submit(port, {{"type", "sleep"},
                                     {"input", {{"ms", 100}}},
                                     {"lane", "process"},
                                     {"max_attempts", 2},
                                     {"retry_backoff_ms", 10}});
  wait_for_job(port, retried["id"], [](const json& v) { return is_state(v, "running"); });
  // The thread is busy: these wait in the queue, in priority order.
  const auto low = submit(port, {{"type", "echo"}, {"input", {{"n", "low"}}}, {"priority", 1}});
  const auto high = submit(port, {{"type", "echo"}, {"input", {{"n", "high"}}}, {"priority", 9}});

  kill_hard(*server);
  server = start({"--threads", "1"});
  port = server->port();

  const auto again = http_get(port, "/v1/jobs/" + done["id"].get<std::string>());
  ASSERT_EQ(again.status, 200u);
  EXPECT_EQ(again.json()["result"], done["result"]);
  const auto replay =
      http_post(port, "/v1/jobs", {{"type", "echo"}, {"input", {{"x", 1}}}, {"idempotency_key", "first"}});
  EXPECT_EQ(replay.status, 202u);
  EXPECT_EQ(replay.json()["id"], done["id"]) << "the key still names the job from before the crash";
  EXPECT_EQ(replay.header("idempotent-replayed"), "true");

  const auto interrupted = wait_for_job(port, running["id"], is_terminal_view);
  EXPECT_EQ(interrupted["state"], "failed");
  EXPECT_EQ(interrupted["error"]["code"], "interrupted");
  const auto second_try = wait_for_job(port, retried["id"], is_terminal_view);
  EXPECT_EQ(second_try["state"], "succeeded") << second_try.dump();
  EXPECT_EQ(second_try["attempt"], 2);
  ASSERT_EQ(second_try["attempt_errors"].size(), 1u) << second_try.dump();
  EXPECT_EQ(second_try["attempt_errors"][0]["code"], "interrupted");
  const auto h = wait_for_job(port, high["id"], is_terminal_view);
  const auto l = wait_for_job(port, low["id"], is_terminal_view);
  EXPECT_EQ(h["state"], "succeeded");
  EXPECT_EQ(l["state"], "succeeded");
  EXPECT_LE(h["started_at"].get<std::string>(), l["started_at"].get<std::string>()) << "priority order holds";
  // The replayed log of a job read back from disk is whole: queued, started, succeeded.
  const auto log = http_get(port, "/v1/jobs/" + done["id"].get<std::string>()).json();
  EXPECT_EQ(log["last_seq"], 3);
}

// Clients submit all the time while offloadd is killed at random moments, several times in one run.
// Every acknowledged id must exist after the restart and end in exactly one terminal state; every key a
// client got an answer for names that same job; nothing half-made appears.
TEST_F(durability_test, random_sigkills_lose_no_acknowledged_job) {
  std::mt19937 random{std::random_device{}()};
  std::map<std::string, std::pair<std::string, json>> acknowledged;  // idempotency key -> id, body
  std::mutex mutex;
  std::atomic<int> counter{0};
  auto server = start();
  for (int round = 0; round < 4; ++round) {
    const auto port = server->port();
    std::atomic<bool> stop{false};
    std::atomic<int> answered{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 3; ++c) {
      clients.emplace_back([&, c, port] {
        while (!stop) {
          const auto key = "k" + std::to_string(counter++);
          json body{{"idempotency_key", key}};
          switch ((c + counter) % 3) {
            case 0:
              body.update({{"type", "echo"}, {"input", {{"k", key}}}});
              break;
            case 1:
              body.update({{"type", "sleep"},
                           {"input", {{"ms", 20}}},
                           {"lane", "process"},
                           {"max_attempts", 3},
                           {"retry_backoff_ms", 5}});
              break;
            default:
              body.update({{"type", "exit3"}});
              break;
          }
          try {
            const auto r = http_post(port, "/v1/jobs", body);
            if (r.status != 202) continue;
            const std::lock_guard lock{mutex};
            acknowledged[key] = {r.json()["id"], body};
            ++answered;
          } catch (const std::exception&) {
            return;  // the server is gone: this client's round is over
          }
        }
      });
    }
    // Kill in the middle of the traffic, at a random point of it: after a random number of answers.
    const int answers = std::uniform_int_distribution{5, 200}(random);
    wait_until([&] { return answered >= answers; }, "the clients' answers", std::chrono::seconds{60});
    kill_hard(*server);
    stop = true;
    for (auto& t : clients)
      t.join();
    server = start();
  }
  const auto port = server->port();
  ASSERT_GT(acknowledged.size(), 10u) << "the clients got too few answers to prove anything";

  std::set<std::string> listed;
  std::optional<std::string> after;
  do {
    const auto page = http_get(port, "/v1/jobs?limit=1000" + (after ? "&after=" + *after : "")).json();
    for (const auto& v : page["jobs"])
      listed.insert(v["id"].get<std::string>());
    after = page["next"].is_null() ? std::nullopt : std::optional<std::string>{page["next"]};
  } while (after);

  for (const auto& [key, sent] : acknowledged) {
    const auto& [id, body] = sent;
    ASSERT_TRUE(listed.count(id)) << "acknowledged job " << id << " is missing";
    const auto view = wait_for_job(port, id, is_terminal_view, 60s);
    const auto state = view["state"].get<std::string>();
    EXPECT_TRUE(state == "succeeded" || state == "failed") << view.dump();
    // Resubmitting the same body under the key never makes a second job.
    const auto replay = http_post(port, "/v1/jobs", body);
    EXPECT_EQ(replay.status, 202u) << replay.body;
    EXPECT_EQ(replay.json()["id"], id) << "key " << key << " made a second job";
  }
  // Jobs the clients never heard about (killed before the answer) are whole jobs too: each reads back and
  // ends like any other.
  for (const auto& id : listed) {
    // Its log as far as it is stored: queued, started and its end, once the end's commit is in.
    wait_for_job(
        port, id, [](const json& v) { return is_terminal_view(v) && v["last_seq"].get<int>() >= 3; }, 60s);
  }
}

TEST_F(durability_test, retries_back_off_and_keep_every_error) {
  auto server = start();
  const auto port = server->port();
  const auto job = submit(port, {{"type", "exit3"}, {"max_attempts", 3}, {"retry_backoff_ms", 50}});
  const auto view = wait_for_job(port, job["id"], is_terminal_view);
  EXPECT_EQ(view["state"], "failed");
  EXPECT_EQ(view["attempt"], 3);
  EXPECT_EQ(view["max_attempts"], 3);
  EXPECT_EQ(view["error"]["code"], "command_failed");
  ASSERT_EQ(view["error"]["attempts"].size(), 2u) << view.dump();
  EXPECT_EQ(view["error"]["attempts"][0]["code"], "command_failed");
  // Two `retrying` events, then a failed one; the failed list is the dead-letter list.
  const auto failed = http_get(port, "/v1/jobs?state=failed").json();
  ASSERT_EQ(failed["jobs"].size(), 1u);
  EXPECT_EQ(failed["jobs"][0]["id"], job["id"]);
  // The log, as a subscriber gets it (GET may show the end a moment before its event is stored).
  std::vector<std::string> types;
  ws_client events{port, "/v1/jobs/" + job["id"].get<std::string>() + "/events?after=0"};
  for (const auto& e : events.read_all())
    types.push_back(e["type"]);
  EXPECT_EQ(types, (std::vector<std::string>{"queued", "started", "retrying", "started", "retrying",
                                             "started", "failed"}));

  // A cancel is never retried.
  const auto cancelled = submit(port, {{"type", "sleep"}, {"input", {{"ms", 60000}}}, {"max_attempts", 5}});
  wait_for_job(port, cancelled["id"], [](const json& v) { return is_state(v, "running"); });
  ASSERT_EQ(http_delete(port, "/v1/jobs/" + cancelled["id"].get<std::string>()).status, 200u);
  const auto c = wait_for_job(port, cancelled["id"], is_terminal_view);
  EXPECT_EQ(c["state"], "cancelled");
  EXPECT_EQ(c["attempt"], 1);
}

// A delayed job is queued but not run before its time, and the delay survives a restart. Two jobs, so that
// neither check depends on how long the restart takes (a sanitizer build on a loaded machine can take longer
// than a short delay): one delayed for an hour is still queued, with its run_at, after the restart; one
// delayed briefly runs after the restart, and not before its time.
TEST_F(durability_test, delays_hold_a_job_back_across_a_restart) {
  auto server = start();
  auto port = server->port();
  const auto later = submit(port, {{"type", "echo"}, {"delay_ms", 3600000}});
  const auto soon = submit(port, {{"type", "echo"}, {"delay_ms", 1500}});
  ASSERT_TRUE(later.contains("run_at") && soon.contains("run_at")) << later.dump() << soon.dump();
  kill_hard(*server);
  server = start();
  port = server->port();
  const auto queued = http_get(port, "/v1/jobs/" + later["id"].get<std::string>()).json();
  EXPECT_EQ(queued["state"], "queued") << queued.dump();
  EXPECT_EQ(queued.value("run_at", ""), later["run_at"]) << queued.dump();
  const auto view = wait_for_job(port, soon["id"], is_terminal_view);
  EXPECT_EQ(view["state"], "succeeded");
  EXPECT_GE(view["started_at"].get<std::string>(), soon["run_at"].get<std::string>())
      << "it ran before its time";

  const auto bad = http_post(port, "/v1/jobs", {{"type", "echo"}, {"run_at", "tomorrow"}});
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("run_at"), std::string::npos);
  const auto far = http_post(port, "/v1/jobs", {{"type", "echo"}, {"run_at", "2200-01-01T00:00:00Z"}});
  EXPECT_EQ(far.status, 400u);
  EXPECT_EQ(far.json()["error"]["message"], "run_at: must be at most 30 days ahead (as delay_ms)");
  const auto at = submit(port, {{"type", "echo"}, {"run_at", "2020-01-01T00:00:00Z"}});
  EXPECT_EQ(wait_for_job(port, at["id"], is_terminal_view)["state"], "succeeded") << "a past run_at runs now";
}

// A subscriber is sent only what is stored. offloadd killed while a job streams output, and started again,
// numbers the job's next events after the last one on disk; a client that resumes with the last seq it saw
// must get every one of them (`retrying`, the second attempt, its end) exactly once. Were events sent before
// their commit, the restarted log would reuse seqs the client already saw, and the client would miss what
// took them. Several rounds: the kill lands at a different point of the commits each time.
TEST_F(durability_test, a_subscriber_resumes_after_a_crash_without_missing_an_event) {
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto server = start();
    const auto j = submit(server->port(), {{"type", "ticks"}, {"max_attempts", 2}});
    const std::string id = j["id"];
    std::uint64_t last = 0;
    {
      ws_client ws{server->port(), "/v1/jobs/" + id + "/events?after=0"};
      ws.read_outputs(50, last);
      kill_hard(*server);
    }
    server = start();
    ws_client again{server->port(), "/v1/jobs/" + id + "/events?after=" + std::to_string(last)};
    std::vector<std::string> types;
    for (const auto& e : again.read_all(60s)) {
      ASSERT_EQ(e["seq"].get<std::uint64_t>(), last + 1) << e;
      last = e["seq"];
      types.push_back(e["type"]);
    }
    ASSERT_FALSE(types.empty());
    // Outputs stored and not yet sent may come first; then the interruption, once, and the second attempt.
    EXPECT_EQ(std::count(types.begin(), types.end(), "retrying"), 1) << ::testing::PrintToString(types);
    EXPECT_EQ(std::count(types.begin(), types.end(), "started"), 1) << ::testing::PrintToString(types);
    EXPECT_EQ(types.back(), "succeeded");
    const auto view = http_get(server->port(), "/v1/jobs/" + id).json();
    EXPECT_EQ(view["attempt"], 2);
    EXPECT_EQ(view["last_seq"], last) << "the client has the whole log";
    kill_hard(*server);
  }
}

// SIGTERM with a durable store: queued jobs are kept for the next start, a job still running after the
// grace is interrupted (and retried or failed at the next start).
TEST_F(durability_test, a_drain_leaves_queued_jobs_for_the_next_start) {
  auto server = start({"--threads", "1", "--drain-seconds", "1"});
  auto port = server->port();
  const auto running = submit(port, {{"type", "sleep"}, {"input", {{"ms", 60000}}}, {"lane", "thread"}});
  wait_for_job(port, running["id"], [](const json& v) { return is_state(v, "running"); });
  const auto queued = submit(port, {{"type", "echo"}, {"lane", "thread"}});
  server->signal(SIGTERM);
  ASSERT_EQ(server->wait_exit(30s), 0);
  server = start({"--threads", "1"});
  port = server->port();
  EXPECT_EQ(wait_for_job(port, queued["id"], is_terminal_view)["state"], "succeeded");
  const auto r = wait_for_job(port, running["id"], is_terminal_view);
  EXPECT_EQ(r["state"], "failed");
  EXPECT_EQ(r["error"]["code"], "interrupted");
}

TEST_F(durability_test, bad_data_directories_stop_offloadd_at_start_with_the_path) {
  auto server = start();
  const auto [locked, locked_err] = offloadd_process::run_to_exit(args({"--listen", "127.0.0.1:0"}));
  EXPECT_EQ(locked, 2);
  EXPECT_NE(locked_err.find("in use by another offloadd"), std::string::npos) << locked_err;
  server.reset();

  temp_dir other;
  const auto garbage = other.write("offload.db", std::string(4096, 'z'));
  const auto [corrupt, corrupt_err] =
      offloadd_process::run_to_exit({"--listen", "127.0.0.1:0", "--data-dir", other.path().string()});
  EXPECT_EQ(corrupt, 2);
  EXPECT_NE(corrupt_err.find(garbage), std::string::npos) << corrupt_err;

  const auto file = other.write("file", "x");
  const auto [unwritable, unwritable_err] =
      offloadd_process::run_to_exit({"--listen", "127.0.0.1:0", "--data-dir", file + "/data"});
  EXPECT_EQ(unwritable, 2);
  EXPECT_NE(unwritable_err.find(file), std::string::npos) << unwritable_err;
}

// A full disk: new jobs get 503 storage_unavailable and /readyz says so, nothing acknowledged is lost, and
// the store recovers by itself once there is room again. Needs root to mount a small tmpfs.
TEST_F(durability_test, a_full_disk_refuses_new_jobs_and_recovers_by_itself) {
  const small_disk disk;
  if (disk.unavailable) GTEST_SKIP() << *disk.unavailable;
  const auto& mount_point = disk.dir;
  offloadd_process server{{"--data-dir", (mount_point.path() / "data").string(), "--retain-jobs", "100000"}};
  const auto port = server.port();
  const auto before = http_post(port, "/v1/jobs?wait=10", {{"type", "echo"}, {"input", {{"n", 1}}}}).json();
  ASSERT_EQ(before["state"], "succeeded");
  // Fill the disk.
  const auto filler = mount_point.path() / "filler";
  {
    std::ofstream out{filler, std::ios::binary};
    const std::string block(64 * 1024, 'f');
    while (out.write(block.data(), static_cast<std::streamsize>(block.size())))
      ;
  }
  http_response refused;
  wait_until(
      [&] {
        refused =
            http_post(port, "/v1/jobs", {{"type", "echo"}, {"input", {{"pad", std::string(200000, 'p')}}}});
        return refused.status == 503;
      },
      "a 503 on a full disk");
  EXPECT_EQ(refused.json()["error"]["code"], "storage_unavailable") << refused.body;
  EXPECT_EQ(http_get(port, "/readyz").status, 503u);
  EXPECT_EQ(http_get(port, "/healthz").status, 200u);
  EXPECT_EQ(http_get(port, "/v1/jobs/" + before["id"].get<std::string>()).status, 200u);
  EXPECT_GE(metric_value(port, "offload_store_commit_failures_total"), 1);

  std::filesystem::remove(filler);
  wait_until([&] { return http_get(port, "/readyz").status == 200; }, "readiness after the disk has room",
             30s);
  const auto after = http_post(port, "/v1/jobs?wait=10", {{"type", "echo"}, {"input", {{"n", 2}}}});
  EXPECT_EQ(after.status, 200u) << after.body;
  wait_until([&] { return metric_value(port, "offload_store_pending_operations") == 0; },
             "nothing left to write");
}

// A job that ends while its store cannot write: the service still knows the end (GET says so), but the log
// it publishes stops at what is stored, and `?wait` does not answer with an end a crash could take back.
// Once the disk has room, the writes go through and everything is published.
TEST_F(durability_test, an_end_the_store_cannot_write_yet_is_not_published) {
  const small_disk disk;
  if (disk.unavailable) GTEST_SKIP() << *disk.unavailable;
  const auto& mount_point = disk.dir;
  const auto trigger = dir_.path() / "go";
  // 400 KB of output once `go` exists: more than the full disk's log can take.
  const auto config = dir_.write(
      "big.json",
      json{{"commands", {{"big", test_command({"await-file", trigger.string(), "400000"})}}}}.dump());
  offloadd_process server{{"--data-dir", (mount_point.path() / "data").string(), "--config", config,
                           "--work-root", dir_.path().string(), "--process-workers", "1"}};
  const auto port = server.port();
  std::atomic<bool> answered = false;
  http_response waited;
  std::thread waiter{[&] {
    try {
      waited = http_request(port, "POST", "/v1/jobs?wait=60", json{{"type", "big"}}.dump(), {}, 90s);
    } catch (const std::exception& e) {
      waited.body = e.what();  // status 0: reported below
    }
    answered = true;
  }};
  struct joiner {
    std::thread& t;
    ~joiner() { t.join(); }
  } const join_waiter{waiter};
  // The job runs (the waiter's submission was stored), then the disk fills.
  json running;
  wait_until(
      [&] {
        const auto page = http_get(port, "/v1/jobs?state=running").json();
        if (page["jobs"].empty()) return false;
        running = page["jobs"][0];
        return true;
      },
      "the job to run");
  const std::string id = running["id"];
  const auto published_before = running["last_seq"].get<std::uint64_t>();
  const auto filler = mount_point.path() / "filler";
  {
    std::ofstream out{filler, std::ios::binary};
    const std::string block(64 * 1024, 'f');
    while (out.write(block.data(), static_cast<std::streamsize>(block.size())))
      ;
  }
  std::ofstream{trigger}.put('\n');
  json ended;
  wait_until(
      [&] {
        ended = http_get(port, "/v1/jobs/" + id).json();
        return is_terminal_view(ended);
      },
      "the job to end");
  EXPECT_EQ(ended["state"], "succeeded");
  wait_until([&] { return http_get(port, "/readyz").status == 503; }, "the store to fail its writes");
  EXPECT_FALSE(answered.load()) << "?wait answered with an end the store does not have";
  EXPECT_GE(metric_value(port, "offload_store_pending_operations"), 1) << "the end, kept to be tried again";
  std::filesystem::remove(filler);
  wait_until([&] { return answered.load(); }, "?wait to answer once the store has the end", 30s);
  EXPECT_EQ(waited.status, 200u) << waited.body;
  const auto final_view = waited.json();
  EXPECT_EQ(final_view["state"], "succeeded");
  // Everything is published now, the end included; it was not while the disk was full.
  const auto last = final_view["last_seq"].get<std::uint64_t>();
  EXPECT_GT(last, published_before + 2) << "queued, started, output, succeeded";
  EXPECT_LT(ended["last_seq"].get<std::uint64_t>(), last) << "the end was published before the store had it";
  EXPECT_EQ(http_get(port, "/v1/jobs/" + id).json()["last_seq"], last);
  ws_client events{port, "/v1/jobs/" + id + "/events?after=0"};
  const auto all = events.read_all();
  ASSERT_EQ(all.size(), last);
  EXPECT_EQ(all.back()["type"], "succeeded");
}

}  // namespace
}  // namespace offload::test
