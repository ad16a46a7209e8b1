// Reading /proc/PID/stat for a process's state and start time.
#include "core/process/process_identity.hpp"

#include <charconv>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace offload::core {

std::optional<process_identity> process_identity::of(long pid) {
  // Not an ifstream: libstdc++'s filebuf throws when read() fails, and it does when the process is reaped
  // between the open and the read (once seen as a crash of offloadd at start, looking at the leftovers of
  // another offloadd that was exiting).
  const int fd = ::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  auto out = read(pid, fd);
  ::close(fd);
  return out;
}

std::optional<process_identity> process_identity::read(long pid, int stat_fd) noexcept {
  // Field 22 (the start time) ends within the first few hundred bytes, whatever follows it.
  char stat[1024];
  const auto size = ::pread(stat_fd, stat, sizeof stat, 0);
  if (size <= 0) return std::nullopt;
  return parse(pid, {stat, static_cast<std::size_t>(size)});
}

std::optional<process_identity> process_identity::parse(long pid, std::string_view stat) noexcept {
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos || close + 2 >= stat.size()) return std::nullopt;
  stat.remove_prefix(close + 2);
  // Field 3 (the state), then up to field 22 (the start time).
  const char state = stat.front();
  for (int field = 3; field < 22; ++field) {
    const auto space = stat.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    stat.remove_prefix(space + 1);
  }
  process_identity out{pid, 0};
  const auto [end, ec] = std::from_chars(stat.data(), stat.data() + stat.size(), out.start_time);
  if (ec != std::errc{} || end == stat.data()) return std::nullopt;
  // A zombie has ended; it only waits to be reaped.
  if (state == 'Z' || state == 'X') return std::nullopt;
  return out;
}

process_identity process_identity::self() {
  const long pid = ::getpid();
  return of(pid).value_or(process_identity{pid, 0});
}

bool process_identity::alive() const {
  const auto now = of(pid);
  return now && now->start_time == start_time;
}

}  // namespace offload::core
