// Shape validation of job submissions.
#include <offload/proto/job_spec.hpp>
#include <offload/proto/json_fields.hpp>
#include <offload/proto/json_parse.hpp>
#include <offload/proto/json_writer.hpp>
#include <offload/proto/timestamp.hpp>

#include <algorithm>

namespace offload::proto {
namespace {

bool valid_type_name(std::string_view name) {
  return !name.empty() && name.size() <= job_spec::max_type_bytes &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
         });
}

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

}  // namespace

result<job_spec> parse_job_spec(const nlohmann::json& body) {
  if (!body.is_object()) return error{errc::invalid_input, "the body must be a JSON object"};
  if (auto unknown =
          reject_unknown_fields(body, {"type", "input", "lane", "priority", "timeout_ms", "idempotency_key",
                                       "max_attempts", "retry_backoff_ms", "delay_ms", "run_at"}))
    return *unknown;

  job_spec spec;
  const auto type = body.find("type");
  if (type == body.end()) return invalid_field("type", "is required");
  if (!type->is_string() || !valid_type_name(type->get_ref<const std::string&>()))
    return invalid_field("type", "must be a string of 1 to 64 characters from [a-z0-9_.-]");
  spec.type = type->get<std::string>();

  if (const auto input = body.find("input"); input != body.end()) {
    if (!input->is_object()) return invalid_field("input", "must be a JSON object");
    spec.input = *input;
  }

  if (const auto l = body.find("lane"); l != body.end()) {
    const auto parsed = l->is_string() ? lane_from_string(l->get_ref<const std::string&>()) : std::nullopt;
    if (!parsed) return invalid_field("lane", "must be \"thread\" or \"process\"");
    spec.lane = parsed;
  }

  auto priority = read_optional_uint(body, "priority", job_spec::min_priority, job_spec::max_priority);
  if (!priority) return std::move(priority).error();
  spec.priority = static_cast<int>(priority->value_or(job_spec::default_priority));

  auto timeout = read_optional_uint(body, "timeout_ms", 1, job_spec::max_timeout_ms);
  if (!timeout) return std::move(timeout).error();
  spec.timeout_ms = *timeout;

  auto key = read_optional_string(body, "idempotency_key", job_spec::max_idempotency_key_bytes);
  if (!key) return std::move(key).error();
  if (*key && ((*key)->empty() || !printable_ascii(**key)))
    return invalid_field("idempotency_key", "must be 1 to 128 printable ASCII characters");
  spec.idempotency_key = std::move(*key);

  auto attempts = read_optional_uint(body, "max_attempts", 1, job_spec::max_max_attempts);
  if (!attempts) return std::move(attempts).error();
  if (*attempts) spec.max_attempts = static_cast<std::uint32_t>(**attempts);

  auto backoff = read_optional_uint(body, "retry_backoff_ms", 1, job_spec::max_retry_backoff_ms);
  if (!backoff) return std::move(backoff).error();
  spec.retry_backoff_ms = *backoff;

  auto delay = read_optional_uint(body, "delay_ms", 0, job_spec::max_delay_ms);
  if (!delay) return std::move(delay).error();
  spec.delay_ms = *delay;

  if (const auto at = body.find("run_at"); at != body.end()) {
    if (spec.delay_ms) return invalid_field("run_at", "cannot be combined with delay_ms");
    const auto parsed = at->is_string() ? parse_timestamp(at->get_ref<const std::string&>()) : std::nullopt;
    if (!parsed) return invalid_field("run_at", "must be an RFC 3339 date-time such as 2026-11-29T18:30:00Z");
    spec.run_at = parsed;
  }
  return spec;
}

result<job_spec> parse_job_spec_text(std::string_view text) {
  auto body = parse_json(text);
  if (!body) return std::move(body).error();
  return parse_job_spec(*body);
}

void to_json(nlohmann::json& j, const job_spec& spec) {
  j = {{"type", spec.type}, {"input", spec.input}, {"priority", spec.priority}};
  if (spec.lane) j["lane"] = to_string(*spec.lane);
  if (spec.timeout_ms) j["timeout_ms"] = *spec.timeout_ms;
  if (spec.idempotency_key) j["idempotency_key"] = *spec.idempotency_key;
  if (spec.max_attempts) j["max_attempts"] = *spec.max_attempts;
  if (spec.retry_backoff_ms) j["retry_backoff_ms"] = *spec.retry_backoff_ms;
  if (spec.delay_ms) j["delay_ms"] = *spec.delay_ms;
  if (spec.run_at) j["run_at"] = format_timestamp(*spec.run_at);
}

std::string dump_job_spec(const job_spec& spec) {
  // In the object's (sorted) order, as dump_json writes it.
  std::string out;
  out.reserve(96 + spec.type.size());
  json_writer w{out};
  const auto optional_number = [&w](std::string_view key, const auto& value) {
    if (!value) return;
    w.key(key);
    w.number(*value);
  };
  w.begin_object();
  optional_number("delay_ms", spec.delay_ms);
  if (spec.idempotency_key) {
    w.key("idempotency_key");
    w.string(*spec.idempotency_key);
  }
  w.key("input");
  w.value(spec.input);
  if (spec.lane) {
    w.key("lane");
    w.string(to_string(*spec.lane));
  }
  optional_number("max_attempts", spec.max_attempts);
  w.key("priority");
  w.number(spec.priority);
  optional_number("retry_backoff_ms", spec.retry_backoff_ms);
  if (spec.run_at) {
    w.key("run_at");
    w.string(format_timestamp(*spec.run_at));
  }
  optional_number("timeout_ms", spec.timeout_ms);
  w.key("type");
  w.string(spec.type);
  w.end_object();
  return out;
}

}  // namespace offload::proto
