// Records of command jobs, and the start-up sweep of what a dead offloadd left.
#include "core/process/job_leftovers.hpp"

#include <cerrno>
#include <charconv>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

namespace offload::core {
namespace {

constexpr std::string_view record_suffix = ".owner";
constexpr std::string_view directory_prefix = "offload-job-";

// One line of fixed size, so that the child's record replaces the parent's whole: four numbers, spaces up to
// the size, a newline.
constexpr std::size_t record_size = 96;

bool write_record(int fd, long group, const process_identity& owner,
                  unsigned long long leader_start) noexcept {
  char line[record_size];
  char* at = line;
  char* const end = line + record_size - 1;
  const auto number = [&at, end](auto value) {
    at = std::to_chars(at, end, value).ptr;
    if (at < end) *at++ = ' ';
  };
  number(group);
  number(owner.pid);
  number(owner.start_time);
  number(leader_start);
  while (at < end)
    *at++ = ' ';
  *end = '\n';
  return ::pwrite(fd, line, record_size, 0) == static_cast<ssize_t>(record_size);
}

}  // namespace

std::unique_ptr<job_leftovers::child_record> job_leftovers::child_record::open(const std::string& dir) {
  static const auto me = process_identity::self();
  const auto path = dir + std::string{record_suffix};
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return nullptr;
  std::unique_ptr<child_record> record{new child_record(fd, me)};
  if (!write_record(fd, 0, me, 0)) return nullptr;
  return record;
}

job_leftovers::child_record::~child_record() {
  ::close(fd_);
}

void job_leftovers::child_record::write_in_child(const void* record) noexcept {
  const auto& r = *static_cast<const child_record*>(record);
  // Its own start time from /proc/self/stat (the child is a process of its own, sharing memory only).
  const long pid = ::getpid();
  std::optional<process_identity> me;
  if (const int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC); fd >= 0) {
    me = process_identity::read(pid, fd);
    ::close(fd);
  }
  write_record(r.fd_, pid, r.owner_, me ? me->start_time : 0);
}

void job_leftovers::remove(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::remove(dir + std::string{record_suffix}, ec);
}

job_leftovers::swept job_leftovers::sweep(const std::string& work_root) {
  swept out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator{work_root, ec}) {
    const auto name = entry.path().filename().string();
    if (!name.starts_with(directory_prefix) || !name.ends_with(record_suffix)) continue;
    // Only records this account wrote: in a shared work root (/tmp by default) another user could plant one
    // naming a process group of theirs to kill.
    struct stat info {};
    if (::lstat(entry.path().c_str(), &info) != 0 || !S_ISREG(info.st_mode) || info.st_uid != ::geteuid())
      continue;
    long group = 0, owner = 0;
    unsigned long long owner_start = 0, leader_start = 0;
    std::ifstream in{entry.path()};
    if (!(in >> group >> owner >> owner_start) || group < 0 || group == 1) continue;
    in >> leader_start;  // absent (0) in records written by earlier builds
    // An offloadd that still runs (sharing this work root) owns its jobs.
    if (process_identity{owner, owner_start}.alive()) continue;
    // Group 0: the job's child never wrote its part (offloadd died first); no process of the job ran.
    // The leader (the job's direct child) gets SIGKILL when its offloadd dies: it is gone, a zombie, or the
    // recorded process still on its way out. A leader that started at another time heads a later group that
    // got the same id (a pid is not reused while a group of that id lives, so no leader means ours).
    if (group > 1 && ::kill(static_cast<pid_t>(-group), 0) == 0) {
      const auto leader = process_identity::of(group);
      if (!leader || (leader_start != 0 && leader->start_time == leader_start)) {
        ::kill(static_cast<pid_t>(-group), SIGKILL);
        ++out.process_groups;
      }
    }
    auto dir = entry.path().string();
    dir.resize(dir.size() - record_suffix.size());
    remove(dir);
    ++out.directories;
  }
  return out;
}

}  // namespace offload::core
