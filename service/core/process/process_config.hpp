// Settings of the process lane: warm workers, command concurrency, kill grace, working directories.
#pragma once

#include "core/process/child_process.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace offload::core {

struct process_config {
  /// Program run as `PROGRAM worker` for built-in types in the process lane (offloadd itself).
  std::string worker_program;
  /// Warm worker processes; 0 means one per CPU.
  std::size_t workers = 0;
  /// A worker is replaced after this many jobs.
  std::size_t worker_max_jobs = 10000;
  /// Limits applied to every worker.
  resource_limits worker_limits;
  /// Command jobs running at once (one child each).
  std::size_t max_commands = 16;
  /// Between SIGTERM and SIGKILL when a job is cancelled or times out.
  std::chrono::milliseconds kill_grace{2000};
  /// Added to the niceness of workers and commands (see service_config::lane_nice).
  int nice = 10;
  /// Where each command job gets its private working directory; empty means the system temp directory.
  std::string work_root;
  /// Per-job cgroups for commands and workers, when the host allows them (`--cgroups`); null: none.
  std::shared_ptr<cgroup_tree> cgroups;
};

}  // namespace offload::core
