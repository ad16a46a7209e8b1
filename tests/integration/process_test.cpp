// The process lane of a real offloadd: warm workers, allow-listed commands, every terminal state,
// whole-tree kills, limits, no shell, no leaked environment, no zombies, and a reactor that stays free.
#include "support/http_client.hpp"
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"
#include "support/proc_helpers.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <pwd.h>
#include <sched.h>
#include <set>
#include <sys/stat.h>
#include <sys/wait.h>

namespace offload::test {
namespace {

using nlohmann::json;

json command(std::vector<std::string> args, json extra = json::object()) {
  return test_command(std::move(args), std::move(extra));
}

// Commands every test here can use.
json test_commands() {
  return {{"commands",
           {{"exit3", command({"exit", "3"})},
            {"exit11", command({"exit", "11"})},
            {"crash", command({"crash"})},
            {"hang", command({"hang"})},
            {"stubborn", command({"ignore-term"})},
            {"tree", command({"fork-grandchild", "{input.pidfile}"})},
            {"spin", command({"spin"}, {{"limits", {{"cpu_seconds", 1}}}})},
            {"flood", command({"flood", "{input.mib}"}, {{"max_output_bytes", 1 << 20}})},
            {"hog", command({"alloc"}, {{"limits", {{"address_space_mb", 256}}}})},
            {"cat", command({"echo"}, {{"stdin", "input.data"}})},
            {"args",
             command({"args", "{input.a}", "--name={input.b}", "{input.n}"}, {{"result", "stdout_json"}})},
            {"env", command({"env"}, {{"result", "stdout_json"}, {"env", {{"GREETING", "hello"}}}})},
            {"cwd", command({"cwd"}, {{"result", "stdout_json"}})},
            {"fds", command({"fds"}, {{"result", "stdout_json"}})},
            {"niceness", command({"niceness"}, {{"result", "stdout_json"}})},
            {"status", command({"exit", "{input.code}"}, {{"result", "exit_code"}})},
            {"complain", command({"stderr"})},
            {"true", {{"argv", {"/bin/true"}}, {"result", "exit_code"}}},
            {"capped", command({"hang"}, {{"timeout_ms", 300}})},
            {"notjson", command({"echo"}, {{"stdin", "input.data"}, {"result", "stdout_json"}})},
            {"files",
             command({"open-files", "64"}, {{"result", "stdout_json"}, {"limits", {{"open_files", 16}}}})},
            {"bytes", command({"bytes"})}}}};
}

class process_test : public ::testing::Test {
 protected:
  temp_dir dir_;
  std::string config_ = dir_.write("commands.json", test_commands().dump());
  offloadd_process server_{{"--config", config_, "--process-workers", "2", "--threads", "2",
                            "--kill-grace-ms", "300", "--work-root", dir_.path().string()},
                           {"OFFLOAD_SECRET_FOR_TEST=do-not-leak", "SERVICE_ONLY_VARIABLE=private"}};
  unsigned short port() const { return server_.port(); }

  json run(const json& body, double wait = 60) {
    const auto r = http_post(port(), "/v1/jobs?wait=" + std::to_string(wait), body);
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.json();
  }

  // The warm workers once all `n` are ready (idle in /metrics: exec'd, and past their "ready" line; a
  // child between fork and exec still has the service's descriptors, which it closes before exec).
  std::vector<int> ready_workers(std::size_t n = 2) {
    const std::string idle =
        "offload_process_workers{pool=\"builtin\",state=\"idle\"} " + std::to_string(n) + "\n";
    wait_until([&] { return http_get(port(), "/metrics").body.find(idle) != std::string::npos; },
               "the workers to be ready");
    return children_of(server_.pid());
  }

