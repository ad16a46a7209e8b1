// posix_spawn-based launcher: the test harness is not the code under test, so it stays minimal.
#include "support/offloadd_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace offload::test {

std::string offloadd_process::binary() {
  return OFFLOADD_PATH;
}

offloadd_process::offloadd_process(std::vector<std::string> args, std::vector<std::string> env) {
  std::vector<std::string> argv_storage{binary(), "--listen", "127.0.0.1:0", "--log-level", "warn"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  // Inherit the environment minus OFFLOAD_*, plus what the test asks for.
  std::vector<std::string> env_storage;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "OFFLOAD_", 8) != 0) env_storage.emplace_back(*e);
  env_storage.insert(env_storage.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_storage)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  stdout_fd_ = out[0];
  if (rc != 0) throw std::runtime_error(std::string{"cannot start offloadd: "} + std::strerror(rc));

  // Read the first line: "listening on http://127.0.0.1:PORT".
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
  port_ = static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
}

std::pair<int, std::string> offloadd_process::run_to_exit(const std::vector<std::string>& args,
                                                          std::chrono::milliseconds limit) {
  std::vector<std::string> storage{binary()};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : storage)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int err[2];
  if (pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(err[1]);
  if (rc != 0) throw std::runtime_error("cannot start offloadd");
  std::string output;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
            .count();
    pollfd pfd{err[0], POLLIN, 0};
    if (left <= 0 || poll(&pfd, 1, static_cast<int>(left)) <= 0) {
      ::kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      close(err[0]);
      throw std::runtime_error("offloadd did not exit in time: " + output);
    }
    char buf[4096];
    const auto n = read(err[0], buf, sizeof buf);
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
  }
  close(err[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status), output};
}

offloadd_process::~offloadd_process() {
  if (!exited_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

void offloadd_process::signal(int sig) const {
  ::kill(pid_, sig);
}

std::optional<int> offloadd_process::wait_exit(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

}  // namespace offload::test
