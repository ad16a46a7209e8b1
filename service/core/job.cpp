// Snapshot of a job for the API.
#include "core/job.hpp"

#include "core/job_id.hpp"

#include <offload/proto/timestamp.hpp>

namespace offload::core {

proto::job_view job_record::view(bool with_result, bool with_input) const {
  proto::job_view v;
  v.id = id;
  v.type = spec.type;
  v.lane = lane;
  v.priority = spec.priority;
  v.state = state;
  v.created_at = proto::format_timestamp(created_at);
  if (started_at) v.started_at = proto::format_timestamp(*started_at);
  if (finished_at) v.finished_at = proto::format_timestamp(*finished_at);
  v.timeout_ms = spec.timeout_ms;
  v.idempotency_key = spec.idempotency_key;
  v.progress = progress;
  if (with_input) v.input = spec.input;
  if (with_result && result) {
    v.result_owner = result->owner();
    v.result_text = result->text();
  }
  v.error = error;
  v.last_seq = events.published_seq();
  v.attempt = attempt;
  v.max_attempts = spec.attempts();
  if (not_before && state == proto::job_state::queued) v.run_at = proto::format_timestamp(*not_before);
  v.earlier_errors = earlier_errors;
  return v;
}

std::shared_ptr<job> new_job(std::uint64_t seq, std::uint32_t salt, proto::job_spec spec, proto::lane lane,
                             slot_pool pool) {
  auto j = std::make_shared<job>();
  j->seq = seq;
  j->id = job_id::make(seq, salt);
  j->spec = std::move(spec);
  j->lane = lane;
  j->pool = pool;
  j->created_at = job::clock::now();
  return j;
}

}  // namespace offload::core
