// JSON form of the type listing.
#include <offload/proto/type_info.hpp>

namespace offload::proto {

void to_json(nlohmann::json& j, const type_info& t) {
  nlohmann::json lanes = nlohmann::json::array();
  for (const auto l : t.lanes)
    lanes.push_back(to_string(l));
  j = {{"name", t.name},
       {"description", t.description},
       {"lanes", std::move(lanes)},
       {"input_schema", t.input_schema}};
}

void from_json(const nlohmann::json& j, type_info& t) {
  t.name = j.at("name").get<std::string>();
  t.description = j.value("description", std::string{});
  t.lanes.clear();
  for (const auto& l : j.at("lanes"))
    if (const auto lane = lane_from_string(l.get<std::string>())) t.lanes.push_back(*lane);
  t.input_schema = j.value("input_schema", nlohmann::json::object());
}

void to_json(nlohmann::json& j, const type_list& l) {
  j = {{"types", l.types}};
}

void from_json(const nlohmann::json& j, type_list& l) {
  l.types = j.at("types").get<std::vector<type_info>>();
}

}  // namespace offload::proto
