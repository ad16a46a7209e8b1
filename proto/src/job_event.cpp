// Flattened JSON form of job events.
#include <offload/proto/job_event.hpp>

namespace offload::proto {

void to_json(nlohmann::json& j, const job_event& e) {
  j = e.data.is_object() ? e.data : nlohmann::json::object();
  j["seq"] = e.seq;
  j["type"] = to_string(e.type);
  j["time"] = e.time;
}

void from_json(const nlohmann::json& j, job_event& e) {
  e.seq = j.at("seq").get<std::uint64_t>();
  const auto type = event_type_from_string(j.at("type").get<std::string>());
  if (!type) throw nlohmann::json::other_error::create(501, "unknown event type", &j);
  e.type = *type;
  e.time = j.value("time", std::string{});
  e.data = j;
  e.data.erase("seq");
  e.data.erase("type");
  e.data.erase("time");
}

}  // namespace offload::proto