  // Children of offloadd that are not workers' zombies: none may be in state Z once jobs are over.
  void expect_no_zombies() {
    for (const int child : children_of(server_.pid()))
      EXPECT_NE(process_state(child), 'Z') << "zombie child " << child;
  }
};

TEST_F(process_test, builtin_types_run_in_warm_workers) {
  const auto workers = [&] {
    auto pids = children_of(server_.pid());
    std::sort(pids.begin(), pids.end());
    return pids;
  };
  wait_until([&] { return workers().size() == 2; }, "two warm workers");
  const auto before = workers();
  EXPECT_EQ(run({{"type", "sum"}, {"lane", "process"}, {"input", {{"n", 1000000}}}})["result"]["sum"],
            "499999500000");
  EXPECT_EQ(run({{"type", "sha256"}, {"lane", "process"}, {"input", {{"data", "abc"}}}})["result"]["hex"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(
      run({{"type", "primes"}, {"lane", "process"}, {"input", {{"limit", 1000000}}}})["result"]["count"],
      78498);
  const auto echo = run({{"type", "echo"}, {"lane", "process"}, {"input", {{"x", "ü"}}}});
  EXPECT_EQ(echo["lane"], "process");
  EXPECT_EQ(echo["result"], json({{"x", "ü"}}));
  // Progress crosses the process boundary too.
  const auto sum = run({{"type", "sum"}, {"lane", "process"}, {"input", {{"n", 100000000}}}});
  EXPECT_GE(sum["last_seq"].get<int>(), 8);
  // Warm: the same two worker processes (same pids) served all of that.
  EXPECT_EQ(workers(), before);
}

TEST_F(process_test, types_list_lanes_and_commands) {
  const auto types = http_get(port(), "/v1/types").json()["types"];
  std::map<std::string, json> by_name;
  for (const auto& t : types)
    by_name[t["name"]] = t;
  EXPECT_EQ(by_name["sum"]["lanes"], json::array({"thread", "process"}));
  EXPECT_EQ(by_name["cat"]["lanes"], json::array({"process"}));
  EXPECT_EQ(by_name["cat"]["input_schema"]["required"], json::array({"data"}));
  EXPECT_EQ(by_name["args"]["input_schema"]["required"], json::array({"a", "b", "n"}));
}

TEST_F(process_test, command_results_by_mode) {
  const auto cat = run({{"type", "cat"}, {"input", {{"data", "hello\nworld"}}}});
  EXPECT_EQ(cat["state"], "succeeded");
  EXPECT_EQ(cat["result"], json({{"stdout", "hello\nworld"}, {"exit_code", 0}}));
  // queued, started, at least one output event, succeeded.
  EXPECT_GE(cat["last_seq"].get<int>(), 4);
  const auto status = run({{"type", "status"}, {"input", {{"code", 7}}}});
  EXPECT_EQ(status["state"], "succeeded");
  EXPECT_EQ(status["result"], json({{"exit_code", 7}}));
  EXPECT_EQ(run({{"type", "true"}})["result"], json({{"exit_code", 0}}));
}

TEST_F(process_test, every_terminal_state_is_exact) {
  const auto exit3 = run({{"type", "exit3"}});
  EXPECT_EQ(exit3["state"], "failed");
  EXPECT_EQ(exit3["error"]["code"], "command_failed");
  EXPECT_NE(exit3["error"]["message"].get<std::string>().find("code 3"), std::string::npos);

  const auto complain = run({{"type", "complain"}});
  EXPECT_EQ(complain["state"], "failed");
  EXPECT_NE(complain["error"]["message"].get<std::string>().find("something went wrong"), std::string::npos)
      << "the tail of stderr is in the error";

  const auto crash = run({{"type", "crash"}});
  EXPECT_EQ(crash["state"], "crashed");
  EXPECT_EQ(crash["error"]["code"], "crashed");
  EXPECT_NE(crash["error"]["message"].get<std::string>().find("SIGSEGV"), std::string::npos);

  // exit(11) is an exit code, not a segmentation fault.
  const auto exit11 = run({{"type", "exit11"}});
  EXPECT_EQ(exit11["state"], "failed");
  EXPECT_NE(exit11["error"]["message"].get<std::string>().find("code 11"), std::string::npos);

  const auto hang = run({{"type", "hang"}, {"timeout_ms", 200}});
  EXPECT_EQ(hang["state"], "timed_out");

  // The command's own timeout_ms is a ceiling even when the job asks for more.
  const auto capped = run({{"type", "capped"}, {"timeout_ms", 600000}});
  EXPECT_EQ(capped["state"], "timed_out");
  EXPECT_NE(capped["error"]["message"].get<std::string>().find("300 ms"), std::string::npos);

  const auto job = submit(port(), {{"type", "hang"}});
  wait_for_job(port(), job["id"], [](const json& v) { return is_state(v, "running"); });
  const auto cancelled = http_delete(port(), "/v1/jobs/" + job["id"].get<std::string>());
  EXPECT_EQ(cancelled.json()["state"], "cancelled");
  EXPECT_EQ(http_get(port(), "/healthz").status, 200u);
}

TEST_F(process_test, timeout_kills_the_whole_tree_even_when_sigterm_is_ignored) {
  const auto pidfile = (dir_.path() / "grandchild.pid").string();
  const auto tree = run({{"type", "tree"}, {"input", {{"pidfile", pidfile}}}, {"timeout_ms", 300}});
  EXPECT_EQ(tree["state"], "timed_out");
  int grandchild = 0;
  std::ifstream{pidfile} >> grandchild;
  ASSERT_GT(grandchild, 0);
  wait_until([&] { return process_dead(grandchild); }, "the grandchild to die");

  const auto stubborn = run({{"type", "stubborn"}, {"timeout_ms", 200}});
  EXPECT_EQ(stubborn["state"], "timed_out");
  // Only the two warm workers remain, and nothing is left unreaped.
  wait_until([&] { return children_of(server_.pid()).size() == 2; }, "only workers to remain");
  expect_no_zombies();
}

// limits.cpu_seconds: the kernel's SIGXCPU at the soft limit ends the job `failed` with `cpu_limit` (soft
// and hard limits used to be equal, so it died of SIGKILL and read as a crash).
TEST_F(process_test, a_command_over_its_cpu_limit_fails_with_cpu_limit) {
  const auto spin = run({{"type", "spin"}}, 60);
  EXPECT_EQ(spin["state"], "failed") << spin.dump();
  EXPECT_EQ(spin["error"]["code"], "cpu_limit") << spin.dump();
  EXPECT_NE(spin["error"]["message"].get<std::string>().find("1 s of CPU"), std::string::npos);
}

// The flood would write 100 GB: only the kill at the cap ends it (within the 60 s wait).
TEST_F(process_test, output_beyond_the_cap_fails_with_output_limit) {
  const auto flood = run({{"type", "flood"}, {"input", {{"mib", 100000}}}});
  EXPECT_EQ(flood["state"], "failed");
  EXPECT_EQ(flood["error"]["code"], "output_limit");
  EXPECT_EQ(run({{"type", "flood"}, {"input", {{"mib", 0}}}})["state"], "succeeded");
}

TEST_F(process_test, address_space_limit_stops_a_memory_hog) {
  const auto hog = run({{"type", "hog"}});
  EXPECT_EQ(hog["state"], "failed") << hog.dump();
  EXPECT_NE(hog["error"]["message"].get<std::string>().find("allocation failed"), std::string::npos);
  EXPECT_EQ(http_get(port(), "/healthz").status, 200u);
}

TEST_F(process_test, placeholders_cannot_inject_arguments) {
  const std::string nasty = "; rm -rf / $(id) `id` * \"quoted\" 'single'";
  const auto r = run({{"type", "args"}, {"input", {{"a", nasty}, {"b", "x y"}, {"n", 42}}}});
  ASSERT_EQ(r["state"], "succeeded") << r.dump();
  EXPECT_EQ(r["result"], json::array({nasty, "--name=x y", "42"}));
  // Inputs are checked against the template.
  EXPECT_EQ(http_post(port(), "/v1/jobs", {{"type", "args"}, {"input", {{"a", "1"}, {"b", "2"}}}}).status,
            400u);
  EXPECT_EQ(
      http_post(port(), "/v1/jobs", {{"type", "args"}, {"input", {{"a", {1}}, {"b", "2"}, {"n", 1}}}}).status,
      400u);
  EXPECT_EQ(http_post(port(), "/v1/jobs", {{"type", "cat"}, {"input", {{"data", "x"}, {"more", 1}}}}).status,
            400u);
  const auto thread =
      http_post(port(), "/v1/jobs", {{"type", "cat"}, {"lane", "thread"}, {"input", {{"data", "x"}}}});
  EXPECT_EQ(thread.status, 400u);
  EXPECT_EQ(thread.json()["error"]["code"], "lane_unavailable");
}

TEST_F(process_test, children_get_only_the_configured_environment_and_a_private_directory) {
  const auto env = run({{"type", "env"}});
  ASSERT_EQ(env["state"], "succeeded") << env.dump();
  EXPECT_EQ(env["result"], json::array({"GREETING=hello"}));

  const auto cwd = run({{"type", "cwd"}});
  ASSERT_EQ(cwd["state"], "succeeded");
  const auto dir = cwd["result"][0].get<std::string>();
  EXPECT_EQ(dir.rfind(dir_.path().string() + "/offload-job-", 0), 0u) << dir;
  wait_until([&] { return !std::filesystem::exists(dir); }, "the working directory to be removed");
}

TEST_F(process_test, children_inherit_no_sockets_or_pipes_of_the_service) {
  // Open client connections while children start: none of them may leak into a child.
  http_connection idle{port()};
  ASSERT_EQ(idle.request("GET", "/healthz").status, 200u);
  const auto fds = run({{"type", "fds"}});
  ASSERT_EQ(fds["state"], "succeeded") << fds.dump();
  EXPECT_EQ(fds["result"], json::array({0, 1, 2}));
  // Warm workers too (started at boot and after every recycle).
  const auto workers = ready_workers();
  ASSERT_EQ(workers.size(), 2u);
  for (const int pid : workers) {
    std::vector<int> open;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
      open.push_back(std::stoi(entry.path().filename().string()));
    std::sort(open.begin(), open.end());
    EXPECT_EQ(open, (std::vector<int>{0, 1, 2})) << "worker " << pid;
  }
}

TEST_F(process_test, lanes_and_the_store_yield_the_cpu_to_the_reactor) {
  // Default --lane-nice 10: commands, warm workers and the thread lane's threads yield the CPU to the reactor
  // (relative to offloadd's own niceness, whatever the test runner's is).
  const int base = niceness(server_.pid());
  const int lane = std::min(base + 10, 19);
  const auto command_nice = run({{"type", "niceness"}});
  ASSERT_EQ(command_nice["state"], "succeeded") << command_nice.dump();
  EXPECT_EQ(command_nice["result"], json::array({lane}));
  const auto workers = ready_workers();
  ASSERT_EQ(workers.size(), 2u);
  for (const int pid : workers)
    EXPECT_EQ(niceness(pid), lane) << "worker " << pid;

  // A pool thread lowers itself with its first job and stays so.
  EXPECT_EQ(run({{"type", "sum"}, {"input", {{"n", 1000}}}})["state"], "succeeded");
  const auto tasks = std::filesystem::path{"/proc/" + std::to_string(server_.pid()) + "/task"};
  int nicer_threads = 0;
  for (const auto& task : std::filesystem::directory_iterator(tasks))
    nicer_threads += niceness(task.path() / "stat") == lane ? 1 : 0;
  EXPECT_GE(nicer_threads, 1) << "the pool thread that ran the sum";
  EXPECT_EQ(niceness(tasks / std::to_string(server_.pid()) / "stat"), base) << "the reactor thread";

  // The pool's and the store's threads are batch work: handed a job or a write, they do not preempt the
  // reactor. The reactor keeps the normal policy.
  std::map<std::string, int> policies;
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::string name;
    std::getline(std::ifstream{task.path() / "comm"}, name);
    if (name.starts_with("offload-lane-") || name == "offload-store" || name == "offload-ckpt")
      policies[name] = scheduling_policy(task.path() / "stat");
  }
  EXPECT_EQ(policies, (std::map<std::string, int>{{"offload-ckpt", SCHED_BATCH},
                                                  {"offload-lane-0", SCHED_BATCH},
                                                  {"offload-lane-1", SCHED_BATCH},
                                                  {"offload-store", SCHED_BATCH}}));
  EXPECT_EQ(scheduling_policy(tasks / std::to_string(server_.pid()) / "stat"), SCHED_OTHER) << "the reactor";
}

// Whether SIGKILL is pending for `pid` (sent, not yet acted on): bit 9 of SigPnd or ShdPnd in its status.
bool sigkill_pending(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("SigPnd:") && !line.starts_with("ShdPnd:")) continue;
    if ((std::stoull(line.substr(7), nullptr, 16) >> (SIGKILL - 1)) & 1) return true;
  }
  return false;
}

// A work root of its own, and a command whose child forks a grandchild into the same group and hangs.
// Without cgroups: the records beside the work dirs are what finds the leftovers.
class leftovers_test : public ::testing::Test {
 protected:
  temp_dir dir;
  std::filesystem::path work_root = dir.path() / "work";
  std::string config =
      dir.write("commands.json", json{{"commands",
                                       {{"tree", test_command({"fork-grandchild", "{input.pidfile}"})},
                                        {"survivor", test_command({"outlive-parent", "{input.pidfile}"})}}}}
                                     .dump());
  // The process-group path: with cgroups, the killed offloadd's cgroups (and processes) would be swept too
  // (cgroup_test covers that).
  std::vector<std::string> args{"--config", config, "--work-root", work_root.string(), "--cgroups", "off"};

