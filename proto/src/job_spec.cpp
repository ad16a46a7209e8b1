// Shape validation of job submissions.
#include <offload/proto/job_spec.hpp>
#include <offload/proto/json_fields.hpp>
#include <offload/proto/json_parse.hpp>

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
          first_unknown_field(body, {"type", "input", "lane", "priority", "timeout_ms", "idempotency_key"}))
    return invalid_field(*unknown, "unknown field");

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
}

}  // namespace offload::proto
