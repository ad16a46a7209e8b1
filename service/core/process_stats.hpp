// The service process's own resource use, read from /proc (fast procfs reads, no disk).
#pragma once

#include <cstdint>
#include <optional>

namespace offload::core {

struct process_stats {
  std::uint64_t resident_bytes = 0;
  double cpu_seconds = 0;
  std::uint64_t open_fds = 0;
  double start_time_seconds = 0;

  /// Reads /proc/self; nothing when /proc is unavailable.
  static std::optional<process_stats> read();
  /// The resident set alone (/proc/self/statm: one short read); nothing when /proc is unavailable.
  static std::optional<std::uint64_t> resident();
};

}  // namespace offload::core