  void SetUp() override { std::filesystem::create_directories(work_root); }

  /// The records under the work root: file → the process group each names.
  std::map<std::filesystem::path, int> records() const {
    std::map<std::filesystem::path, int> out;
    for (const auto& e : std::filesystem::directory_iterator{work_root}) {
      if (e.path().extension() != ".owner") continue;
      int group = 0;
      if (std::ifstream{e.path()} >> group) out[e.path()] = group;
    }
    return out;
  }
  /// Until the record of the job whose group `group` is holds it (offloadd writes it once the exec is done,
  /// so a fast child can be seen before).
  void wait_for_record(int group) const {
    wait_until(
        [&] {
          for (const auto& [path, g] : records())
            if (g == group) return true;
          return false;
        },
        "the record of group " + std::to_string(group));
  }
};

int group_of(int pid) {
  return static_cast<int>(::getpgid(pid));
}

// Processes a test leaves behind if it fails half-way: killed (and reaped, for the test's own children) when
// the test ends, however it ends, so that none outlives it holding the test's output open.
struct kill_at_exit {
  std::vector<int> pids;
  ~kill_at_exit() {
    for (const int pid : pids) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);  // ECHILD at once for a process that is not the test's child
    }
  }
};

// Issue 15, item 8: `kill -9` of offloadd kills a command's direct child (death signal) but not what it
// forked. The next offloadd on the same work root kills that process group and removes the job's directory.
TEST_F(leftovers_test, the_next_offloadd_cleans_up_what_a_killed_one_left_running) {
  const auto pidfile = (dir.path() / "grandchild.pid").string();
  const auto job_dirs = [&] {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator{work_root})
      n += e.path().filename().string().starts_with("offload-job-") ? 1 : 0;
    return n;
  };
  int grandchild = 0;
  {
    offloadd_process first{args};
    submit(first.port(), {{"type", "tree"}, {"input", {{"pidfile", pidfile}}}});
    grandchild = wait_for_pid_file(pidfile);
    wait_for_record(group_of(grandchild));
    first.signal(SIGKILL);
    ASSERT_TRUE(first.wait_exit(std::chrono::seconds{10}));
  }
  // What the killed offloadd left: the grandchild runs on, the directory and its record stay.
  EXPECT_FALSE(process_dead(grandchild));
  EXPECT_EQ(job_dirs(), 2u) << "the job's directory and its record";

  const auto log = (dir.path() / "second.log").string();
  offloadd_process second{args, {}, log};
  wait_until([&] { return process_dead(grandchild); }, "the leftover process group to be killed",
             std::chrono::seconds{10});
  EXPECT_EQ(job_dirs(), 0u);
  // The sweep logs before the kill's effect shows here, but offloadd's log thread writes it when it can.
  wait_until(
      [&] {
        const auto text = file_text(log);
        return text.find("\"directories\":1") != std::string::npos &&
               text.find("\"process_groups_killed\":1") != std::string::npos;
      },
      "the sweep's log line (one directory, one process group)");

  // A live offloadd's jobs are its own: a third one on the same root leaves them alone.
  const auto pidfile2 = (dir.path() / "grandchild2.pid").string();
  const auto running = submit(second.port(), {{"type", "tree"}, {"input", {{"pidfile", pidfile2}}}});
  const int second_grandchild = wait_for_pid_file(pidfile2);
  {
    offloadd_process third{args};
    EXPECT_EQ(http_get(third.port(), "/healthz").status, 200u);  // started through (and stops on SIGTERM)
    EXPECT_FALSE(process_dead(second_grandchild) || sigkill_pending(second_grandchild));
    EXPECT_EQ(job_dirs(), 2u);
  }
  EXPECT_EQ(http_delete(second.port(), "/v1/jobs/" + running["id"].get<std::string>()).status, 200u);
  wait_until([&] { return process_dead(second_grandchild); }, "the cancelled job's tree to die");
}

