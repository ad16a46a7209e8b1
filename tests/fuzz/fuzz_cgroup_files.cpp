// Fuzz target: the readers of /proc/self/mountinfo and /proc/self/cgroup that find offloadd's cgroup
// directories. Input: any text, read as both.
#include "core/process/cgroup_tree.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& m : offload::core::parse_cgroup_mounts(text)) {
    // Only the two cgroup file systems; only v1 names controllers.
    if ((m.version != 1 && m.version != 2) || (m.version == 2 && !m.controllers.empty())) std::abort();
    for (const auto& c : m.controllers)
      if (c.empty() || c.find(',') != std::string::npos) std::abort();
  }
  for (const auto& m : offload::core::parse_proc_cgroup(text)) {
    // A path is absolute; it never spans lines.
    if (m.path.empty() || m.path.front() != '/' || m.path.find('\n') != std::string::npos) std::abort();
    for (const auto& c : m.controllers)
      if (c.empty() || c.find(',') != std::string::npos || c.find(':') != std::string::npos) std::abort();
  }
  return 0;
}
