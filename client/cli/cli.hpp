// The `offload` command line: parsing, dispatch and exit codes.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace offload::cli {

/// Exit codes, documented in `offload --help`.
enum exit_code : int {
  exit_succeeded = 0,
  exit_job_failed = 1,
  exit_usage = 2,
  exit_connection = 3,
  exit_rejected = 4,
  exit_job_timed_out = 5,
  exit_job_cancelled = 6,
  exit_job_crashed = 7,
  exit_still_running = 8,
};

struct environment {
  /// `OFFLOAD_URL`, `OFFLOAD_TOKEN` (empty when unset).
  std::string url;
  std::string token;
  /// Whether stdout is a terminal (progress bars and raw output chunks).
  bool terminal = false;
};

/// Runs one command line (without the program name) and returns the exit code.
int run(const std::vector<std::string>& args, const environment& env, std::FILE* out, std::FILE* err);

}  // namespace offload::cli