// A record is trusted only when offloadd's own user wrote it: in a shared work root another user could
// plant one naming a process group of theirs.
TEST_F(leftovers_test, a_record_owned_by_another_user_is_left_alone) {
  if (::geteuid() != 0) GTEST_SKIP() << "skipped: giving a file to another user needs root";
  const auto nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  // Two jobs' trees left by a killed offloadd; then one record is given to another user.
  std::vector<int> grandchildren;
  {
    offloadd_process first{args};
    for (const auto* name : {"a.pid", "b.pid"}) {
      const auto pidfile = (dir.path() / name).string();
      submit(first.port(), {{"type", "tree"}, {"input", {{"pidfile", pidfile}}}});
      grandchildren.push_back(wait_for_pid_file(pidfile));
      wait_for_record(group_of(grandchildren.back()));
    }
    first.signal(SIGKILL);
    ASSERT_TRUE(first.wait_exit(std::chrono::seconds{10}));
  }
  // The record of the first job's tree: it names the group of the first grandchild.
  int planted_group = 0;
  for (const auto& [path, group] : records()) {
    if (group != group_of(grandchildren[0])) continue;
    ASSERT_EQ(::chown(path.c_str(), nobody->pw_uid, nobody->pw_gid), 0);
    planted_group = group;
  }
  ASSERT_NE(planted_group, 0);
  {
    offloadd_process second{args};
    // The trusted record's tree dies; the sweep handled both records before offloadd listened.
    wait_until([&] { return process_dead(grandchildren[1]); }, "the trusted record's tree to be killed");
    // Alive, and no SIGKILL on its way (the sweep sent its signals before offloadd listened, in any order).
    EXPECT_FALSE(process_dead(grandchildren[0]) || sigkill_pending(grandchildren[0]))
        << "a record offloadd did not write killed a process group";
  }
  ::kill(grandchildren[0], SIGKILL);
  wait_until([&] { return process_dead(grandchildren[0]); }, "the test's own clean-up");
}

// The death signal a leader gets with its offloadd is not acted on at once (a large process takes a while to
// tear down its memory): a next offloadd that starts meanwhile finds the leader still there, and must tell
// it from a later process that got the same pid. The record names the leader's start time.
TEST_F(leftovers_test, a_leader_still_there_after_its_offloadd_died_is_killed_with_its_group) {
  const auto pidfile = (dir.path() / "leader.pid").string();
  int leader = 0;
  kill_at_exit leftover;
  {
    offloadd_process first{args};
    submit(first.port(), {{"type", "survivor"}, {"input", {{"pidfile", pidfile}}}});
    leader = wait_for_pid_file(pidfile);
    leftover.pids.push_back(leader);
    wait_for_record(leader);
    first.signal(SIGKILL);
    ASSERT_TRUE(first.wait_exit(std::chrono::seconds{10}));
  }
  ASSERT_FALSE(process_dead(leader)) << "the leader dropped its death signal: it outlives offloadd";
  offloadd_process second{args};
  wait_until([&] { return process_dead(leader); }, "the leader that outlived its offloadd to be killed");
  EXPECT_TRUE(records().empty());
}

