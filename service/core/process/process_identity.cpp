// Reading /proc/PID/stat for a process's state and start time.
#include "core/process/process_identity.hpp"

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <unistd.h>

namespace offload::core {

std::optional<process_identity> process_identity::of(long pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  const std::string stat{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return std::nullopt;
  std::istringstream fields{stat.substr(close + 2)};
  char state = 0;
  fields >> state;
  std::string skip;
  for (int i = 4; i < 22 && fields >> skip; ++i) {
  }
  process_identity out{pid, 0};
  if (!(fields >> out.start_time)) return std::nullopt;
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
