// posix_spawn-based launcher: the test harness is not the code under test, so it stays minimal.
#include "support/offloadd_process.hpp"

#include "support/child_guard.hpp"
#include "support/proc_helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <tuple>
#include <unistd.h>

extern char** environ;

namespace offload::test {
namespace {

// A null-terminated pointer array over `strings`, as execve-style calls want.
std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Starts `argv` with `envp`, its file descriptor `target` connected to a pipe; returns pid and read end.
std::pair<pid_t, int> spawn_piped(std::vector<std::string> argv, std::vector<std::string> envp, int target,
                                  const std::string& stderr_file = {}) {
  auto args = c_strings(argv);
  auto env = c_strings(envp);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], target);
  if (!stderr_file.empty())
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_file.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw std::runtime_error(std::string{"cannot start offloadd: "} + std::strerror(rc));
  }
  return {pid, fds[0]};
}

std::vector<std::string> inherited_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    env.emplace_back(*e);
  return env;
}

// The inherited environment without OFFLOAD_* (the test decides those), plus `extra`.
std::vector<std::string> test_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> environment;
  for (auto& e : inherited_environment())
    if (!e.starts_with("OFFLOAD_")) environment.push_back(std::move(e));
  environment.insert(environment.end(), extra.begin(), extra.end());
  return environment;
}

}  // namespace

std::string offloadd_process::binary() {
  // CI points the integration tests at a ThreadSanitizer build of offloadd this way.
  if (const char* other = std::getenv("OFFLOAD_TEST_OFFLOADD"); other && *other) return other;
  return OFFLOADD_PATH;
}

bool offloadd_process::plain() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return false;
#else
  return std::getenv("OFFLOAD_TEST_OFFLOADD") == nullptr;
#endif
}

namespace {

// `--data-dir` in a fresh temporary directory, unless `args` already say where (or how) jobs are kept.
void add_private_data_dir(std::vector<std::string>& argv, std::unique_ptr<temp_dir>& dir) {
  const bool chosen = std::any_of(argv.begin(), argv.end(), [](const std::string& a) {
    return a.starts_with("--store") || a.starts_with("--data-dir");
  });
  if (chosen) return;
  dir = std::make_unique<temp_dir>();
  argv.push_back("--data-dir");
  argv.push_back((dir->path() / "data").string());
}

}  // namespace

offloadd_process::offloadd_process(std::vector<std::string> args, std::vector<std::string> env,
                                   const std::string& stderr_file) {
  std::vector<std::string> argv{binary(), "--listen", "127.0.0.1:0", "--log-level", "warn"};
  argv.insert(argv.end(), args.begin(), args.end());
  // Teardown by SIGTERM is quick: jobs still running are cancelled at once.
  if (std::find(args.begin(), args.end(), "--drain-seconds") == args.end())
    argv.insert(argv.end(), {"--drain-seconds", "0"});
  // `/readyz` says 503 after a reactor lag past 100 ms, which a test machine starved by a sanitizer build
  // and a Docker build beside it can cause: tests of readiness for other reasons (draining, a full disk,
  // Redis away) must not see it. The tests of the lag itself set their own limit.
  if (std::find(args.begin(), args.end(), "--max-reactor-lag-ms") == args.end())
    argv.insert(argv.end(), {"--max-reactor-lag-ms", "60000"});
  add_private_data_dir(argv, data_);
  std::tie(pid_, stdout_fd_) =
      spawn_piped(std::move(argv), test_environment(env), STDOUT_FILENO, stderr_file);
  guard_child(pid_);
  try {
    port_ = read_listening_port();
  } catch (...) {
    // The destructor does not run for a constructor that throws: stop the server here.
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    unguard_child(pid_);
    close(stdout_fd_);
    throw;
  }
}

unsigned short offloadd_process::read_listening_port() const {
  // The first line: "listening on http://127.0.0.1:PORT".
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (line.find('\n') == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
            .count();
    pollfd pfd{stdout_fd_, POLLIN, 0};
    if (left <= 0 || poll(&pfd, 1, static_cast<int>(left)) <= 0)
      throw std::runtime_error("offloadd did not print its listening line in time");
    char buf[256];
    const auto n = read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) throw std::runtime_error("offloadd exited before listening: " + line);
    line.append(buf, static_cast<std::size_t>(n));
  }
  const auto colon = line.rfind(':');
  if (line.rfind("listening on http://", 0) != 0 || colon == std::string::npos)
    throw std::runtime_error("unexpected first line: " + line);
  return static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
}

std::pair<int, std::string> offloadd_process::run_to_exit(const std::vector<std::string>& args,
                                                          const std::vector<std::string>& env,
                                                          std::chrono::milliseconds limit) {
  std::vector<std::string> argv{binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::unique_ptr<temp_dir> data;
  add_private_data_dir(argv, data);
  const auto [pid, err_fd] = spawn_piped(std::move(argv), test_environment(env), STDERR_FILENO);
  std::string output;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
            .count();
    pollfd pfd{err_fd, POLLIN, 0};
    if (left <= 0 || poll(&pfd, 1, static_cast<int>(left)) <= 0) {
      ::kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      close(err_fd);
      throw std::runtime_error("offloadd did not exit in time: " + output);
    }
    char buf[4096];
    const auto n = read(err_fd, buf, sizeof buf);
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
  }
  close(err_fd);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status), output};
}

offloadd_process::~offloadd_process() {
  if (!exited_ && pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::kill(pid_, SIGCONT);  // a stopped server would hold the SIGTERM
    const auto code = wait_exit(std::chrono::seconds{20});
    if (!code) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      unguard_child(pid_);
    }
    // Killed with SIGKILL by the test (directly or through pid()) is not the server's failure.
    if (!signalled_ && (!code || (*code != 0 && *code != -SIGKILL)))
      ADD_FAILURE() << "offloadd (pid " << pid_ << ") "
                    << (code ? "exited " + std::to_string(*code) + " after SIGTERM"
                             : std::string{"did not exit within 20 s of SIGTERM"})
                    << "; a sanitizer's report, if any, is in its stderr";
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

void offloadd_process::signal(int sig) const {
  signalled_ = true;
  ::kill(pid_, sig);
}

std::optional<int> offloadd_process::wait_exit(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      unguard_child(pid_);
      return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

}  // namespace offload::test