// Records planted as a dead offloadd would have left them, naming groups this test leads: the group whose
// leader has the recorded start time is killed, the one whose leader started at another time (a pid reused
// since) is left alone.
TEST_F(leftovers_test, a_group_whose_leader_is_not_the_recorded_process_is_left_alone) {
  const auto start_group = [] {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      for (;;)
        ::pause();
    }
    ::setpgid(pid, pid);  // (either side may run first)
    return static_cast<int>(pid);
  };
  const int ours = start_group(), reused = start_group();
  const kill_at_exit children{{ours, reused}};
  wait_until([&] { return group_of(ours) == ours && group_of(reused) == reused; }, "the groups");
  // A dead owner: a process that has exited and been reaped.
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(gone, nullptr, 0), gone);
  const auto plant = [&](const std::string& name, int group, unsigned long long leader_start) {
    std::filesystem::create_directory(work_root / name);
    std::ofstream{work_root / (name + ".owner")} << group << ' ' << gone << " 1 " << leader_start << '\n';
  };
  plant("offload-job-ours", ours, start_time(ours));
  plant("offload-job-reused", reused, start_time(reused) + 1);
  {
    offloadd_process server{args};
    EXPECT_EQ(http_get(server.port(), "/healthz").status, 200u);  // the sweep ran before offloadd listened
    wait_until([&] { return process_dead(ours); }, "the recorded group to be killed");
    EXPECT_FALSE(process_dead(reused) || sigkill_pending(reused))
        << "a group whose leader is not the recorded process was killed";
    EXPECT_TRUE(records().empty()) << "both records are handled and removed";
  }
}

