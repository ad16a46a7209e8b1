// posix_spawn with pipes (or a pty) for stdout and stderr, read with poll until both close.
#include "support/run_program.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace offload::test {

program_result run_program(const std::vector<std::string>& argv, const run_options& options) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "OFFLOAD_", 8) != 0) env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), options.env.begin(), options.env.end());
  std::vector<std::string> arg_strings = argv;
  std::vector<char*> args, env;
  for (auto& a : arg_strings)
    args.push_back(a.data());
  args.push_back(nullptr);
  for (auto& e : env_strings)
    env.push_back(e.data());
  env.push_back(nullptr);

  int out_pipe[2], err_pipe[2], in_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0 || pipe2(in_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int out_read = -1;
  std::string pty_name;
  if (options.terminal) {
    out_read = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (out_read < 0 || grantpt(out_read) != 0 || unlockpt(out_read) != 0) throw std::runtime_error("no pty");
    pty_name = ptsname(out_read);
    if (options.columns != 0) {
      winsize size{.ws_row = 24, .ws_col = options.columns, .ws_xpixel = 0, .ws_ypixel = 0};
      ::ioctl(out_read, TIOCSWINSZ, &size);
    }
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, pty_name.c_str(), O_RDWR | O_NOCTTY, 0);
  } else {
    if (pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    out_read = out_pipe[0];
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  }
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (!options.terminal) close(out_pipe[1]);
  close(err_pipe[1]);
  close(in_pipe[0]);
  if (rc != 0) throw std::runtime_error(std::string{"cannot start "} + argv[0] + ": " + std::strerror(rc));
  if (!options.input.empty()) {
    const auto written = write(in_pipe[1], options.input.data(), options.input.size());
    (void)written;
  }
  close(in_pipe[1]);

  program_result result;
  const auto deadline = std::chrono::steady_clock::now() + options.limit;
  pollfd fds[2] = {{out_read, POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  bool exited = false;
  int status = 0;
  std::size_t next_trigger = 0;
  while (open_fds > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      close(out_read);
      close(err_pipe[0]);
      throw std::runtime_error(argv[0] + " did not exit in time; stdout: " + result.out +
                               " stderr: " + result.err);
    }
    // A pty's master never reports EOF while the slave may still be opened; stop reading it once the
    // program has exited and nothing is left.
    if (poll(fds, 2, static_cast<int>(std::min<long>(left.count(), 100))) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[8192];
      const auto n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
    while (next_trigger < options.triggers.size()) {
      const auto& t = options.triggers[next_trigger];
      if (result.out.find(t.seen) == std::string::npos && result.err.find(t.seen) == std::string::npos) break;
      if (t.columns != 0 && options.terminal) {
        winsize size{.ws_row = 24, .ws_col = t.columns, .ws_xpixel = 0, .ws_ypixel = 0};
        ::ioctl(fds[0].fd, TIOCSWINSZ, &size);
      }
      if (t.signal != 0 && !exited) ::kill(pid, t.signal);
      ++next_trigger;
    }
    if (!exited && waitpid(pid, &status, WNOHANG) == pid) exited = true;
    if (exited && options.terminal && fds[0].fd >= 0) {
      pollfd probe{fds[0].fd, POLLIN, 0};
      if (poll(&probe, 1, 0) <= 0) {
        close(fds[0].fd);
        fds[0].fd = -1;
        --open_fds;
      }
    }
  }
  if (!exited) waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return result;
}

}  // namespace offload::test
