// A process as /proc tells it apart from a later one that got the same pid: its pid and its start time.
// Records of what an offloadd left behind (work dirs, cgroups) name their owner this way, so that a live
// offloadd's are never taken for leftovers.
#pragma once

#include <optional>
#include <string_view>

namespace offload::core {

struct process_identity {
  long pid = 0;
  /// Clock ticks since boot (field 22 of /proc/PID/stat).
  unsigned long long start_time = 0;

  /// The process `pid` if it exists and is not a zombie; reads /proc (call it off the reactor).
  static std::optional<process_identity> of(long pid);
  /// Process `pid` from `stat_fd`, its /proc/PID/stat opened by the caller; nothing when the read fails (the
  /// process may have ended and been reaped since the open: ESRCH). Allocates nothing and takes no lock: a
  /// child about to exec may call it.
  static std::optional<process_identity> read(long pid, int stat_fd) noexcept;
  /// Process `pid` from the text of its /proc/PID/stat; nothing for a zombie or unreadable text. Allocates
  /// nothing and takes no lock: a child about to exec may call it.
  static std::optional<process_identity> parse(long pid, std::string_view stat) noexcept;
  /// This process.
  static process_identity self();
  /// Whether this very process still runs (same pid, same start time, not a zombie).
  bool alive() const;
};

}  // namespace offload::core