TEST(lane_nice_test, zero_keeps_the_lanes_at_the_services_priority) {
  temp_dir dir;
  const auto config = dir.write("c.json", test_commands().dump());
  offloadd_process server{{"--config", config, "--lane-nice", "0", "--process-workers", "1"}};
  const auto r = http_post(server.port(), "/v1/jobs?wait=30", {{"type", "niceness"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  const int base = niceness(server.pid());
  EXPECT_EQ(r.json()["result"], json::array({base}));
  // The one worker (the command has exited): the loop below must see it, not run zero times.
  wait_until([&] { return children_of(server.pid()).size() == 1; }, "the one worker");
  for (const int pid : children_of(server.pid()))
    EXPECT_EQ(niceness(pid), base) << "worker " << pid;
}

// A stopped idle worker (SIGSTOP) is not handed the next job (it would hang until the job's timeout): it is
// replaced, and the job runs at once on a fresh worker.
TEST(worker_liveness_test, a_stopped_idle_worker_is_replaced_before_it_gets_a_job) {
  offloadd_process server{{"--process-workers", "1", "--kill-grace-ms", "200"}};
  ASSERT_EQ(
      http_post(server.port(), "/v1/jobs?wait=30", {{"type", "echo"}, {"lane", "process"}}).json()["state"],
      "succeeded");
  const auto workers = children_of(server.pid());
  ASSERT_EQ(workers.size(), 1u);
  ASSERT_EQ(::kill(workers[0], SIGSTOP), 0);
  wait_until([&] { return process_state(workers[0]) == 'T'; }, "the worker to stop");
  const auto r =
      http_post(server.port(), "/v1/jobs?wait=30",
                {{"type", "echo"}, {"lane", "process"}, {"timeout_ms", 120000}, {"input", {{"x", 1}}}});
  EXPECT_EQ(r.status, 200u) << "the job ended within the wait, not at its 120 s timeout: " << r.body;
  EXPECT_EQ(r.json()["state"], "succeeded") << r.body;
  wait_until([&] { return process_dead(workers[0]); }, "the stopped worker to be killed");
}

// The built-in workers' rlimits come from --worker-* flags: each worker runs under them.
TEST(worker_limits_test, built_in_workers_run_under_the_configured_rlimits) {
  // (No address-space limit here: the workers are offloadd itself, and a sanitizer build reserves terabytes.)
  offloadd_process server{
      {"--process-workers", "2", "--worker-open-files", "77", "--worker-cpu-seconds", "3600"}};
  const auto r = http_post(server.port(), "/v1/jobs?wait=30", {{"type", "echo"}, {"lane", "process"}});
  ASSERT_EQ(r.json()["state"], "succeeded") << r.body;
  const auto workers = children_of(server.pid());
  ASSERT_EQ(workers.size(), 2u);
  // /proc/PID/limits: "Max open files            77                   77                   files"
  const auto limit_line = [](int pid, const std::string& name) {
    std::ifstream in{"/proc/" + std::to_string(pid) + "/limits"};
    for (std::string line; std::getline(in, line);)
      if (line.starts_with(name)) return line;
    return std::string{};
  };
  for (const int pid : workers) {
    EXPECT_NE(limit_line(pid, "Max open files").find(" 77 "), std::string::npos)
        << limit_line(pid, "Max open files");
    EXPECT_NE(limit_line(pid, "Max cpu time").find("3600"), std::string::npos)
        << limit_line(pid, "Max cpu time");
  }
}

TEST_F(process_test, a_worker_killed_mid_job_fails_only_that_job_and_the_pool_recovers) {
  // 10⁹: the first progress (at 10 %) comes within seconds even in a sanitizer build at lane niceness, and
  // the 90 % left keep the job running well past the kill.
  const auto job = submit(port(), {{"type", "sum"}, {"lane", "process"}, {"input", {{"n", 1000000000}}}});
  // Progress proves a worker has the job in hand.
  wait_for_job(port(), job["id"], [](const json& v) { return v.contains("progress"); });
  // Kill every worker: the busy one takes its job down, the idle one is noticed and replaced.
  const auto killed = children_of(server_.pid());
  for (const int worker : killed)
    ::kill(worker, SIGKILL);
  const auto done = wait_for_job(port(), job["id"], is_terminal_view);
  EXPECT_EQ(done["state"], "crashed") << done.dump();
  EXPECT_NE(done["error"]["message"].get<std::string>().find("SIGKILL"), std::string::npos);
  // The pool replaces what died (two new pids) and serves the next job. Waiting for the replacements first:
  // an idle worker that is still being torn down by the kernel (slow for a sanitizer-built one) can look
  // alive for a moment, and a job handed to it then would crash with it (see the closing note of #15).
  wait_until(
      [&] {
        const auto now = children_of(server_.pid());
        return now.size() == 2 && std::none_of(now.begin(), now.end(), [&](int pid) {
                 return std::find(killed.begin(), killed.end(), pid) != killed.end();
               });
      },
      "the pool to refill with new workers");
  EXPECT_EQ(run({{"type", "echo"}, {"lane", "process"}, {"input", {{"ok", true}}}})["state"], "succeeded");
  expect_no_zombies();
}

TEST_F(process_test, reactor_stays_free_while_every_process_slot_is_busy) {
  const auto a = submit(port(), {{"type", "sleep"}, {"lane", "process"}, {"input", {{"ms", 600000}}}});
  const auto b = submit(port(), {{"type", "sleep"}, {"lane", "process"}, {"input", {{"ms", 600000}}}});
  for (const auto& j : {a, b})
    wait_for_job(port(), j["id"], [](const json& v) { return is_state(v, "running"); });
  EXPECT_EQ(http_get(port(), "/healthz").status, 200u);
  // The thread lane is independent of the busy process lane.
  EXPECT_EQ(run({{"type", "sum"}, {"input", {{"n", 1000}}}})["result"]["sum"], "499500");
  // And the process jobs are still running: those answers came first.
  for (const auto& j : {a, b}) {
    EXPECT_EQ(http_get(port(), "/v1/jobs/" + j["id"].get<std::string>()).json()["state"], "running");
    EXPECT_EQ(http_delete(port(), "/v1/jobs/" + j["id"].get<std::string>()).status, 200u);
  }
}

TEST(worker_pool_test, workers_are_replaced_after_worker_max_jobs) {
  offloadd_process server{{"--process-workers", "1", "--worker-max-jobs", "2"}};
  // Every second job starts a replacement, which takes over once ready (the old worker serves on until
  // then): jobs go on until a third worker process has been seen.
  std::set<int> seen;
  wait_until(
      [&] {
        const auto r = http_post(server.port(), "/v1/jobs?wait=30", {{"type", "echo"}, {"lane", "process"}});
        EXPECT_EQ(r.json()["state"], "succeeded") << r.body;
        for (const int pid : children_of(server.pid()))
          seen.insert(pid);
        return seen.size() >= 3;
      },
      "a third worker process");
  // Replaced workers are reaped: one worker is left once no replacement is starting.
  wait_until([&] { return children_of(server.pid()).size() == 1; }, "retired workers to be reaped");
}

TEST(process_config_test, bad_configurations_stop_start_up_with_a_clear_error) {
  temp_dir dir;
  const auto check = [&](const json& config, const std::string& expected) {
    const auto path = dir.write("bad.json", config.dump());
    const auto [code, output] = offloadd_process::run_to_exit({"--listen", "127.0.0.1:0", "--config", path});
    EXPECT_EQ(code, 2) << output;
    EXPECT_NE(output.find(expected), std::string::npos) << output;
  };
  check({{"commands", {{"x", {{"argv", {"/bin/echo", "{inptu.file}"}}}}}}},
        "unknown placeholder {inptu.file}");
  check({{"commands", {{"x", {{"argv", {"/no/such/program"}}}}}}}, "is not an executable file");
  check({{"commands", {{"x", {{"argv", {"echo"}}}}}}}, "absolute program path");
  check({{"commands", {{"sum", {{"argv", {"/bin/true"}}}}}}}, "the name of a built-in type");
  check({{"commands", {{"x", {{"argv", {"/bin/true"}}, {"limits", {{"cpu", 1}}}}}}}},
        "limits.cpu: unknown field (known: address_space_mb, cpu_seconds, open_files, processes, memory_mb, "
        "pids)");
  const auto [code, output] =
      offloadd_process::run_to_exit({"--listen", "127.0.0.1:0", "--config", "/nonexistent"});
  EXPECT_EQ(code, 2) << output;
}

// A pool of impostor workers whose path names the misbehaviour.
std::string impostor(const temp_dir& dir, const std::string& mode) {
  const auto path = dir.path() / mode;
  std::filesystem::create_symlink(TEST_CHILD_PATH, path);
  return path.string();
}

TEST(worker_protocol_test, garbage_or_oversize_lines_fail_the_job_with_protocol_error) {
  temp_dir dir;
  for (const auto* mode : {"worker-garbage", "worker-oversize"}) {
    offloadd_process server{{"--process-workers", "1", "--worker-program", impostor(dir, mode)}};
    const auto r = http_post(server.port(), "/v1/jobs?wait=60", {{"type", "echo"}, {"lane", "process"}});
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.json()["state"], "crashed") << mode;
    EXPECT_EQ(r.json()["error"]["code"], "protocol_error") << mode;
    EXPECT_EQ(http_get(server.port(), "/healthz").status, 200u);
  }
}

TEST(worker_protocol_test, a_worker_that_crashes_on_a_job_is_reported_with_its_signal) {
  temp_dir dir;
  offloadd_process server{{"--process-workers", "1", "--worker-program", impostor(dir, "worker-crash")}};
  const auto r = http_post(server.port(), "/v1/jobs?wait=60", {{"type", "echo"}, {"lane", "process"}});
  EXPECT_EQ(r.json()["state"], "crashed");
  EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("SIGSEGV"), std::string::npos);
}

TEST(worker_protocol_test, a_crash_looping_pool_fails_jobs_clearly_and_stays_up) {
  temp_dir dir;
  offloadd_process server{
      {"--process-workers", "1", "--worker-program", impostor(dir, "worker-exit-at-start")}};
  // Each job either waits out a back-off and fails to start a worker, or is refused at once when the
  // pool is backing off: never a hang, always worker_unavailable.
  for (int i = 0; i < 6; ++i) {
    const auto r = http_post(server.port(), "/v1/jobs?wait=120", {{"type", "echo"}, {"lane", "process"}});
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.json()["state"], "failed");
    EXPECT_EQ(r.json()["error"]["code"], "worker_unavailable") << r.body;
  }
  EXPECT_EQ(http_get(server.port(), "/healthz").status, 200u);
  EXPECT_EQ(http_post(server.port(), "/v1/jobs?wait=10", {{"type", "echo"}}).json()["state"], "succeeded");
}

}  // namespace
}  // namespace offload::test

