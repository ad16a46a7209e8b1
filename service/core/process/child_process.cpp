// Starting a child: fork and exec with the set-up the process lane needs in between, then a Boost.Process v2
// handle (pidfd) on the reactor for the exit wait and the kill.
#include "core/process/child_process.hpp"

#include <offload/asio_support.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/process/v2/process.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace offload::core {
namespace bp = boost::process::v2;

namespace {

// Closes every descriptor from 3 up except `keep`.
void close_inherited(int keep) noexcept {
  const auto close_from_to = [](unsigned first, unsigned last) {
    if (first > last) return;
    if (::close_range(first, last, 0) == 0) return;
    // Kernels before 5.9: one by one, up to the descriptor limit.
    const long max = ::sysconf(_SC_OPEN_MAX);
    const unsigned end = std::min<unsigned long>(last, max > 0 ? static_cast<unsigned long>(max) : 65536ul);
    for (unsigned fd = first; fd <= end; ++fd)
      ::close(static_cast<int>(fd));
  };
  close_from_to(3, static_cast<unsigned>(keep) - 1);
  close_from_to(static_cast<unsigned>(keep) + 1, ~0u);
}

// Everything the child needs, made before the fork: after it, the child allocates nothing and takes no lock
// (another thread may have held the allocator's or a sanitizer's lock at the fork), and only makes
// async-signal-safe calls until exec.
struct child_plan {
  const char* path;
  char* const* argv;
  char* const* envp;
  const char* work_dir;
  int stdio[3];  // the child's ends of its stdin/stdout/stderr pipes
  int error_fd;  // close-on-exec: the parent reads an errno from it, or EOF once exec succeeded
  // `cgroup.procs` of the job's cgroup in each hierarchy: writing "0" moves the writer in.
  const int* cgroup_fds;
  std::size_t cgroup_fd_count;
  const resource_limits& limits;
  int nice;
  pid_t parent;
  // Switch to this account when set.
  bool switch_user;
  uid_t uid;
  gid_t gid;
  void (*before_exec)(const void*) noexcept;
  const void* before_exec_arg;
};

// In the child: reports errno to the parent and exits.
[[noreturn]] void report_and_exit(int error_fd) noexcept {
  const int err = errno;
  [[maybe_unused]] const auto n = ::write(error_fd, &err, sizeof err);
  ::_exit(127);
}

[[noreturn]] void run_child(const child_plan& p) noexcept {
  const auto fail = [&p] { report_and_exit(p.error_fd); };
  // Into the job's cgroup first, so that everything below and everything it starts is inside.
  for (std::size_t i = 0; i < p.cgroup_fd_count; ++i)
    if (::write(p.cgroup_fds[i], "0", 1) != 1) fail();
  // stdin/stdout/stderr become the pipes (dup2 clears close-on-exec on the copies). A pipe end that is itself
  // 0..2 (the service started with a closed stdio descriptor) first moves out of the way.
  int stdio[3] = {p.stdio[0], p.stdio[1], p.stdio[2]};
  for (int& fd : stdio)
    if (fd <= 2 && (fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) fail();
  for (int target = 0; target < 3; ++target)
    if (::dup2(stdio[target], target) < 0) fail();
  // Own process group, so that cancel and timeout can kill the whole tree with kill(-pgid).
  if (::setpgid(0, 0) != 0) fail();
  // (Before the descriptors go: the hook may write to one the service opened for it.)
  if (p.before_exec) p.before_exec(p.before_exec_arg);
  // Inherit nothing else but the error pipe (close-on-exec): no client sockets, no listening socket, no other
  // child's pipes, whatever another thread opened meanwhile.
  close_inherited(p.error_fd);
  // Another account: no supplementary groups, then the group, then the user (after which nothing can be
  // regained). Before the death signal, which a change of credentials clears.
  // Raw system calls: glibc's wrappers would apply the change to every thread it knows of, and in a child
  // that shares the service's memory (below) those are the service's threads.
  if (p.switch_user && (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setgid, p.gid) != 0 ||
                        ::syscall(SYS_setuid, p.uid) != 0))
    fail();
  // Die with the service; and if it already died between fork and here, do not run at all.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail();
  if (::getppid() != p.parent) ::_exit(127);
  // Default handling of what the service ignores or catches (caught signals would also be reset by exec),
  // then the empty mask (the parent blocked everything around the fork).
  for (const int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2, SIGXCPU})
    ::signal(sig, SIG_DFL);
  if (p.work_dir && *p.work_dir && ::chdir(p.work_dir) != 0) fail();
  // `headroom` raises the hard limit above the soft one.
  const auto limit = [](int resource, const std::optional<std::uint64_t>& value, std::uint64_t scale,
                        std::uint64_t headroom = 0) {
    if (!value) return 0;
    const rlimit r{static_cast<rlim_t>(*value * scale), static_cast<rlim_t>(*value * scale + headroom)};
    return ::setrlimit(resource, &r);
  };
  if (limit(RLIMIT_AS, p.limits.address_space_mb, 1024 * 1024) != 0) fail();
  // CPU: SIGXCPU at the soft limit (reported as `cpu_limit`), SIGKILL one second later at the hard one.
  if (limit(RLIMIT_CPU, p.limits.cpu_seconds, 1, 1) != 0) fail();
  if (limit(RLIMIT_NOFILE, p.limits.open_files, 1) != 0) fail();
  if (limit(RLIMIT_NPROC, p.limits.processes, 1) != 0) fail();
  // Lower priority only (an increment never fails; past the limit it saturates).
  if (p.nice > 0) ::nice(p.nice);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(p.path, p.argv, p.envp);
  report_and_exit(p.error_fd);
}

