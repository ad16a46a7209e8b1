// The values the client takes and returns. The wire types are the protocol's own (offload/proto), named
// here in the client's namespace, so a user writes `offload::job_spec`, `offload::job_state::succeeded` and
// never needs `offload::proto::`. Errors are `offload::error` / `offload::errc` (offload/client/error.hpp).
#pragma once

#include <offload/proto/job_enums.hpp>
#include <offload/proto/job_event.hpp>
#include <offload/proto/job_page.hpp>
#include <offload/proto/job_spec.hpp>
#include <offload/proto/job_view.hpp>
#include <offload/proto/type_info.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace offload {

/// What to run: `{.type = "sum", .input = {{"n", 10}}}`; see PROTOCOL.md for every field.
using proto::job_spec;
/// A snapshot of a job: state, timestamps, progress, result or error.
using proto::job_view;
/// One numbered event of a job's log.
using proto::event_type;
using proto::job_event;
using proto::job_progress;
using proto::job_state;
using proto::lane;
/// One page of `list`: views oldest first and the cursor of the next page.
using proto::job_page;
/// A job type the server runs: name, description, lanes, input JSON Schema.
using proto::type_info;

/// The answer to a submission: the job's view (`sub.id`, `sub.state`, …), and whether the server returned
/// an existing job for the same idempotency key instead of creating one.
struct submission : job_view {
  bool replayed = false;
};

/// Which jobs `list` returns: oldest first, at most `limit` (1–1000, server default 100).
struct list_filter {
  std::optional<job_state> state{};
  std::optional<std::string> type{};
  std::optional<std::size_t> limit{};
  /// Continue after this job id (the `next` of a previous page).
  std::optional<std::string> after{};
  /// Newest first (`next` then leads to older jobs); oldest first otherwise.
  bool newest_first = false;
  /// With each succeeded job's `result` (listings are summaries without it otherwise).
  bool with_results = false;
};

/// Called once per event, in order, never twice for the same `seq`.
using event_handler = std::function<void(const job_event&)>;

}  // namespace offload
