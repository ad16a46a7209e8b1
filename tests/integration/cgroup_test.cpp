// Per-job cgroups (issue 15, item 7) on a real offloadd: a process that left the job's process group dies
// with the job, memory and pids limits hold (for root too), a memory-limit kill reads `memory_limit`, workers
// get the same, and the next offloadd removes what a killed one left. Without cgroup access these tests say
// so and skip; the fallback (process-group kills) is tested everywhere.
#include "support/http_client.hpp"
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"
#include "support/proc_helpers.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

namespace offload::test {
namespace {

using nlohmann::json;

const std::string python = "/usr/bin/python3";

json config() {
  const std::string script = std::string{OFFLOAD_SOURCE_DIR} + "/tests/support/hostile_worker.py";
  return {{"commands",
           {{"escape", test_command({"escape-and-exit", "{input.pidfile}"})},
            {"escape_hang", test_command({"escape-and-hang", "{input.pidfile}"})},
            {"hog", test_command({"alloc"}, {{"limits", {{"memory_mb", 64}}}})},
            {"where", {{"argv", {"/bin/cat", "/proc/self/cgroup"}}}},
            {"where_limited",
             {{"argv", {"/bin/cat", "/proc/self/cgroup"}}, {"limits", {{"memory_mb", 256}, {"pids", 64}}}}},
            {"forks",
             test_command({"forks", "{input.n}"}, {{"result", "stdout_json"}, {"limits", {{"pids", 16}}}})}}},
          {"workers",
           {{"hostile",
             {{"argv", {python, script}},
              {"types", {"escape_grandchild", "worker_hog"}},
              {"pool", 1},
              {"max_jobs", 1},
              {"limits", {{"memory_mb", 128}}}}}}}};
}

// Processes whose argv is exactly `argv` (the test child's `forks` children keep their parent's).
std::vector<int> processes_with_argv(const std::vector<std::string>& argv) {
  std::vector<int> out;
  for (const auto& entry : std::filesystem::directory_iterator{"/proc"}) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const int pid = std::stoi(name);
    if (command_line(pid) == argv && !process_dead(pid)) out.push_back(pid);
  }
  return out;
}

// A cgroup2 file system mounted read-write, and root to write in it.
bool cgroup2_writable() {
  if (::geteuid() != 0) return false;
  std::ifstream in{"/proc/self/mountinfo"};
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields{line};
    std::string id, parent, dev, root, mount_point, options;
    fields >> id >> parent >> dev >> root >> mount_point >> options;
    if (line.find(" - cgroup2 ") != std::string::npos && options.starts_with("rw")) return true;
  }
  return false;
}

class cgroup_test : public ::testing::Test {
 protected:
  temp_dir dir_;
  std::string config_ = dir_.write("cgroups.json", config().dump());
  std::unique_ptr<offloadd_process> server_;

  void SetUp() override {
    server_ = std::make_unique<offloadd_process>(std::vector<std::string>{
        "--config", config_, "--kill-grace-ms", "300", "--process-workers", "1", "--store", "memory"});
    if (metric_value(port(), "offload_cgroups") == 0) GTEST_SKIP() << "skipped: no cgroup access";
  }
  unsigned short port() const { return server_->port(); }
  json run(const json& body) const { return run_job(port(), body); }
  std::string pidfile(const char* name) const { return (dir_.path() / name).string(); }
};

TEST_F(cgroup_test, a_grandchild_that_left_the_process_group_dies_when_its_command_exits) {
  const auto done = run({{"type", "escape"}, {"input", {{"pidfile", pidfile("escaped.pid")}}}});
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["result"]["stdout"], "escaped\n");
  const int grandchild = wait_for_pid_file(pidfile("escaped.pid"));
  wait_until([&] { return process_dead(grandchild); }, "the escaped grandchild to die with its cgroup");
}

