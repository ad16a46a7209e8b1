// `GET /v1/types`: the job types a server runs, with their lanes and input schema.
#pragma once

#include <offload/proto/job_enums.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace offload::proto {

/// One registered job type.
struct type_info {
  std::string name;
  /// One sentence.
  std::string description;
  /// The lanes it can run in on this server; the first is its default.
  std::vector<proto::lane> lanes;
  /// A JSON Schema of the type's `input`.
  nlohmann::json input_schema = nlohmann::json::object();
};

/// `{"types":[…]}`.
struct type_list {
  std::vector<type_info> types;
};

void to_json(nlohmann::json& j, const type_info& t);
/// Lanes this version does not know are skipped, so an older client can read a newer server.
void from_json(const nlohmann::json& j, type_info& t);
void to_json(nlohmann::json& j, const type_list& l);
void from_json(const nlohmann::json& j, type_list& l);

}  // namespace offload::proto
