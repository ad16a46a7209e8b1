// One entry of a job's event log, as sent to subscribers: `{"seq","type","time",…type-specific fields}`.
#pragma once

#include <offload/proto/job_enums.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace offload::proto {

/// An event. `data` holds the type-specific fields, flattened into the same JSON object on the wire:
/// `progress` → `fraction`, `note`; `output` → `stream`, `data`; `succeeded` → `result`;
/// `failed`/`cancelled`/`timed_out`/`crashed` → `error`.
struct job_event {
  /// 1 for the first event of a job, then consecutive.
  std::uint64_t seq = 0;
  event_type type = event_type::queued;
  /// RFC 3339 time the server logged the event.
  std::string time;
  /// Type-specific fields (a JSON object, possibly empty).
  nlohmann::json data = nlohmann::json::object();
};

void to_json(nlohmann::json& j, const job_event& e);
void from_json(const nlohmann::json& j, job_event& e);

}  // namespace offload::proto