TEST_F(cgroup_test, a_timeout_kills_what_left_the_process_group) {
  const auto done =
      run({{"type", "escape_hang"}, {"input", {{"pidfile", pidfile("hang.pid")}}}, {"timeout_ms", 500}});
  EXPECT_EQ(done["state"], "timed_out") << done.dump();
  const int grandchild = wait_for_pid_file(pidfile("hang.pid"));
  wait_until([&] { return process_dead(grandchild); }, "the escaped grandchild to die on the timeout");
}

TEST_F(cgroup_test, a_command_over_its_memory_limit_fails_with_memory_limit) {
  const auto done = run({{"type", "hog"}});
  EXPECT_EQ(done["state"], "failed") << done.dump();
  EXPECT_EQ(done["error"]["code"], "memory_limit") << done.dump();
  EXPECT_NE(done["error"]["message"].get<std::string>().find("64 MiB"), std::string::npos) << done.dump();
  EXPECT_EQ(http_get(port(), "/healthz").status, 200u);
}

// On v1 a job joins the memory and pids hierarchies only for a limit of that kind (a memory cgroup is the
// costly part of starting a command); it always joins the freezer one, which kills use.
TEST_F(cgroup_test, a_command_joins_the_v1_memory_and_pids_hierarchies_only_for_its_limits) {
  if (metric_value(port(), "offload_cgroups") != 1)
    GTEST_SKIP() << "skipped: cgroup v2 here (one hierarchy, every job cgroup has every controller)";
  // The controllers whose cgroup, in /proc/self/cgroup as the command saw it, is a job's.
  const auto in_job_cgroup = [this](const char* type) {
    const auto done = run({{"type", type}});
    EXPECT_EQ(done["state"], "succeeded") << done.dump();
    std::set<std::string> out;
    std::istringstream lines{done["result"]["stdout"].get<std::string>()};
    for (std::string line; std::getline(lines, line);) {
      const auto first = line.find(':');
      const auto second = line.find(':', first + 1);
      if (line.find("/job-", second) == std::string::npos) continue;
      std::istringstream controllers{line.substr(first + 1, second - first - 1)};
      for (std::string c; std::getline(controllers, c, ',');)
        out.insert(c);
    }
    return out;
  };
  const auto plain = in_job_cgroup("where");
  EXPECT_TRUE(plain.contains("freezer"));
  EXPECT_FALSE(plain.contains("memory"));
  EXPECT_FALSE(plain.contains("pids"));
  const auto limited = in_job_cgroup("where_limited");
  EXPECT_TRUE(limited.contains("freezer"));
  EXPECT_TRUE(limited.contains("memory"));
  EXPECT_TRUE(limited.contains("pids"));
}

// RLIMIT_NPROC does not hold for root; the cgroup's pids.max does, for everyone.
TEST_F(cgroup_test, the_pids_limit_caps_a_fork_bomb_and_its_children_die_with_the_job) {
  const auto done = run({{"type", "forks"}, {"input", {{"n", 61}}}});
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  const int forked = done["result"]["forked"].get<int>();
  EXPECT_GE(forked, 1);
  EXPECT_LT(forked, 16) << "pids.max counts the command itself";
  wait_until(
      [&] {
        return processes_with_argv({TEST_CHILD_PATH, "forks", "61"}).empty();
      },
      "the forked children to die with the job");
}

TEST_F(cgroup_test, workers_run_in_cgroups_of_their_own) {
  // A grandchild in a session of its own dies when its worker is retired (max_jobs 1).
  const auto done = run({{"type", "escape_grandchild"}, {"input", {{"pidfile", pidfile("worker.pid")}}}});
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  const int grandchild = done["result"]["grandchild"].get<int>();
  wait_until([&] { return process_dead(grandchild); }, "the worker's escaped grandchild to die");

  // The pool's memory limit: the job fails with memory_limit and the next worker serves the next job.
  const auto hog = run({{"type", "worker_hog"}, {"input", {{"mib", 512}}}});
  EXPECT_EQ(hog["state"], "failed") << hog.dump();
  EXPECT_EQ(hog["error"]["code"], "memory_limit") << hog.dump();
  EXPECT_EQ(run({{"type", "worker_hog"}, {"input", {{"mib", 1}}}})["state"], "succeeded");
}

