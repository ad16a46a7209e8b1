// What the API returns for a job: its spec, lifecycle timestamps, progress and outcome, plus links.
#pragma once

#include <offload/proto/error.hpp>
#include <offload/proto/job_enums.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace offload::proto {

/// The last progress a handler reported.
struct job_progress {
  /// 0.0 to 1.0.
  double fraction = 0;
  std::string note;
};

/// A snapshot of one job.
struct job_view {
  std::string id;
  std::string type;
  proto::lane lane = proto::lane::thread;
  int priority = 0;
  job_state state = job_state::queued;
  std::string created_at;
  std::optional<std::string> started_at;
  std::optional<std::string> finished_at;
  std::optional<std::uint64_t> timeout_ms;
  std::optional<std::string> idempotency_key;
  std::optional<job_progress> progress;
  /// The submitted input; only when asked for (`GET /v1/jobs/{id}?input=true`).
  std::optional<nlohmann::json> input;
  /// Present once the job `succeeded`.
  std::optional<nlohmann::json> result;
  /// The server's form of `result`: its JSON text, kept alive by `result_owner` (the job's terminal event
  /// frame), so that answering does not copy or re-serialise it. `dump_view` writes it as it is.
  std::shared_ptr<const std::string> result_owner;
  std::string_view result_text;
  /// Present once the job ended in any other terminal state.
  std::optional<proto::error> error;
  /// Sequence number of the newest event in the job's log.
  std::uint64_t last_seq = 0;
  /// The attempt running or last run, from 1; and how many the spec allows.
  std::uint32_t attempt = 1;
  std::uint32_t max_attempts = 1;
  /// While queued: the earliest instant it may run (a delay, `run_at`, or a retry's back-off).
  std::optional<std::string> run_at;
  /// The errors of the attempts before the current one, oldest first; sent inside `error` as `attempts`
  /// once the job ended, and as `attempt_errors` before.
  std::vector<proto::error> earlier_errors;
};

/// Adds `links: {self, events}` derived from the id. A `result_text` is parsed into the value.
void to_json(nlohmann::json& j, const job_view& v);
/// `dump_json(json(v))`, with `result_text` written as it is instead of parsed and serialised again.
std::string dump_view(const job_view& v);
void from_json(const nlohmann::json& j, job_view& v);

}  // namespace offload::proto