// Pipes made close-on-exec from the start, so that a fork on another thread cannot leak them.
struct pipe_pair {
  int fd[2] = {-1, -1};
  ~pipe_pair() {
    for (const int f : fd)
      if (f >= 0) ::close(f);
  }
  bool open() noexcept { return ::pipe2(fd, O_CLOEXEC) == 0; }
  int take(int i) noexcept { return std::exchange(fd[i], -1); }
};

}  // namespace

struct child_process::impl {
  explicit impl(bp::process p) : process(std::move(p)) {}
  bp::process process;
};

std::string signal_name(int signal) {
  switch (signal) {
    case SIGHUP:
      return "SIGHUP";
    case SIGINT:
      return "SIGINT";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGILL:
      return "SIGILL";
    case SIGTRAP:
      return "SIGTRAP";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGKILL:
      return "SIGKILL";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGUSR2:
      return "SIGUSR2";
    case SIGPIPE:
      return "SIGPIPE";
    case SIGALRM:
      return "SIGALRM";
    case SIGTERM:
      return "SIGTERM";
    case SIGXCPU:
      return "SIGXCPU";
    case SIGXFSZ:
      return "SIGXFSZ";
    case SIGSYS:
      return "SIGSYS";
    default:
      return "signal " + std::to_string(signal);
  }
}

std::string exit_status::describe() const {
  const auto how = signal != 0 ? signal_name(signal) : "exit code " + std::to_string(code);
  return memory_limit ? how + " (its cgroup hit the memory limit)" : how;
}

child_process::child_process(asio::any_io_executor executor)
    : kill_timer_(executor), in_(executor), out_(executor), err_(executor) {}

child_process::~child_process() {
  if (pid_ > 0 && !status_) {
    // Not reaped: kill the whole group; bp::process's destructor then reaps the (now dying) child.
    signal_group(SIGKILL);
  }
  if (cgroup_) cgroups_->finish_detached(std::move(cgroup_));
}

child_process::state child_process::look() const noexcept {
  if (status_) return state::exited;
  if (pid_ <= 0) return state::running;
  siginfo_t info{};
  // By pid: until the exit wait reaps the child, the pid cannot be reused. WNOWAIT: only look. The kernel
  // reports WSTOPPED only while the child is stopped.
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WSTOPPED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid == 0)
    return state::running;
  return info.si_code == CLD_STOPPED ? state::stopped : state::exited;
}

void child_process::signal_group(int sig) noexcept {
  if (pid_ > 0) ::kill(-pid_, sig);
}

void child_process::terminate_group(std::chrono::milliseconds grace) {
  if (status_) return;
  signal_group(SIGTERM);
  kill_timer_.expires_after(grace);
  kill_timer_.async_wait([this](boost::system::error_code ec) {
    // Cancelled when the child exits (or when this object goes): `this` is only touched on expiry.
    if (ec || status_) return;
    signal_group(SIGKILL);
    if (cgroup_) cgroups_->kill_detached(cgroup_);
  });
}

