// A child process started with Boost.Process v2: own process group, death signal, rlimits, clean
// environment, private working directory, and stdin/stdout/stderr as Asio pipes. It never blocks the reactor.
#pragma once

#include "core/process/cgroup_tree.hpp"

#include <offload/proto/result.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/writable_pipe.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace offload::core {

/// Limits applied with setrlimit() in the child before exec; absent means inherited.
struct resource_limits {
  /// RLIMIT_AS, in MiB.
  std::optional<std::uint64_t> address_space_mb;
  /// RLIMIT_CPU, in seconds of CPU time.
  std::optional<std::uint64_t> cpu_seconds;
  /// RLIMIT_NOFILE.
  std::optional<std::uint64_t> open_files;
  /// RLIMIT_NPROC (per user; not enforced for root).
  std::optional<std::uint64_t> processes;
  /// The memory the job's cgroup may use (page cache included), in MiB; past it the kernel kills a process
  /// of the job. Needs cgroups.
  std::optional<std::uint64_t> memory_mb;
  /// Processes and threads in the job's cgroup at once (root's fork bombs included). Needs cgroups.
  std::optional<std::uint64_t> pids;
};

/// The account a child runs as (resolved once, at start-up: the child cannot look names up).
struct user_account {
  std::string name;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
};

/// The account named `name` (a user name, or a numeric uid), with its primary group; `invalid_input` when
/// there is none. Reads the user database: call it at start-up, never on the reactor.
proto::result<user_account> find_user_account(const std::string& name);

/// What to start. Never a shell: the argv vector reaches execve as it is.
struct child_options {
  /// Absolute path of the program.
  std::string executable;
  /// argv[1..].
  std::vector<std::string> args;
  /// The whole environment, as `NAME=value`; nothing is inherited.
  std::vector<std::string> env;
  /// Working directory; empty keeps the service's.
  std::string work_dir;
  resource_limits limits;
  /// Added to the child's niceness before exec (0: unchanged).
  int nice = 0;
  /// Run as this account (no supplementary groups) instead of the service's; needs the privilege to switch.
  std::optional<user_account> user{};
  /// When set, the child runs in a cgroup of its own made here, with `limits.memory_mb` and `limits.pids`;
  /// its exit (and a kill after the grace) kills everything in it.
  std::shared_ptr<cgroup_tree> cgroups{};
  /// Called with `before_exec_arg` in the child once it leads its own process group, before exec: only
  /// async-signal-safe calls (the child shares the service's memory and must not allocate or lock). What it
  /// does not manage does not stop the child.
  void (*before_exec)(const void* arg) noexcept = nullptr;
  const void* before_exec_arg = nullptr;
};

/// How a child ended.
struct exit_status {
  /// The exit code when it exited; meaningless when `signal` is set.
  int code = 0;
  /// The signal that killed it, or 0.
  int signal = 0;
  /// The kernel killed a process of its cgroup for the memory limit (`limits.memory_mb`).
  bool memory_limit = false;

  bool success() const noexcept { return signal == 0 && code == 0; }
  /// `exit code 3` or `SIGSEGV`.
  std::string describe() const;
};

/// `SIGSEGV` for 11, …; `signal N` for the unnamed.
std::string signal_name(int signal);

/// Owns one child and its process group. Destroying a live child kills its group.
class child_process {
 public:
  /// Starts the child, or returns `internal` with the reason (missing program, fork failure, …).
  /// Blocks the calling thread for the fork and until the child has exec'd (the launcher waits on an error
  /// pipe): the service calls it through `async_spawn`, never on the reactor. `executor` is the one the
  /// child's pipes, timer and exit wait run on.
  static proto::result<std::unique_ptr<child_process>> spawn(boost::asio::any_io_executor executor,
                                                             const child_options& options);
  /// `spawn` run on `helper` (a thread pool), completing back on the caller's executor.
  static boost::asio::awaitable<proto::result<std::unique_ptr<child_process>>> async_spawn(
      boost::asio::any_io_executor executor, boost::asio::any_io_executor helper, child_options options);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  boost::asio::writable_pipe& stdin_pipe() noexcept { return in_; }
  boost::asio::readable_pipe& stdout_pipe() noexcept { return out_; }
  boost::asio::readable_pipe& stderr_pipe() noexcept { return err_; }
  int pid() const noexcept { return pid_; }

  /// Sends `sig` to the child's whole process group (the child and everything it forked).
  void signal_group(int sig) noexcept;
  enum class state { running, stopped, exited };
  /// What the child is doing right now, in one non-blocking look that consumes nothing: `exited` (reaped or
  /// not: the exit wait may not have run yet), `stopped` (SIGSTOP, SIGTSTP, a debugger: it would take a job
  /// and never answer), or `running` (also when that cannot be told).
  state look() const noexcept;
  /// SIGTERM to the group now; SIGKILL to the group (and its cgroup) after `grace` unless the child has
  /// exited by then.
  void terminate_group(std::chrono::milliseconds grace);

  /// Completes when the child exited, and reaps it (through a pidfd: no waitpid on the reactor).
  /// Afterwards the group is sent SIGKILL, so grandchildren never outlive it, and so is everything in the
  /// child's cgroup (those that left the group too), whose memory-limit kills `memory_limit` reports. If
  /// the wait is cancelled, it may be started again.
  boost::asio::awaitable<exit_status> async_wait();

 private:
  struct impl;
  explicit child_process(boost::asio::any_io_executor executor);

  boost::asio::steady_timer kill_timer_;
  boost::asio::writable_pipe in_;
  boost::asio::readable_pipe out_;
  boost::asio::readable_pipe err_;
  std::unique_ptr<impl> impl_;
  int pid_ = -1;
  std::optional<exit_status> status_;
  std::shared_ptr<cgroup_tree> cgroups_;
  // Until the exit wait hands it to the tree for the final kill and removal.
  std::shared_ptr<job_cgroup> cgroup_;
};

}  // namespace offload::core
