// JSON form of the health answers.
#include <offload/proto/health_status.hpp>

namespace offload::proto {

void to_json(nlohmann::json& j, const health_status& h) {
  j = {{"status", h.status}};
  if (!h.degraded.empty()) j["degraded"] = h.degraded;
  if (!h.version.empty()) j["version"] = h.version;
}

void from_json(const nlohmann::json& j, health_status& h) {
  h.status = j.at("status").get<std::string>();
  h.version = j.contains("version") && j["version"].is_string() ? j["version"].get<std::string>() : "";
  h.degraded.clear();
  if (const auto d = j.find("degraded"); d != j.end() && d->is_array())
    for (const auto& item : *d)
      if (item.is_string()) h.degraded.push_back(item.get<std::string>());
}

}  // namespace offload::proto