namespace {

// argv and envp as execve wants them, built before the fork (the child may not allocate).
struct exec_vectors {
  std::vector<char*> argv;
  std::vector<char*> envp;
};

exec_vectors make_exec_vectors(const child_options& options) {
  exec_vectors v;
  v.argv.push_back(const_cast<char*>(options.executable.c_str()));
  for (const auto& a : options.args)
    v.argv.push_back(const_cast<char*>(a.c_str()));
  v.argv.push_back(nullptr);
  for (const auto& e : options.env)
    v.envp.push_back(const_cast<char*>(e.c_str()));
  v.envp.push_back(nullptr);
  return v;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define OFFLOAD_SPAWN_WITH_FORK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define OFFLOAD_SPAWN_WITH_FORK 1
#endif
#endif

#ifndef OFFLOAD_SPAWN_WITH_FORK
// The stack a child runs on until exec, one per spawning thread (the thread is suspended while the child
// uses it, so one is enough). Mapped once, with a guard page below it.
class child_stack {
 public:
  static constexpr std::size_t size = 256 * 1024;
  child_stack() {
    void* p =
        ::mmap(nullptr, size + guard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) return;
    ::mprotect(p, guard, PROT_NONE);
    base_ = static_cast<char*>(p);
  }
  ~child_stack() {
    if (base_) ::munmap(base_, size + guard);
  }
  child_stack(const child_stack&) = delete;
  child_stack& operator=(const child_stack&) = delete;
  // The top (stacks grow down), or null when it could not be mapped.
  void* top() const noexcept { return base_ ? base_ + guard + size : nullptr; }

 private:
  static constexpr std::size_t guard = 4096;
  char* base_ = nullptr;
};

int child_entry(void* plan) {
  run_child(*static_cast<const child_plan*>(plan));
}
#endif

// Starts the child the way posix_spawn does: clone(CLONE_VM | CLONE_VFORK) on a small stack of its own. The
// child shares the service's memory until exec (no page tables to copy, however large and multi-threaded
// the service is) and the calling thread waits until it has exec'd; run_child makes only system calls.
// Sanitizer builds fork instead (their runtimes do not follow a child that shares memory).
// Boost.Process 1.81's default_launcher is not used: it calls notify_fork() on an io_context in the child,
// which allocates and locks there (a deadlock when another thread held the allocator's lock at the fork;
// seen under ASan and TSan once spawning moved off the reactor), and it runs ::exit() in the child when
// exec fails. Signals stay blocked across the start, so that no handler of the service runs in the child.
// Returns the pid, or -1 with errno set.
pid_t fork_child(const child_plan& plan) {
  sigset_t all, previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &previous);
#ifdef OFFLOAD_SPAWN_WITH_FORK
  const pid_t pid = ::fork();
  if (pid == 0) run_child(plan);
#else
  static thread_local const child_stack stack;
  pid_t pid = -1;
  if (stack.top())
    pid = ::clone(child_entry, stack.top(), CLONE_VM | CLONE_VFORK | SIGCHLD, const_cast<child_plan*>(&plan));
  else
    errno = ENOMEM;
#endif
  const int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = fork_errno;
  return pid;
}

// Reads the child's report pipe: EOF (0) means exec succeeded; an errno means set-up or exec failed, and
// the child, which has _exit()ed already, is reaped at once.
int exec_failure(int report_fd, pid_t pid) {
  int child_errno = 0;
  ssize_t n = 0;
  while ((n = ::read(report_fd, &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
  }
  if (n <= 0) return 0;
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return child_errno;
}

}  // namespace

proto::result<user_account> find_user_account(const std::string& name) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  int err = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (!found && !name.empty() && name.size() <= 10 &&
      name.find_first_not_of("0123456789") == std::string::npos)
    err = ::getpwuid_r(static_cast<uid_t>(std::stoul(name)), &entry, buffer.data(), buffer.size(), &found);
  if (!found)
    return proto::error{
        proto::errc::invalid_input,
        "no user '" + name + "'" + (err != 0 ? std::string{" ("} + std::strerror(err) + ")" : "")};
  return user_account{entry.pw_name, entry.pw_uid, entry.pw_gid};
}

proto::result<std::unique_ptr<child_process>> child_process::spawn(asio::any_io_executor executor,
                                                                   const child_options& options) {
  if (options.executable.empty() || options.executable.front() != '/' ||
      ::access(options.executable.c_str(), X_OK) != 0)
    return proto::error{proto::errc::internal, "cannot execute '" + options.executable + "'"};
  const auto failed = [&options](int err) {
    return proto::error{proto::errc::internal,
                        "cannot start '" + options.executable + "': " + std::strerror(err)};
  };

  auto vectors = make_exec_vectors(options);
  pipe_pair in, out, err, report;
  if (!in.open() || !out.open() || !err.open() || !report.open()) return failed(errno);
  std::shared_ptr<job_cgroup> cgroup;
  if (options.cgroups) {
    auto made = options.cgroups->create(options.limits.memory_mb, options.limits.pids);
    if (!made) return std::move(made).error();
    cgroup = std::move(*made);
  }
  // Nothing ran in it when the start fails: it goes at once.
  const auto drop_cgroup = [&cgroup] {
    if (cgroup) cgroup->try_remove();
  };
  const child_plan plan{options.executable.c_str(),
                        vectors.argv.data(),
                        vectors.envp.data(),
                        options.work_dir.c_str(),
                        {in.fd[0], out.fd[1], err.fd[1]},
                        report.fd[1],
                        cgroup ? cgroup->join_fds().data() : nullptr,
                        cgroup ? cgroup->join_fds().size() : 0,
                        options.limits,
                        options.nice,
                        ::getpid(),
                        options.user.has_value(),
                        options.user ? static_cast<uid_t>(options.user->uid) : 0,
                        options.user ? static_cast<gid_t>(options.user->gid) : 0,
                        options.before_exec,
                        options.before_exec_arg};

  const pid_t pid = fork_child(plan);
  if (pid < 0) {
    const int fork_errno = errno;
    drop_cgroup();
    return failed(fork_errno);
  }

  // The parent keeps its ends only; EOF on the report pipe means exec succeeded.
  ::close(in.take(0));
  ::close(out.take(1));
  ::close(err.take(1));
  ::close(report.take(1));
  if (const int child_errno = exec_failure(report.fd[0], pid); child_errno != 0) {
    drop_cgroup();
    return failed(child_errno);
  }

  std::unique_ptr<child_process> child{new child_process(executor)};
  child->pid_ = pid;  // from here on, destroying `child` kills the group
  if (cgroup) {
    cgroup->close_join_fds();
    child->cgroups_ = options.cgroups;
    child->cgroup_ = std::move(cgroup);
  }
  // The pipes own their descriptors once assigned; a failed assignment leaves it with the pipe_pair.
  boost::system::error_code ec;
  child->in_.assign(in.fd[1], ec);
  if (!ec) {
    in.take(1);
    child->out_.assign(out.fd[0], ec);
  }
  if (!ec) {
    out.take(0);
    child->err_.assign(err.fd[0], ec);
  }
  if (ec) {
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    child->pid_ = -1;
    return failed(ec.value());
  }
  err.take(0);
  // A pidfd on the reactor: the exit wait never blocks, and the pid cannot be reused before it reaps.
  child->impl_ = std::make_unique<impl>(bp::process{std::move(executor), pid});
  return child;
}

namespace {

// A plain coroutine function taking values, not a lambda (rule 2).
asio::awaitable<proto::result<std::unique_ptr<child_process>>> spawn_task(asio::any_io_executor executor,
                                                                          child_options options) {
  co_return child_process::spawn(std::move(executor), options);
}

}  // namespace

asio::awaitable<proto::result<std::unique_ptr<child_process>>> child_process::async_spawn(
    asio::any_io_executor executor, asio::any_io_executor helper, child_options options) {
  // The child's I/O objects are made on the helper thread for `executor`; nothing else can touch them
  // until the completion hands them over.
  co_return co_await asio::co_spawn(helper, spawn_task(std::move(executor), std::move(options)),
                                    asio::use_awaitable);
}

namespace {

exit_status decode_status(int native, int code) {
  exit_status status;
  if (WIFSIGNALED(native))
    status.signal = WTERMSIG(native);
  else
    status.code = WIFEXITED(native) ? WEXITSTATUS(native) : code;
  return status;
}

}  // namespace

asio::awaitable<exit_status> child_process::async_wait() {
  if (status_) co_return *status_;
  auto [ec, code] = co_await impl_->process.async_wait(use_tuple);
  if (ec == asio::error::operation_aborted) co_return exit_status{-1, 0};
  // A failed handle (should not happen with a pidfd) counts as killed.
  auto status = ec ? exit_status{0, SIGKILL} : decode_status(impl_->process.native_exit_code(), code);
  status_ = status;
  kill_timer_.cancel();
  // Grandchildren left in the group (daemonised, ignoring SIGTERM, …) die with the job; with a cgroup,
  // so do those that left the group.
  signal_group(SIGKILL);
  if (cgroup_) {
    const auto memory_kills = co_await cgroups_->async_finish(std::move(cgroup_));
    cgroup_.reset();
    status.memory_limit = memory_kills > 0;
    status_ = status;
  }
  co_return status;
}

}  // namespace offload::core
