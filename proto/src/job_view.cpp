// JSON form of job views.
#include <offload/proto/job_view.hpp>
#include <offload/proto/json_fields.hpp>
#include <offload/proto/json_parse.hpp>
#include <offload/proto/json_writer.hpp>

#include <limits>
#include <string_view>

namespace offload::proto {

void to_json(nlohmann::json& j, const job_view& v) {
  j = {{"id", v.id},
       {"type", v.type},
       {"lane", to_string(v.lane)},
       {"priority", v.priority},
       {"state", to_string(v.state)},
       {"created_at", v.created_at},
       {"last_seq", v.last_seq},
       {"attempt", v.attempt},
       {"max_attempts", v.max_attempts}};
  if (v.started_at) j["started_at"] = *v.started_at;
  if (v.finished_at) j["finished_at"] = *v.finished_at;
  if (v.timeout_ms) j["timeout_ms"] = *v.timeout_ms;
  if (v.idempotency_key) j["idempotency_key"] = *v.idempotency_key;
  if (v.progress) j["progress"] = {{"fraction", v.progress->fraction}, {"note", v.progress->note}};
  if (v.input) j["input"] = *v.input;
  if (v.result)
    j["result"] = *v.result;
  else if (v.result_owner)
    j["result"] = nlohmann::json::parse(v.result_text);
  if (v.run_at) j["run_at"] = *v.run_at;
  if (v.error) {
    j["error"] = *v.error;
    if (!v.earlier_errors.empty()) j["error"]["attempts"] = v.earlier_errors;
  } else if (!v.earlier_errors.empty()) {
    j["attempt_errors"] = v.earlier_errors;
  }
  const auto self = "/v1/jobs/" + v.id;
  j["links"] = {{"self", self}, {"events", self + "/events"}};
}

std::string dump_view(const job_view& v) {
  // Written member by member in the object's (sorted) order: the bytes of dump_json(json(v)), at a fraction
  // of the cost (no value tree, no allocation per member); a stored result goes in as the text it is.
  std::string out;
  out.reserve(320 + v.result_text.size());
  json_writer w{out};
  const auto optional_string = [&w](std::string_view key, const std::optional<std::string>& value) {
    if (!value) return;
    w.key(key);
    w.string(*value);
  };
  w.begin_object();
  w.key("attempt");
  w.number(v.attempt);
  if (!v.error && !v.earlier_errors.empty()) {
    w.key("attempt_errors");
    w.value(nlohmann::json(v.earlier_errors));
  }
  w.key("created_at");
  w.string(v.created_at);
  if (v.error) {
    nlohmann::json error = *v.error;
    if (!v.earlier_errors.empty()) error["attempts"] = v.earlier_errors;
    w.key("error");
    w.value(error);
  }
  optional_string("finished_at", v.finished_at);
  w.key("id");
  w.string(v.id);
  optional_string("idempotency_key", v.idempotency_key);
  if (v.input) {
    w.key("input");
    w.value(*v.input);
  }
  w.key("lane");
  w.string(to_string(v.lane));
  w.key("last_seq");
  w.number(v.last_seq);
  w.key("links");
  w.begin_object();
  w.key("events");
  w.string({"/v1/jobs/", v.id, "/events"});
  w.key("self");
  w.string({"/v1/jobs/", v.id});
  w.end_object();
  w.key("max_attempts");
  w.number(v.max_attempts);
  w.key("priority");
  w.number(v.priority);
  if (v.progress) {
    w.key("progress");
    w.begin_object();
    w.key("fraction");
    w.value(v.progress->fraction);
    w.key("note");
    w.string(v.progress->note);
    w.end_object();
  }
  if (v.result) {
    w.key("result");
    w.value(*v.result);
  } else if (v.result_owner) {
    w.key("result");
    w.raw(v.result_text);
  }
  optional_string("run_at", v.run_at);
  optional_string("started_at", v.started_at);
  w.key("state");
  w.string(to_string(v.state));
  if (v.timeout_ms) {
    w.key("timeout_ms");
    w.number(*v.timeout_ms);
  }
  w.key("type");
  w.string(v.type);
  w.end_object();
  return out;
}

namespace {

// A whole number of a view in [0, max] (or `fallback` when absent). Anything else is refused with the
// exception from_json throws, never converted: a double out of the target's range converts to undefined.
std::uint64_t view_uint(const nlohmann::json& j, std::string_view key, std::uint64_t fallback,
                        std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
  const auto value = read_optional_uint(j, key, 0, max);
  if (!value) throw nlohmann::json::other_error::create(501, value.error().message, &j);
  return value->value_or(fallback);
}

}  // namespace

void from_json(const nlohmann::json& j, job_view& v) {
  v.id = j.at("id").get<std::string>();
  v.type = j.at("type").get<std::string>();
  v.lane = lane_from_string(j.at("lane").get<std::string>()).value_or(lane::thread);
  v.priority = 0;
  if (const auto it = j.find("priority"); it != j.end()) {
    constexpr auto low = std::numeric_limits<int>::min();
    constexpr auto high = std::numeric_limits<int>::max();
    const bool fits = it->is_number_unsigned() ? it->get<std::uint64_t>() <= std::uint64_t{high}
                      : it->is_number_integer()
                          ? it->get<std::int64_t>() >= low && it->get<std::int64_t>() <= high
                          : false;
    if (!fits) throw nlohmann::json::other_error::create(501, "priority: must be a whole number", &j);
    v.priority = it->get<int>();
  }
  const auto state = job_state_from_string(j.at("state").get<std::string>());
  if (!state) throw nlohmann::json::other_error::create(501, "unknown job state", &j);
  v.state = *state;
  v.created_at = j.value("created_at", std::string{});
  auto optional_string = [&j](const char* key) -> std::optional<std::string> {
    if (auto it = j.find(key); it != j.end() && it->is_string()) return it->get<std::string>();
    return std::nullopt;
  };
  v.started_at = optional_string("started_at");
  v.finished_at = optional_string("finished_at");
  v.idempotency_key = optional_string("idempotency_key");
  if (j.contains("timeout_ms")) v.timeout_ms = view_uint(j, "timeout_ms", 0);
  if (auto it = j.find("progress"); it != j.end())
    v.progress = job_progress{it->value("fraction", 0.0), it->value("note", std::string{})};
  if (auto it = j.find("input"); it != j.end()) v.input = *it;
  if (auto it = j.find("result"); it != j.end()) v.result = *it;
  if (auto it = j.find("error"); it != j.end()) v.error = it->get<proto::error>();
  v.last_seq = view_uint(j, "last_seq", 0);
  v.attempt =
      static_cast<std::uint32_t>(view_uint(j, "attempt", 1, std::numeric_limits<std::uint32_t>::max()));
  v.max_attempts =
      static_cast<std::uint32_t>(view_uint(j, "max_attempts", 1, std::numeric_limits<std::uint32_t>::max()));
  v.run_at = optional_string("run_at");
  v.earlier_errors.clear();
  if (auto it = j.find("error"); it != j.end() && it->contains("attempts"))
    v.earlier_errors = it->at("attempts").get<std::vector<proto::error>>();
  else if (auto e = j.find("attempt_errors"); e != j.end())
    v.earlier_errors = e->get<std::vector<proto::error>>();
}

}  // namespace offload::proto
