// Finding a usable cgroup hierarchy, making job cgroups in it, and emptying and removing them.
#include "core/process/cgroup_tree.hpp"

#include "core/logger.hpp"
#include "core/process/process_identity.hpp"

#include <offload/asio_support.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace offload::core {
namespace {

using proto::errc;

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const auto at = text.find(sep);
    out.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return out;
    text.remove_prefix(at + 1);
  }
}

// Mountinfo escapes blanks and backslashes in paths as \ooo (octal).
std::string unescape_octal(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Options of a cgroup v1 mount that are not controllers.
bool is_mount_flag(std::string_view option) {
  static constexpr std::string_view flags[] = {
      "rw", "ro", "xattr", "noprefix", "all", "none", "clone_children", "cpuset_v2_mode", "favordynmods"};
  return std::find(std::begin(flags), std::end(flags), option) != std::end(flags);
}

// Small files of /proc and cgroupfs, read and written with plain syscalls (errno tells what failed).
std::optional<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

// 0, or the errno of the open or the write.
int write_file(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = 0;
  while ((n = ::write(fd, text.data(), text.size())) < 0 && errno == EINTR) {
  }
  const int err = n < 0 ? errno : 0;
  ::close(fd);
  return err;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.remove_suffix(1);
  return std::string{s};
}

// `KEY N` lines (memory.events, memory.oom_control): N for `key`, or 0.
std::uint64_t keyed_value(const std::optional<std::string>& text, std::string_view key) {
  if (!text) return 0;
  for (const auto line : split(*text, '\n')) {
    const auto fields = split(line, ' ');
    std::uint64_t v = 0;
    if (fields.size() == 2 && fields[0] == key &&
        std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), v).ec == std::errc{})
      return v;
  }
  return 0;
}

std::vector<long> pids_in(const std::string& dir) {
  std::vector<long> out;
  const auto text = read_file(dir + "/cgroup.procs");
  if (!text) return out;
  for (const auto line : split(*text, '\n')) {
    long pid = 0;
    if (std::from_chars(line.data(), line.data() + line.size(), pid).ec == std::errc{} && pid > 0)
      out.push_back(pid);
  }
  return out;
}

// Kills every process listed in `dir` until it lists no new one (or `rounds` passes): a process forking
// while it is killed adds a child the next round sees.
void kill_listed(const std::string& dir, int rounds) {
  std::set<long> killed;
  for (int round = 0; round < rounds; ++round) {
    bool fresh = false;
    for (const long pid : pids_in(dir)) {
      if (killed.insert(pid).second) fresh = true;
      ::kill(static_cast<pid_t>(pid), SIGKILL);
    }
    if (!fresh) return;
  }
}

std::string errno_text(int err) {
  return std::strerror(err);
}

std::vector<std::string> subdirectories(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name{e->d_name};
    if (e->d_type == DT_DIR && name != "." && name != "..") out.emplace_back(name);
  }
  ::closedir(d);
  return out;
}

// `offload-PID-START`: the directory of the offloadd that has this identity.
std::string base_name(const process_identity& who) {
  return "offload-" + std::to_string(who.pid) + "-" + std::to_string(who.start_time);
}

std::optional<process_identity> owner_of(std::string_view name) {
  if (!name.starts_with("offload-")) return std::nullopt;
  const auto parts = split(name.substr(8), '-');
  process_identity who;
  if (parts.size() != 2 ||
      std::from_chars(parts[0].data(), parts[0].data() + parts[0].size(), who.pid).ec != std::errc{} ||
      std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), who.start_time).ec != std::errc{})
    return std::nullopt;
  return who;
}

// The directory of the cgroup this process is in, for a hierarchy mounted at `m`.
std::optional<std::string> own_directory(const cgroup_mount& m, const std::string& path) {
  // A mount may show a subtree of the hierarchy (its root is then a prefix of our path); our cgroup
  // outside it is not reachable through this mount.
  if (m.root == "/") return m.mount_point + (path == "/" ? "" : path);
  if (path == m.root) return m.mount_point;
  if (path.starts_with(m.root + "/")) return m.mount_point + path.substr(m.root.size());
  return std::nullopt;
}

