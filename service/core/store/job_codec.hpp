// How every durable store writes a job's changing record and reads it back: times in microseconds since the
// epoch, lists and objects as JSON text. One encoding for SQLite's columns and Redis's hash fields.
#pragma once

#include "core/job.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace offload::core {

std::int64_t to_micros(job::clock::time_point t);
std::optional<std::int64_t> to_micros(const std::optional<job::clock::time_point>& t);
job::clock::time_point from_micros(std::int64_t us);
std::optional<job::clock::time_point> from_micros(const std::optional<std::int64_t>& us);

/// The part of a job's record that changes after it is stored (small: no input, no result, no log).
struct stored_record {
  std::int64_t seq = 0;
  std::int64_t state = 0;
  std::optional<std::int64_t> started_at, finished_at, not_before;
  std::int64_t attempt = 1;
  std::optional<std::string> earlier_errors, progress, error;
  std::int64_t output_logged = 0;
  bool output_truncated = false;

  static stored_record of(const job& j);
  /// Puts these fields into `j` (the fixed part — id, spec, lane, creation — is the caller's). Throws
  /// `std::exception` on unreadable JSON.
  void apply_to(job& j) const;
};

}  // namespace offload::core
