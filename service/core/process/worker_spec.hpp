// Operator-defined warm worker pools: the `workers` section of `--config`. Each entry is a pool of
// long-lived child processes (any language) that speak the worker protocol of PROTOCOL.md and serve the
// job types the entry names.
#pragma once

#include "core/input_schema.hpp"
#include "core/job_type.hpp"
#include "core/process/child_process.hpp"

#include <offload/proto/result.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace offload::core {

/// One type a pool serves.
struct worker_type_spec {
  std::string name;
  std::string description;
  /// Inputs are checked against it at submission; none: any JSON object.
  std::optional<input_schema> schema;
};

struct worker_spec {
  static constexpr std::size_t max_pool = 256;
  /// Interpreters start far slower than `offloadd worker` (Node ~50-100 ms of CPU): recycling every 1,000
  /// jobs, the built-in default, would cost more than the jobs.
  static constexpr std::size_t default_max_jobs = 10000;

  std::string name;
  /// argv[0] is an absolute path to an executable; the rest is passed as is (no placeholders, no shell).
  std::vector<std::string> argv;
  std::vector<worker_type_spec> types;
  /// Processes in the pool: how many of its jobs run at once.
  std::size_t pool = 1;
  /// A worker is replaced after this many jobs.
  std::size_t max_jobs = default_max_jobs;
  /// Upper bound on a job's running time; a job's own `timeout_ms` may only shorten it.
  std::optional<std::uint64_t> timeout_ms;
  /// How long a new worker may take to say `ready`.
  std::uint64_t ready_timeout_ms = 10000;
  /// The workers' whole environment.
  std::map<std::string, std::string> env;
  resource_limits limits;
};

/// Reads `{"workers":{NAME:{…}}}` (other top-level sections are someone else's). Errors (`invalid_input`)
/// name the field, e.g. `workers.img.pool: must be from 1 to 256`.
proto::result<std::vector<worker_spec>> parse_worker_config(const nlohmann::json& config);

/// The registry entry of one type of a pool: process lane only, run by external pool number `pool_index`.
job_type worker_job_type(const worker_type_spec& type, std::size_t pool_index);

}  // namespace offload::core