bool has(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// The v1 hierarchies job cgroups use, in the order of `bases_`.
constexpr std::string_view v1_controllers[] = {"memory", "pids", "freezer"};

// A hierarchy's directory for us and what it offers.
struct candidate {
  int version = 0;
  std::vector<std::string> dirs;  // v1: memory, pids, freezer; v2: one
  std::string why_not;
};

candidate find_v2(const std::vector<cgroup_mount>& mounts, const std::vector<cgroup_membership>& own) {
  candidate c{2, {}, {}};
  const auto mount = std::find_if(mounts.begin(), mounts.end(), [](const auto& m) { return m.version == 2; });
  const auto member =
      std::find_if(own.begin(), own.end(), [](const auto& m) { return m.controllers.empty(); });
  if (mount == mounts.end() || member == own.end()) {
    c.why_not = "no cgroup2 file system is mounted";
    return c;
  }
  const auto dir = own_directory(*mount, member->path);
  if (!dir) {
    c.why_not = "this process's cgroup2 directory is outside the mount at " + mount->mount_point;
    return c;
  }
  c.dirs.push_back(*dir);
  return c;
}

candidate find_v1(const std::vector<cgroup_mount>& mounts, const std::vector<cgroup_membership>& own) {
  candidate c{1, {}, {}};
  for (const auto controller : v1_controllers) {
    const auto mount = std::find_if(mounts.begin(), mounts.end(), [&](const auto& m) {
      return m.version == 1 && has(m.controllers, controller);
    });
    const auto member =
        std::find_if(own.begin(), own.end(), [&](const auto& m) { return has(m.controllers, controller); });
    if (mount == mounts.end() || member == own.end()) {
      c.why_not = "no cgroup v1 '" + std::string{controller} + "' hierarchy is mounted";
      return c;
    }
    const auto dir = own_directory(*mount, member->path);
    if (!dir) {
      c.why_not = "this process's '" + std::string{controller} + "' cgroup is outside the mount at " +
                  mount->mount_point;
      return c;
    }
    c.dirs.push_back(*dir);
  }
  return c;
}

// Kills and removes one job cgroup of a dead offloadd (`dirs`: its directory in each hierarchy).
std::size_t remove_leftover(int version, const std::vector<std::string>& dirs) {
  job_cgroup group{version, dirs, {}};
  std::size_t killed = 0;
  for (const auto& d : dirs)
    killed = std::max(killed, pids_in(d).size());
  group.kill_all();
  for (int i = 0; i < 200 && !group.try_remove(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  return killed;
}

}  // namespace

std::vector<cgroup_mount> parse_cgroup_mounts(std::string_view mountinfo) {
  std::vector<cgroup_mount> out;
  for (const auto line : split(mountinfo, '\n')) {
    // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPER_OPTIONS
    const auto fields = split(line, ' ');
    const auto dash = std::find(fields.begin(), fields.end(), std::string_view{"-"});
    if (fields.size() < 6 || dash == fields.end() || fields.end() - dash < 4 || dash - fields.begin() < 6)
      continue;
    const auto type = *(dash + 1);
    if (type != "cgroup" && type != "cgroup2") continue;
    cgroup_mount m;
    m.root = unescape_octal(fields[3]);
    m.mount_point = unescape_octal(fields[4]);
    m.version = type == "cgroup2" ? 2 : 1;
    if (m.version == 1)
      for (const auto option : split(*(dash + 3), ','))
        if (!option.empty() && option.find('=') == std::string_view::npos && !is_mount_flag(option))
          m.controllers.emplace_back(option);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<cgroup_membership> parse_proc_cgroup(std::string_view text) {
  std::vector<cgroup_membership> out;
  for (const auto line : split(text, '\n')) {
    // ID:CONTROLLERS:PATH; the path may itself hold ':'.
    const auto first = line.find(':');
    if (first == std::string_view::npos) continue;
    const auto second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    cgroup_membership m;
    const auto field = line.substr(first + 1, second - first - 1);
    for (auto c : split(field, ',')) {
      if (c.starts_with("name=")) c.remove_prefix(5);
      if (!c.empty()) m.controllers.emplace_back(c);
    }
    // No controllers is the v2 line (`0::PATH`) only; anything else without one names nothing.
    if (m.controllers.empty() && (!field.empty() || line.substr(0, first) != "0")) continue;
    m.path = std::string{line.substr(second + 1)};
    if (m.path.empty() || m.path.front() != '/') continue;
    out.push_back(std::move(m));
  }
  return out;
}

job_cgroup::job_cgroup(int version, std::vector<std::string> dirs, std::vector<int> join_fds,
                       std::string memory_dir)
    : version_(version),
      dirs_(std::move(dirs)),
      join_fds_(std::move(join_fds)),
      memory_dir_(std::move(memory_dir)) {}

job_cgroup::~job_cgroup() {
  close_join_fds();
}

void job_cgroup::close_join_fds() noexcept {
  for (const int fd : join_fds_)
    ::close(fd);
  join_fds_.clear();
}

void job_cgroup::kill_all() noexcept {
  if (version_ == 2) {
    // One write kills every process in the cgroup and its descendants (Linux 5.14); the loop is for older
    // kernels.
    if (write_file(dirs_.front() + "/cgroup.kill", "1") != 0) kill_listed(dirs_.front(), 50);
    return;
  }
  // v1: freeze, so that nothing forks between reading the list and the kills, kill, thaw (frozen tasks
  // only die once thawed). An empty cgroup (what most jobs leave) has nothing to freeze: a freeze and thaw
  // cost about 3 ms, more than the rest of a command job's cgroup work together.
  const auto& freezer = dirs_.back();
  if (pids_in(freezer).empty()) return;
  const bool frozen = write_file(freezer + "/freezer.state", "FROZEN") == 0;
  for (int i = 0; frozen && i < 500; ++i) {
    if (trim(read_file(freezer + "/freezer.state").value_or("")) == "FROZEN") break;
    std::this_thread::sleep_for(std::chrono::microseconds{200});
  }
  kill_listed(freezer, frozen ? 1 : 50);
  if (frozen) write_file(freezer + "/freezer.state", "THAWED");
  // What raced the freeze (it did not finish within 100 ms) goes now.
  kill_listed(freezer, 50);
}

std::uint64_t job_cgroup::memory_kills() const noexcept {
  try {
    if (memory_dir_.empty()) return 0;
    if (version_ == 2) return keyed_value(read_file(memory_dir_ + "/memory.events"), "oom_kill");
    return keyed_value(read_file(memory_dir_ + "/memory.oom_control"), "oom_kill");
  } catch (...) {
    return 0;
  }
}

bool job_cgroup::try_remove() noexcept {
  bool gone = true;
  for (const auto& d : dirs_)
    if (::rmdir(d.c_str()) != 0 && errno != ENOENT) gone = false;
  return gone;
}

cgroup_tree::cgroup_tree(int version, std::vector<std::string> bases)
    : version_(version), bases_(std::move(bases)) {}

cgroup_tree::~cgroup_tree() {
  // Kills and removals still queued finish first.
  thread_.join();
  for (const auto& base : bases_) {
    // v2: offloadd itself may sit in `service` (see open()); that one stays until the next start sweeps it.
    ::rmdir(base.c_str());
  }
}

proto::result<std::shared_ptr<cgroup_tree>> cgroup_tree::open(cgroup_mode mode) {
  if (mode == cgroup_mode::off) return proto::error{errc::invalid_input, "turned off (--cgroups off)"};
  const auto mounts = parse_cgroup_mounts(read_file("/proc/self/mountinfo").value_or(""));
  const auto own = parse_proc_cgroup(read_file("/proc/self/cgroup").value_or(""));
  const auto me = process_identity::self();
  const auto name = base_name(me);

  // Each candidate in the mode's order; the first whose directory can be made wins.
  std::vector<candidate> candidates;
  const auto v2 = find_v2(mounts, own);
  const auto v1 = find_v1(mounts, own);
  const auto v2_controllers = [&] {
    if (v2.dirs.empty()) return std::vector<std::string>{};
    std::vector<std::string> out;
    for (const auto c : split(trim(read_file(v2.dirs.front() + "/cgroup.controllers").value_or("")), ' '))
      if (c == "memory" || c == "pids") out.emplace_back(c);
    return out;
  }();
  if (mode == cgroup_mode::v2) candidates = {v2};
  if (mode == cgroup_mode::v1) candidates = {v1};
  if (mode == cgroup_mode::automatic) {
    // A v2 tree with the controllers first; then v1 (a hybrid host keeps them there); then v2 for kills.
    if (v2_controllers.size() == 2) candidates.push_back(v2);
    candidates.push_back(v1);
    if (v2_controllers.size() != 2) candidates.push_back(v2);
  }

  std::string why;
  for (const auto& c : candidates) {
    const auto label = "cgroup v" + std::to_string(c.version) + ": ";
    if (!c.why_not.empty()) {
      why += (why.empty() ? "" : "; ") + label + c.why_not;
      continue;
    }
    std::vector<std::string> bases;
    int failed = 0;
    std::string failed_at;
    for (const auto& dir : c.dirs) {
      bases.push_back(dir + "/" + name);
      if (::mkdir(bases.back().c_str(), 0755) != 0 && errno != EEXIST) {
        failed = errno;
        failed_at = bases.back();
        bases.pop_back();
        break;
      }
    }
    if (failed != 0) {
      for (const auto& b : bases)
        ::rmdir(b.c_str());
      why += (why.empty() ? "" : "; ") + label + "cannot create " + failed_at + ": " + errno_text(failed);
      continue;
    }
    std::shared_ptr<cgroup_tree> tree{new cgroup_tree(c.version, std::move(bases))};
    if (c.version == 1) {
      tree->memory_ = tree->pids_ = true;
    } else if (!v2_controllers.empty()) {
      // The "no internal processes" rule: controllers reach children only through a cgroup without
      // processes of its own. Enabled on our own cgroup when it allows it (a delegated cgroup holding
      // offloadd alone: offloadd moves into `service` first); then on our directory, which holds no process.
      const auto& own_dir = c.dirs.front();
      const auto& base = tree->bases_.front();
      std::string enable;
      for (const auto& ctl : v2_controllers)
        enable += (enable.empty() ? "+" : " +") + ctl;
      const auto all_enabled = [&](const std::string& dir) {
        const auto on = read_file(dir + "/cgroup.subtree_control").value_or("");
        return std::all_of(v2_controllers.begin(), v2_controllers.end(),
                           [&](const auto& ctl) { return on.find(ctl) != std::string::npos; });
      };
      const auto service = base + "/service";
      if (!all_enabled(own_dir) && write_file(own_dir + "/cgroup.subtree_control", enable) == EBUSY &&
          ::mkdir(service.c_str(), 0755) == 0 &&
          (write_file(service + "/cgroup.procs", "0") != 0 ||
           write_file(own_dir + "/cgroup.subtree_control", enable) != 0)) {
        // Others share our cgroup: go back, and do without limits.
        write_file(own_dir + "/cgroup.procs", "0");
        ::rmdir(service.c_str());
      }
      if (write_file(base + "/cgroup.subtree_control", enable) == 0) {
        const auto on = read_file(base + "/cgroup.subtree_control").value_or("");
        tree->memory_ = on.find("memory") != std::string::npos;
        tree->pids_ = on.find("pids") != std::string::npos;
      }
    }
    // What offloadd instances that are gone left beside ours.
    std::set<std::string> seen;
    for (const auto& dir : c.dirs)
      for (const auto& entry : subdirectories(dir))
        if (const auto who = owner_of(entry); who && entry != name && !who->alive()) seen.insert(entry);
    for (const auto& dead : seen) {
      std::set<std::string> groups;
      for (const auto& dir : c.dirs)
        for (const auto& g : subdirectories(dir + "/" + dead))
          groups.insert(g);
      for (const auto& g : groups) {
        std::vector<std::string> dirs;
        for (const auto& dir : c.dirs)
          dirs.push_back(dir + "/" + dead + "/" + g);
        tree->swept_processes_ += remove_leftover(c.version, dirs);
        ++tree->swept_groups_;
      }
      for (const auto& dir : c.dirs)
        ::rmdir((dir + "/" + dead).c_str());
    }
    return tree;
  }
  return proto::error{errc::invalid_input, why.empty() ? "no cgroup hierarchy found" : why};
}

proto::result<std::shared_ptr<job_cgroup>> cgroup_tree::create(std::optional<std::uint64_t> memory_mb,
                                                               std::optional<std::uint64_t> pids) {
  const auto leaf = "job-" + std::to_string(next_id_.fetch_add(1, std::memory_order_relaxed));
  std::vector<std::string> dirs;
  std::vector<int> fds;
  const auto fail = [&](const std::string& what, int err) -> proto::result<std::shared_ptr<job_cgroup>> {
    for (const int fd : fds)
      ::close(fd);
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it)
      ::rmdir(it->c_str());
    return proto::error{errc::spawn_failed, what + ": " + errno_text(err)};
  };
  // v1 (bases_: memory, pids, freezer): a job joins the memory and pids hierarchies only for a limit of that
  // kind, and the freezer (what kills use) always. A memory cgroup costs the kernel more than the rest of a
  // command's cgroup work: making one per job without a limit cost 10-15 % of the command rate.
  const bool use_memory = memory_mb && memory_;
  const bool use_pids = pids && pids_;
  std::vector<std::string> used;
  if (version_ == 1) {
    if (use_memory) used.push_back(bases_[0]);
    if (use_pids) used.push_back(bases_[1]);
    used.push_back(bases_[2]);
  } else {
    used = bases_;
  }
  for (const auto& base : used) {
    const auto dir = base + "/" + leaf;
    if (::mkdir(dir.c_str(), 0755) != 0) return fail("cannot create the cgroup " + dir, errno);
    dirs.push_back(dir);
  }
  const auto memory_dir = version_ == 2 || use_memory ? dirs.front() : std::string{};
  const auto& pids_dir = version_ == 1 && use_memory ? dirs[1] : dirs.front();
  if (use_memory) {
    const auto bytes = std::to_string(*memory_mb * 1024 * 1024);
    const auto file = version_ == 1 ? "/memory.limit_in_bytes" : "/memory.max";
    if (const int err = write_file(memory_dir + file, bytes); err != 0)
      return fail("cannot set " + memory_dir + file, err);
    // No escape into swap, where the kernel accounts it (the file exists only with swap accounting).
    if (version_ == 1)
      write_file(memory_dir + "/memory.memsw.limit_in_bytes", bytes);
    else
      write_file(memory_dir + "/memory.swap.max", "0");
  }
  if (use_pids)
    if (const int err = write_file(pids_dir + "/pids.max", std::to_string(*pids)); err != 0)
      return fail("cannot set " + pids_dir + "/pids.max", err);
  for (const auto& dir : dirs) {
    const int fd = ::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fail("cannot open " + dir + "/cgroup.procs", errno);
    fds.push_back(fd);
  }
  return std::make_shared<job_cgroup>(version_, std::move(dirs), std::move(fds), memory_dir);
}

namespace {

// Killed processes take a moment to leave the cgroup (exit, or a thaw first); up to ~10 s of retries.
asio::awaitable<void> remove_when_empty(std::shared_ptr<job_cgroup> group) {
  asio::steady_timer timer{co_await asio::this_coro::executor};
  auto pause = std::chrono::milliseconds{1};
  for (int attempt = 0; attempt < 40; ++attempt) {
    if (group->try_remove()) co_return;
    if (attempt % 10 == 9) group->kill_all();
    timer.expires_after(pause);
    co_await timer.async_wait(use_tuple);
    pause = std::min(pause * 2, std::chrono::milliseconds{500});
  }
  log(log_level::warn, "a job's cgroup is still in use; leaving it for the next start to remove",
      {{"cgroup", group->path()}});
}

asio::awaitable<std::uint64_t> finish_group(std::shared_ptr<job_cgroup> group) {
  group->kill_all();
  const auto kills = group->memory_kills();
  asio::co_spawn(co_await asio::this_coro::executor, remove_when_empty(std::move(group)),
                 log_coroutine_failure("cgroup removal"));
  co_return kills;
}

}  // namespace

asio::awaitable<std::uint64_t> cgroup_tree::async_finish(std::shared_ptr<job_cgroup> group) {
  co_return co_await asio::co_spawn(thread_, finish_group(std::move(group)), asio::use_awaitable);
}

void cgroup_tree::finish_detached(std::shared_ptr<job_cgroup> group) {
  asio::co_spawn(thread_, finish_group(std::move(group)), asio::detached);
}

void cgroup_tree::kill_detached(std::shared_ptr<job_cgroup> group) {
  asio::post(thread_, [group = std::move(group)] { group->kill_all(); });
}

}  // namespace offload::core
