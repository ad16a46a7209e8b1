// Values the client returns besides the protocol's own job views and events.
#pragma once

#include <offload/proto/job_enums.hpp>
#include <offload/proto/job_event.hpp>
#include <offload/proto/job_view.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace offload {

/// The answer to a submission.
struct submission {
  proto::job_view job;
  /// True when the server returned an existing job for the same idempotency key.
  bool replayed = false;
};

/// Which jobs `list` returns: oldest first, at most `limit` (1–1000, server default 100).
struct list_filter {
  std::optional<proto::job_state> state{};
  std::optional<std::string> type{};
  std::optional<std::size_t> limit{};
  /// Continue after this job id (the `next` of a previous page).
  std::optional<std::string> after{};
};

/// One page of jobs.
struct job_page {
  std::vector<proto::job_view> jobs;
  /// Pass as `list_filter::after` to get the next page; empty on the last page.
  std::optional<std::string> next;
};

/// A job type the server runs.
struct type_info {
  std::string name;
  std::string description;
  std::vector<proto::lane> lanes;
  /// JSON Schema of the type's `input`.
  nlohmann::json input_schema;
};

/// Called once per event, in order, never twice for the same `seq`.
using event_handler = std::function<void(const proto::job_event&)>;

}  // namespace offload