namespace offload::test {
namespace {

// Issue 15, item 9: an allow-listed command that reads files cannot read offloadd's secrets. The token from
// OFFLOAD_TOKEN (and the password from OFFLOAD_REDIS_PASSWORD) is gone from offloadd's environment block
// (/proc/PID/environ), and offloadd is non-dumpable, so a child of the same (non-root) user cannot open its
// /proc files at all.
TEST(secrets_test, a_command_cannot_read_the_token_from_offloadds_environment) {
  temp_dir dir;
  const std::string token = "tok-very-secret-4711";
  const std::string redis_password = "redis-secret-0815";  // unused by the SQLite store, hidden all the same
  const auto config = dir.write(
      "commands.json", json{{"commands", {{"readfile", {{"argv", {"/bin/cat", "{input.path}"}}}}}}}.dump());
  offloadd_process server{{"--config", config, "--work-root", dir.path().string()},
                          {"OFFLOAD_TOKEN=" + token, "OFFLOAD_REDIS_PASSWORD=" + redis_password}};
  const auto port = server.port();
  const header_list auth{{"Authorization", "Bearer " + token}};
  const auto environ_path = "/proc/" + std::to_string(server.pid()) + "/environ";

  const auto body = json{{"type", "readfile"}, {"input", {{"path", environ_path}}}}.dump();
  const auto r = http_request(port, "POST", "/v1/jobs?wait=20", body, auth);
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto view = r.json();
  EXPECT_EQ(view["result"].dump().find(token), std::string::npos) << "the command read the token: " << r.body;
  EXPECT_EQ(view["result"].dump().find(redis_password), std::string::npos) << r.body;
  if (::geteuid() != 0) {
    EXPECT_EQ(view["state"], "failed") << "a same-user child opened offloadd's environ";
  }

  // Read directly too (root may, a same-user process may not): the bytes are not there either way.
  const auto block = file_text(environ_path);
  EXPECT_EQ(block.find(token), std::string::npos);
  EXPECT_EQ(block.find(redis_password), std::string::npos);
  // The service still knows the token: it is the one place it lives.
  EXPECT_EQ(http_get(port, "/v1/types").status, 401u);
  EXPECT_EQ(http_request(port, "GET", "/v1/types", {}, auth).status, 200u);
}

// Issue 15, item 9: with `{input.path:path}` the operator lets a command open files of the job's work
// directory only: an absolute path or a `..` step is refused at submission, before anything runs; a relative
// path is opened in the work directory (the command's cwd).
TEST(secrets_test, a_path_placeholder_only_reaches_into_the_work_directory) {
  temp_dir dir;
  const auto config =
      dir.write("commands.json",
                json{{"commands", {{"readfile", {{"argv", {"/bin/cat", "{input.path:path}"}}}}}}}.dump());
  offloadd_process server{{"--config", config, "--work-root", dir.path().string()}};
  const auto port = server.port();
  for (const auto& outside : {"/proc/" + std::to_string(server.pid()) + "/environ",
                              std::string{"../../etc/passwd"}, std::string{"x/../../../etc/passwd"}}) {
    const auto r =
        http_post(port, "/v1/jobs?wait=20", {{"type", "readfile"}, {"input", {{"path", outside}}}});
    ASSERT_EQ(r.status, 400u) << outside << ": " << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "invalid_input");
    EXPECT_TRUE(r.json()["error"]["message"].get<std::string>().starts_with("input.path: must")) << r.body;
  }
  EXPECT_EQ(http_get(port, "/v1/stats").json()["jobs"]["submitted"], 0) << "nothing ran";
  // Inside: the job's own (empty) work directory, so the file is not there, and cat says so.
  const auto inside =
      http_post(port, "/v1/jobs?wait=20", {{"type", "readfile"}, {"input", {{"path", "notes.txt"}}}});
  ASSERT_EQ(inside.status, 200u) << inside.body;
  EXPECT_EQ(inside.json()["state"], "failed") << inside.body;
}

// Issue 15, item 9: commands can run as another account (`"user"`, `--command-user`; offloadd must be root).
// Such a child owns its working directory and cannot open offloadd's /proc files even with a plain path.
TEST(secrets_test, commands_run_as_the_configured_user) {
  if (::geteuid() != 0) GTEST_SKIP() << "skipped: switching users needs root";
  const auto nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  const auto nobody_uid = std::to_string(nobody->pw_uid) + "\n";
  temp_dir dir;
  ::chmod(dir.path().c_str(), 0755);  // the work root must be reachable for the other user
  const auto config =
      dir.write("commands.json",
                json{{"commands",
                      {{"uid_as_nobody", {{"argv", {"/usr/bin/id", "-u"}}, {"user", "nobody"}}},
                       {"uid_default", {{"argv", {"/usr/bin/id", "-u"}}}},
                       {"uid_as_root", {{"argv", {"/usr/bin/id", "-u"}}, {"user", "0"}}},
                       {"write_here", {{"argv", {"/usr/bin/touch", "made-by-the-job"}}, {"user", "nobody"}}},
                       {"readfile", {{"argv", {"/bin/cat", "{input.path}"}}}}}}}
                    .dump());
  const std::string token = "tok-only-root-may-read";
  offloadd_process server{
      {"--config", config, "--work-root", dir.path().string(), "--command-user", "nobody"},
      {"OFFLOAD_TOKEN=" + token}};
  const auto port = server.port();
  const header_list auth{{"Authorization", "Bearer " + token}};
  const auto run = [&](const json& body) {
    const auto r = http_request(port, "POST", "/v1/jobs?wait=20", body.dump(), auth);
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.json();
  };
  EXPECT_EQ(run({{"type", "uid_as_nobody"}})["result"]["stdout"], nobody_uid);
  EXPECT_EQ(run({{"type", "uid_default"}})["result"]["stdout"], nobody_uid) << "--command-user";
  EXPECT_EQ(run({{"type", "uid_as_root"}})["result"]["stdout"], "0\n") << "a command's own user wins";
  EXPECT_EQ(run({{"type", "write_here"}})["state"], "succeeded") << "its working directory is its own";
  // Not offloadd's user, and offloadd is not dumpable: its environ cannot be opened.
  const auto environ_path = "/proc/" + std::to_string(server.pid()) + "/environ";
  const auto read = run({{"type", "readfile"}, {"input", {{"path", environ_path}}}});
  EXPECT_EQ(read["state"], "failed") << read;
  EXPECT_EQ(read.dump().find(token), std::string::npos);

  // An unknown user stops start-up with the reason.
  const auto [code, err] = offloadd_process::run_to_exit(
      {"--listen", "127.0.0.1:0", "--config", config, "--command-user", "no-such-user-4711"}, {},
      std::chrono::seconds{10});
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("no user 'no-such-user-4711'"), std::string::npos) << err;
}

}  // namespace
}  // namespace offload::test

