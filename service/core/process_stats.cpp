// /proc/self/stat, /proc/self/statm and /proc/self/fd.
#include "core/process_stats.hpp"

#include <ctime>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace offload::core {

std::optional<process_stats> process_stats::read() {
  std::ifstream stat_file("/proc/self/stat");
  std::string line;
  if (!std::getline(stat_file, line)) return std::nullopt;
  // Fields after the command name, which is in parentheses and may contain spaces.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  process_stats s;
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  unsigned long long utime = 0, stime = 0, start_ticks = 0, rss_pages = 0;
  // Field numbers from proc(5), counting the state (field 3) as index 3 here.
  for (int index = 3; fields >> field; ++index) {
    if (index == 14) utime = std::stoull(field);
    if (index == 15) stime = std::stoull(field);
    if (index == 22) start_ticks = std::stoull(field);
    if (index == 24) {
      rss_pages = std::stoull(field);
      break;
    }
  }
  s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks);
  s.resident_bytes = rss_pages * static_cast<unsigned long long>(page);
  // Start time: boot time plus the ticks since boot at which the process started.
  std::ifstream boot_file("/proc/stat");
  while (std::getline(boot_file, line))
    if (line.rfind("btime ", 0) == 0) {
      s.start_time_seconds =
          std::stod(line.substr(6)) + static_cast<double>(start_ticks) / static_cast<double>(ticks);
      break;
    }
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (const dirent* entry = ::readdir(dir))
      if (entry->d_name[0] != '.') ++s.open_fds;
    ::closedir(dir);
    if (s.open_fds > 0) --s.open_fds;  // the directory stream itself
  }
  return s;
}

std::optional<std::uint64_t> process_stats::resident() {
  std::ifstream statm("/proc/self/statm");
  unsigned long long size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return std::nullopt;
  return resident_pages * static_cast<unsigned long long>(::sysconf(_SC_PAGESIZE));
}

}  // namespace offload::core
