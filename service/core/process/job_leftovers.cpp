// Records of command jobs, and the start-up sweep of what a dead offloadd left.
#include "core/process/job_leftovers.hpp"

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

namespace offload::core {
namespace {

constexpr std::string_view record_suffix = ".owner";
constexpr std::string_view directory_prefix = "offload-job-";

}  // namespace

void job_leftovers::record(const std::string& dir, const process_identity& leader) {
  static const auto me = process_identity::self();
  std::ofstream out{dir + std::string{record_suffix}, std::ios::trunc};
  out << leader.pid << ' ' << me.pid << ' ' << me.start_time << ' ' << leader.start_time << '\n';
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
    if (!(in >> group >> owner >> owner_start) || group <= 1) continue;
    in >> leader_start;  // absent (0) in records written by earlier builds
    // An offloadd that still runs (sharing this work root) owns its jobs.
    if (process_identity{owner, owner_start}.alive()) continue;
    // The leader (the job's direct child) gets SIGKILL when its offloadd dies: it is gone, a zombie, or the
    // recorded process still on its way out. A leader that started at another time heads a later group that
    // got the same id (a pid is not reused while a group of that id lives, so no leader means ours).
    if (::kill(static_cast<pid_t>(-group), 0) == 0) {
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