namespace offload::test {
namespace {

// Output events as they are logged: text as `data`, bytes that are not UTF-8 as `data_base64`, each with its
// stream.
TEST_F(process_test, output_events_carry_their_stream_and_base64_for_bytes) {
  const auto done = run({{"type", "bytes"}});
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  ws_client ws{port(), "/v1/jobs/" + done["id"].get<std::string>() + "/events"};
  std::string out, err;
  for (const auto& e : ws.read_all()) {
    if (e["type"] != "output") continue;
    if (e["stream"] == "stdout") {
      ASSERT_TRUE(e.contains("data_base64")) << e.dump();
      EXPECT_FALSE(e.contains("data"));
      out += e["data_base64"].get<std::string>();
    } else {
      EXPECT_EQ(e["stream"], "stderr");
      err += e["data"].get<std::string>();
    }
  }
  EXPECT_EQ(out, "//4AQQ==") << "ff fe 00 41";
  EXPECT_EQ(err, "a warning\n");
}

TEST_F(process_test, stdout_that_is_not_json_fails_a_stdout_json_command) {
  const auto done = run({{"type", "notjson"}, {"input", {{"data", "{not json"}}}});
  EXPECT_EQ(done["state"], "failed") << done.dump();
  EXPECT_EQ(done["error"]["code"], "command_failed");
  EXPECT_NE(done["error"]["message"].get<std::string>().find("not JSON"), std::string::npos) << done.dump();
  EXPECT_EQ(run({{"type", "notjson"}, {"input", {{"data", "[1, 2]"}}}})["result"], json::array({1, 2}));
}

TEST_F(process_test, the_open_files_limit_holds_end_to_end) {
  const auto files = run({{"type", "files"}});
  ASSERT_EQ(files["state"], "succeeded") << files.dump();
  // 16 descriptors in all; stdin, stdout and stderr take three.
  EXPECT_EQ(files["result"]["opened"], 13) << files.dump();
}

// RLIMIT_NPROC counts the processes of the command's user. Root is exempt, so as root the command runs as
// nobody (who runs nothing else) from a copy of the test child nobody may execute; otherwise a limit of 1 is
// below what the test's own user already runs.
TEST(processes_limit_test, the_processes_limit_holds_end_to_end) {
  temp_dir dir;
  const bool root = ::geteuid() == 0;
  json spec;
  if (root) {
    ::chmod(dir.path().c_str(), 0755);
    const auto program = dir.path() / "child";
    std::filesystem::copy_file(TEST_CHILD_PATH, program);
    spec = {{"argv", {program.string(), "forks", "20"}}, {"user", "nobody"}, {"limits", {{"processes", 3}}}};
  } else {
    spec = test_command({"forks", "20"}, {{"limits", {{"processes", 1}}}});
  }
  spec["result"] = "stdout_json";
  const auto config = dir.write("commands.json", json{{"commands", {{"nproc", spec}}}}.dump());
  offloadd_process server{{"--config", config, "--store", "memory", "--work-root", dir.path().string()}};
  const auto done = run_job(server.port(), {{"type", "nproc"}});
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_LT(done["result"]["forked"].get<int>(), root ? 3 : 1) << done.dump();
}

// The built-in process lane: a timeout kills the worker's whole group (the worker with it) and a fresh
// worker takes its place; a cancel likewise.
TEST_F(process_test, a_worker_lane_timeout_or_cancel_kills_the_worker_and_it_is_replaced) {
  // Each step kills the worker that ran its job, one of those ready before it, and a fresh one takes its
  // place. Which one ran the second job is not known: the pool may hand it to the first step's replacement.
  const auto one_killed_and_replaced = [&](const std::vector<int>& before, const std::string& what) {
    wait_until(
        [&] {
          const auto dead =
              std::count_if(before.begin(), before.end(), [](int pid) { return process_dead(pid); });
          return dead == 1 && ready_workers().size() == 2;
        },
        what);
  };
  const auto before_timeout = ready_workers();
  const auto timed_out =
      run({{"type", "sleep"}, {"lane", "process"}, {"input", {{"ms", 60000}}}, {"timeout_ms", 200}});
  EXPECT_EQ(timed_out["state"], "timed_out") << timed_out.dump();
  one_killed_and_replaced(before_timeout, "the timed-out job's worker to be killed");
  const auto before_cancel = ready_workers();
  const auto job = submit(port(), {{"type", "sleep"}, {"lane", "process"}, {"input", {{"ms", 60000}}}});
  wait_for_job(port(), job["id"], [](const json& v) { return is_state(v, "running"); });
  EXPECT_EQ(http_delete(port(), "/v1/jobs/" + job["id"].get<std::string>()).json()["state"], "cancelled");
  one_killed_and_replaced(before_cancel, "the cancelled job's worker to be killed");
  EXPECT_EQ(run({{"type", "echo"}, {"lane", "process"}, {"input", {{"ok", true}}}})["state"], "succeeded");
}

// A program that is gone by the time a job runs (argv[0] is checked at start-up only): `spawn_failed`.
TEST(spawn_test, a_program_that_vanished_fails_the_job_with_spawn_failed) {
  temp_dir dir;
  const auto program = dir.path() / "vanishing";
  std::filesystem::copy_file(TEST_CHILD_PATH, program);
  const auto config = dir.write(
      "commands.json", json{{"commands", {{"gone", {{"argv", {program.string(), "exit", "0"}}}}}}}.dump());
  offloadd_process server{{"--config", config, "--store", "memory"}};
  std::filesystem::remove(program);
  const auto done = run_job(server.port(), {{"type", "gone"}});
  EXPECT_EQ(done["state"], "failed") << done.dump();
  EXPECT_EQ(done["error"]["code"], "spawn_failed") << done.dump();
  EXPECT_EQ(http_get(server.port(), "/healthz").status, 200u);
}

}  // namespace
}  // namespace offload::test