// `kill -9` of offloadd: its jobs' cgroups outlive it, with whatever escaped the process group inside; the
// next offloadd kills them and removes the directories.
TEST(cgroup_leftovers_test, the_next_offloadd_removes_a_killed_ones_cgroups_and_their_processes) {
  temp_dir dir;
  const auto config = dir.write("cgroups.json", ::offload::test::config().dump());
  const auto pidfile = (dir.path() / "escaped.pid").string();
  const std::vector<std::string> args{"--config", config, "--store", "memory", "--process-workers", "1"};
  int grandchild = 0;
  {
    offloadd_process first{args};
    if (metric_value(first.port(), "offload_cgroups") == 0) GTEST_SKIP() << "skipped: no cgroup access";
    submit(first.port(), {{"type", "escape_hang"}, {"input", {{"pidfile", pidfile}}}});
    grandchild = wait_for_pid_file(pidfile);
    first.signal(SIGKILL);
    ASSERT_TRUE(first.wait_exit(std::chrono::seconds{10}));
  }
  // Any offloadd that starts in the same cgroup sweeps (another test's may come first): the next one
  // at the latest.
  offloadd_process second{args};
  wait_until([&] { return process_dead(grandchild); }, "the escaped grandchild of a killed offloadd to die");
}

// cgroup v2 where the host has it (here perhaps beside v1, without controllers: kills but no limits).
TEST(cgroup_v2_test, a_grandchild_that_left_the_process_group_dies_with_its_command) {
  temp_dir dir;
  const auto config = dir.write("cgroups.json", ::offload::test::config().dump());
  if (!cgroup2_writable())
    GTEST_SKIP() << "skipped: no cgroup v2 access (no writable cgroup2 mount, or not root)";
  offloadd_process server{
      {"--cgroups", "v2", "--config", config, "--store", "memory", "--process-workers", "1"}};
  ASSERT_EQ(metric_value(server.port(), "offload_cgroups"), 2);
  const auto pidfile = (dir.path() / "escaped.pid").string();
  const auto done = run_job(server.port(), {{"type", "escape"}, {"input", {{"pidfile", pidfile}}}});
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  const int grandchild = wait_for_pid_file(pidfile);
  wait_until([&] { return process_dead(grandchild); }, "the escaped grandchild to die with its v2 cgroup");
}

// Without cgroups (`--cgroups off`, or a host that allows none) a grandchild that left the process group
// survives, but it must not hold the job: once the command has exited, its output is read for a short drain
// and the job ends, freeing its slot.
TEST(cgroup_off_test, a_grandchild_outside_the_group_holding_the_pipes_does_not_hold_the_job) {
  temp_dir dir;
  const auto config = dir.write("cgroups.json", ::offload::test::config().dump());
  offloadd_process server{
      {"--cgroups", "off", "--config", config, "--store", "memory", "--process-workers", "1"}};
  EXPECT_EQ(metric_value(server.port(), "offload_cgroups"), 0);
  const auto pidfile = (dir.path() / "escaped.pid").string();
  const auto escaped = run_job(server.port(), {{"type", "escape"}, {"input", {{"pidfile", pidfile}}}});
  EXPECT_EQ(escaped["state"], "succeeded") << escaped.dump();
  EXPECT_EQ(escaped["result"]["stdout"], "escaped\n");
  const int grandchild = wait_for_pid_file(pidfile);
  EXPECT_FALSE(process_dead(grandchild)) << "without cgroups it escapes the group kill";
  wait_until(
      [&] {
        return http_get(server.port(), "/metrics").body.find("offload_jobs_running{lane=\"process\"} 0\n") !=
               std::string::npos;
      },
      "the command's slot to be free");
  ::kill(grandchild, SIGKILL);
  wait_until([&] { return process_dead(grandchild); }, "the escaped grandchild to be gone");
}

}  // namespace
}  // namespace offload::test
