// JSON form of the health answers.
#include <offload/proto/health_status.hpp>

namespace offload::proto {

void to_json(nlohmann::json& j, const health_status& h) {
  j = {{"status", h.status}};
}

void from_json(const nlohmann::json& j, health_status& h) {
  h.status = j.at("status").get<std::string>();
}

}  // namespace offload::proto
