// Boost.Process v2 launcher with the set-up the process lane needs in the child, between fork and exec.
#include "core/process/child_process.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace offload::core {
namespace asio = boost::asio;
namespace bp = boost::process::v2;

namespace {

// Closes every descriptor from 3 up except those in `keep` (in the child: async-signal-safe calls only).
void close_inherited(const std::vector<int>& keep) {
  int from = 3;
  const auto close_from_to = [](int first, unsigned last) {
    if (static_cast<unsigned>(first) > last) return;
    if (::close_range(static_cast<unsigned>(first), last, 0) == 0) return;
    // Kernels before 5.9: one by one, up to the descriptor limit.
    const long max = ::sysconf(_SC_OPEN_MAX);
    const unsigned end = std::min<unsigned long>(last, max > 0 ? static_cast<unsigned long>(max) : 65536ul);
    for (unsigned fd = static_cast<unsigned>(first); fd <= end; ++fd)
      ::close(static_cast<int>(fd));
  };
  // `keep` is tiny (the launcher's error pipe): a quadratic walk needs no allocation.
  for (;;) {
    int next_kept = -1;
    for (const int fd : keep)
      if (fd >= from && (next_kept < 0 || fd < next_kept)) next_kept = fd;
    if (next_kept < 0) break;
    close_from_to(from, static_cast<unsigned>(next_kept) - 1);
    from = next_kept + 1;
  }
  close_from_to(from, ~0u);
}

// Runs in the child after fork, before exec: only async-signal-safe calls here.
struct child_setup {
  const char* const* envp;
  const char* work_dir;
  const resource_limits& limits;
  int nice;
  pid_t parent;

  bp::error_code on_setup(bp::posix::default_launcher& launcher, const bp::filesystem::path&,
                          const char* const*) {
    // The child's environment is exactly ours to give: nothing of the service's leaks through.
    launcher.env = envp;
    return {};
  }

  bp::error_code on_exec_setup(bp::posix::default_launcher& launcher, const bp::filesystem::path&,
                               const char* const*) {
    auto fail = [] { return bp::error_code{errno, boost::system::system_category()}; };
    // Inherit nothing but stdin/stdout/stderr (already the job's pipes) and the launcher's own
    // close-on-exec error pipe: no client sockets, no listening socket, no other child's pipes.
    // Boost.Process 1.81's own close_all skips the gaps between whitelisted descriptors, so do it here.
    close_inherited(launcher.fd_whitelist);
    // Own process group, so that cancel and timeout can kill the whole tree with kill(-pgid).
    if (::setpgid(0, 0) != 0) return fail();
    // Die with the service; and if it already died between fork and here, do not run at all.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return fail();
    if (::getppid() != parent) ::_exit(127);
    // Start from default signal handling and an empty mask whatever the service had.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (const int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD})
      ::signal(sig, SIG_DFL);
    if (work_dir && *work_dir && ::chdir(work_dir) != 0) return fail();
    auto limit = [](int resource, const std::optional<std::uint64_t>& value, std::uint64_t scale) {
      if (!value) return 0;
      const rlimit r{static_cast<rlim_t>(*value * scale), static_cast<rlim_t>(*value * scale)};
      return ::setrlimit(resource, &r);
    };
    if (limit(RLIMIT_AS, limits.address_space_mb, 1024 * 1024) != 0) return fail();
    if (limit(RLIMIT_CPU, limits.cpu_seconds, 1) != 0) return fail();
    if (limit(RLIMIT_NOFILE, limits.open_files, 1) != 0) return fail();
    if (limit(RLIMIT_NPROC, limits.processes, 1) != 0) return fail();
    // Lower priority only (never fails for an increment, short of the limit where it saturates).
    if (nice > 0) ::nice(nice);
    return {};
  }
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
  return signal != 0 ? signal_name(signal) : "exit code " + std::to_string(code);
}

child_process::child_process(asio::any_io_executor executor)
    : kill_timer_(executor), in_(executor), out_(executor), err_(executor) {}

child_process::~child_process() {
  if (pid_ > 0 && !status_) {
    // Not reaped: kill the whole group; bp::process's destructor then reaps the (now dying) child.
    signal_group(SIGKILL);
  }
}

bool child_process::has_exited() const noexcept {
  if (status_) return true;
  if (pid_ <= 0) return false;
  siginfo_t info{};
  // By pid: until the exit wait reaps the child, the pid cannot be reused. WNOWAIT: only look.
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return info.si_pid != 0;
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
    if (!ec && !status_) signal_group(SIGKILL);
  });
}

proto::result<std::unique_ptr<child_process>> child_process::spawn(asio::any_io_executor executor,
                                                                   const child_options& options) {
  // Boost.Process 1.81 cannot report a failed exec without leaving the child unreaped and running
  // ::exit() in it, so an unusable program is refused here, before forking.
  if (options.executable.empty() || options.executable.front() != '/' ||
      ::access(options.executable.c_str(), X_OK) != 0)
    return proto::error{proto::errc::internal, "cannot execute '" + options.executable + "'"};

  std::unique_ptr<child_process> child{new child_process(executor)};
  std::vector<const char*> envp;
  for (const auto& e : options.env)
    envp.push_back(e.c_str());
  envp.push_back(nullptr);
  child_setup setup{envp.data(), options.work_dir.c_str(), options.limits, options.nice, ::getpid()};

  // The launcher calls notify_fork() on the context of the executor it is given; in the child that re-creates
  // the context's reactor under its mutexes. Were it the service's reactor, a mutex its thread happened to
  // hold at the fork would deadlock the child before exec. So the launch goes through a private context that
  // only this thread ever touches, and the child's handle is re-opened (pidfd) on `executor` afterwards.
  thread_local asio::io_context launch_context{1};
  bp::error_code ec;
  bp::posix::default_launcher launcher;
  auto launched = launcher(launch_context.get_executor(), ec, bp::filesystem::path{options.executable},
                           options.args, bp::process_stdio{child->in_, child->out_, child->err_}, setup);
  if (ec) {
    if (launcher.pid > 0) {
      // The exec failed in the child, which then exits; it is ours to reap. Off the reactor: it runs
      // ::exit() there, which is not guaranteed to be quick.
      std::thread{[child_pid = launcher.pid] {
        int status = 0;
        ::waitpid(child_pid, &status, 0);
      }}.detach();
    }
    return proto::error{proto::errc::internal, "cannot start '" + options.executable + "': " + ec.message()};
  }
  child->pid_ = launched.id();
  // Not reaped yet (only we wait for it), so the pid cannot have been reused.
  launched.detach();
  child->impl_ = std::make_unique<impl>(bp::process{std::move(executor), child->pid_});
  return child;
}

namespace {

// A plain coroutine function taking values: g++ 12 mishandles capturing coroutine lambdas given to co_spawn.
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
  auto [ec, code] = co_await impl_->process.async_wait(asio::as_tuple(asio::use_awaitable));
  if (ec == asio::error::operation_aborted) co_return exit_status{-1, 0};
  // A failed handle (should not happen with a pidfd) counts as killed.
  const auto status = ec ? exit_status{0, SIGKILL} : decode_status(impl_->process.native_exit_code(), code);
  status_ = status;
  kill_timer_.cancel();
  // Grandchildren left in the group (daemonised, ignoring SIGTERM, …) die with the job.
  signal_group(SIGKILL);
  co_return status;
}

}  // namespace offload::core
