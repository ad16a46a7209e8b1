#include "core/store/job_codec.hpp"

#include <offload/proto/json_parse.hpp>

namespace offload::core {
namespace {

using clock = job::clock;

template <class T>
std::optional<T> parse_text(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return nlohmann::json::parse(*text).get<T>();
}

}  // namespace

std::int64_t to_micros(clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
std::optional<std::int64_t> to_micros(const std::optional<clock::time_point>& t) {
  return t ? std::optional<std::int64_t>{to_micros(*t)} : std::nullopt;
}
clock::time_point from_micros(std::int64_t us) {
  return clock::time_point{std::chrono::duration_cast<clock::duration>(std::chrono::microseconds{us})};
}
std::optional<clock::time_point> from_micros(const std::optional<std::int64_t>& us) {
  return us ? std::optional<clock::time_point>{from_micros(*us)} : std::nullopt;
}

stored_record stored_record::of(const job& j) {
  stored_record r;
  r.seq = static_cast<std::int64_t>(j.seq);
  r.state = static_cast<std::int64_t>(j.state);
  r.started_at = to_micros(j.started_at);
  r.finished_at = to_micros(j.finished_at);
  r.not_before = to_micros(j.not_before);
  r.attempt = j.attempt;
  if (!j.earlier_errors.empty()) r.earlier_errors = proto::dump_json(nlohmann::json(j.earlier_errors));
  if (j.progress)
    r.progress =
        proto::dump_json(nlohmann::json{{"fraction", j.progress->fraction}, {"note", j.progress->note}});
  if (j.error) r.error = proto::dump_json(nlohmann::json(*j.error));
  r.output_logged = static_cast<std::int64_t>(j.output.logged());
  r.output_truncated = j.output.truncated();
  return r;
}

void stored_record::apply_to(job& j) const {
  j.state = static_cast<proto::job_state>(state);
  j.started_at = from_micros(started_at);
  j.finished_at = from_micros(finished_at);
  j.attempt = static_cast<std::uint32_t>(attempt);
  j.not_before = from_micros(not_before);
  j.earlier_errors =
      parse_text<std::vector<proto::error>>(earlier_errors).value_or(std::vector<proto::error>{});
  j.progress.reset();
  if (progress) {
    const auto p = nlohmann::json::parse(*progress);
    j.progress = proto::job_progress{p.value("fraction", 0.0), p.value("note", std::string{})};
  }
  j.error = parse_text<proto::error>(error);
  j.output = output_budget{static_cast<std::uint64_t>(output_logged), output_truncated};
}

}  // namespace offload::core
