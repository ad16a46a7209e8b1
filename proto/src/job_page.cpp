// JSON form of a job listing page.
#include <offload/proto/job_page.hpp>

namespace offload::proto {

void to_json(nlohmann::json& j, const job_page& p) {
  j = nlohmann::json::object();
  j["jobs"] = p.jobs;
  j["next"] = p.next ? nlohmann::json(*p.next) : nlohmann::json(nullptr);
}

void from_json(const nlohmann::json& j, job_page& p) {
  p.jobs = j.at("jobs").get<std::vector<job_view>>();
  const auto& next = j.at("next");
  p.next = next.is_null() ? std::nullopt : std::optional<std::string>{next.get<std::string>()};
}

}  // namespace offload::proto
