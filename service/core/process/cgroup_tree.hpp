// Per-job cgroups: each command job and each worker runs in a cgroup of its own, under one directory this
// offloadd owns, with its memory and pids limits. Killing a job kills its whole cgroup, so a grandchild that
// left the process group (setsid) or a fork bomb run as root dies with it, and a kill by the memory limit is
// told apart from other deaths. cgroup v2 (a writable, delegated subtree) or v1 (writable `memory`, `pids`
// and `freezer` hierarchies); when neither is usable the process lane keeps its process-group kills.
#pragma once

#include <offload/proto/result.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace offload::core {

/// `--cgroups`: which hierarchy to use.
enum class cgroup_mode {
  /// v2 with the memory and pids controllers, else v1, else v2 without controllers (kills, no limits),
  /// else none (with a warning).
  automatic,
  /// Only cgroup v1; start-up fails when it cannot be used.
  v1,
  /// Only cgroup v2; start-up fails when it cannot be used.
  v2,
  /// No cgroups: process-group kills only.
  off,
};

/// One cgroup file system in /proc/self/mountinfo.
struct cgroup_mount {
  /// The directory of the hierarchy mounted there (`/` unless a namespace or bind mount shows a subtree).
  std::string root;
  std::string mount_point;
  /// 2 for cgroup2, 1 for cgroup.
  int version = 0;
  /// v1: the controllers of the hierarchy (`memory`, `pids`, `freezer`, …).
  std::vector<std::string> controllers;
};

/// The cgroup mounts of a mountinfo text. Pure, for tests and fuzzing.
std::vector<cgroup_mount> parse_cgroup_mounts(std::string_view mountinfo);

/// One line of /proc/self/cgroup: `ID:CONTROLLERS:PATH`; `controllers` is empty for v2.
struct cgroup_membership {
  std::vector<std::string> controllers;
  std::string path;
};

/// The lines of a /proc/PID/cgroup text. Pure, for tests and fuzzing.
std::vector<cgroup_membership> parse_proc_cgroup(std::string_view text);

/// A job's (or worker's) cgroup: one directory per hierarchy. Its blocking calls run on the tree's thread.
class job_cgroup {
 public:
  /// `dirs`: the job's directory in each hierarchy it uses (v1: the freezer last); `memory_dir`: the one with
  /// the memory controller, or empty when the job has none (v1 without a memory limit).
  job_cgroup(int version, std::vector<std::string> dirs, std::vector<int> join_fds,
             std::string memory_dir = {});
  ~job_cgroup();
  job_cgroup(const job_cgroup&) = delete;
  job_cgroup& operator=(const job_cgroup&) = delete;

  /// Open `cgroup.procs` files: the child writes "0" to each before exec, so that it and everything it
  /// starts belong to the cgroup from the first instruction on.
  const std::vector<int>& join_fds() const noexcept { return join_fds_; }
  /// Closes them (the parent's copies, once the child has exec'd).
  void close_join_fds() noexcept;

  /// Blocking: SIGKILL to every process in the cgroup (v2 `cgroup.kill`; v1 freezes it first, so that
  /// nothing forks while it is being emptied).
  void kill_all() noexcept;
  /// Blocking: processes the kernel killed for the memory limit so far.
  std::uint64_t memory_kills() const noexcept;
  /// Blocking: removes the directories; false while a process (a dying one) is still inside.
  bool try_remove() noexcept;
  /// The first directory, for logs.
  const std::string& path() const noexcept { return dirs_.front(); }

 private:
  int version_;
  std::vector<std::string> dirs_;
  std::vector<int> join_fds_;
  std::string memory_dir_;
};

class cgroup_tree {
 public:
  /// Finds a usable hierarchy, makes this offloadd's directory in it, and kills and removes what an
  /// offloadd that died without cleaning up left there. The error says why cgroups cannot be used.
  /// Blocking: call at start-up.
  static proto::result<std::shared_ptr<cgroup_tree>> open(cgroup_mode mode);
  /// Removes this offloadd's directories (its jobs' cgroups are gone by then).
  ~cgroup_tree();
  cgroup_tree(const cgroup_tree&) = delete;
  cgroup_tree& operator=(const cgroup_tree&) = delete;

  /// 1 or 2.
  int version() const noexcept { return version_; }
  /// Where job cgroups go (the first hierarchy's directory for v1).
  const std::string& location() const noexcept { return bases_.front(); }
  /// Whether memory and pids limits can be applied (their controllers are available).
  bool limits_memory() const noexcept { return memory_; }
  bool limits_pids() const noexcept { return pids_; }
  /// What the start-up sweep found: cgroups of dead offloadd instances removed, processes killed in them.
  std::size_t swept_groups() const noexcept { return swept_groups_; }
  std::size_t swept_processes() const noexcept { return swept_processes_; }

  /// Blocking (a spawn thread): a new cgroup with these limits (a limit whose controller is missing is not
  /// applied; start-up warns about it). `spawn_failed` when the directory or a limit cannot be written.
  proto::result<std::shared_ptr<job_cgroup>> create(std::optional<std::uint64_t> memory_mb,
                                                    std::optional<std::uint64_t> pids);

  /// The thread the blocking calls run on, off the reactor.
  boost::asio::any_io_executor executor() noexcept { return thread_.get_executor(); }
  /// On that thread: kills everything in `group` and returns its memory-limit kills; the directories are
  /// removed there in the background once the killed processes are gone.
  boost::asio::awaitable<std::uint64_t> async_finish(std::shared_ptr<job_cgroup> group);
  /// Fire and forget: kill everything in `group`, then remove it (a child destroyed unreaped).
  void finish_detached(std::shared_ptr<job_cgroup> group);
  /// Fire and forget: kill everything in `group` (a timeout's SIGKILL), leaving it in place.
  void kill_detached(std::shared_ptr<job_cgroup> group);

 private:
  cgroup_tree(int version, std::vector<std::string> bases);

  int version_;
  // This offloadd's directory in each hierarchy (v1: memory, pids, freezer; v2: one).
  std::vector<std::string> bases_;
  bool memory_ = false;
  bool pids_ = false;
  std::size_t swept_groups_ = 0;
  std::size_t swept_processes_ = 0;
  std::atomic<std::uint64_t> next_id_{0};
  boost::asio::thread_pool thread_{1};
};

}  // namespace offload::core
