// JSON form of job views.
#include <offload/proto/job_view.hpp>
#include <offload/proto/json_parse.hpp>

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
  if (v.result || !v.result_owner) return dump_json(nlohmann::json(v));
  job_view rest = v;
  rest.result_owner.reset();
  rest.result_text = {};
  const nlohmann::json j = rest;
  // Members in the object's (sorted) order, with `result` where it belongs.
  std::string out = "{";
  bool placed = false;
  const auto member = [&out](std::string_view key, std::string_view value) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += key;
    out += "\":";
    out += value;
  };
  for (const auto& [key, value] : j.items()) {
    if (!placed && key > "result") {
      member("result", v.result_text);
      placed = true;
    }
    member(key, dump_json(value));
  }
  if (!placed) member("result", v.result_text);
  out += '}';
  return out;
}

void from_json(const nlohmann::json& j, job_view& v) {
  v.id = j.at("id").get<std::string>();
  v.type = j.at("type").get<std::string>();
  v.lane = lane_from_string(j.at("lane").get<std::string>()).value_or(lane::thread);
  v.priority = j.value("priority", 0);
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
  if (auto it = j.find("timeout_ms"); it != j.end()) v.timeout_ms = it->get<std::uint64_t>();
  if (auto it = j.find("progress"); it != j.end())
    v.progress = job_progress{it->value("fraction", 0.0), it->value("note", std::string{})};
  if (auto it = j.find("input"); it != j.end()) v.input = *it;
  if (auto it = j.find("result"); it != j.end()) v.result = *it;
  if (auto it = j.find("error"); it != j.end()) v.error = it->get<proto::error>();
  v.last_seq = j.value("last_seq", std::uint64_t{0});
  v.attempt = j.value("attempt", std::uint32_t{1});
  v.max_attempts = j.value("max_attempts", std::uint32_t{1});
  v.run_at = optional_string("run_at");
  v.earlier_errors.clear();
  if (auto it = j.find("error"); it != j.end() && it->contains("attempts"))
    v.earlier_errors = it->at("attempts").get<std::vector<proto::error>>();
  else if (auto e = j.find("attempt_errors"); e != j.end())
    v.earlier_errors = e->get<std::vector<proto::error>>();
}

}  // namespace offload::proto
