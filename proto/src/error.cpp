// JSON form of proto::error.
#include <offload/proto/error.hpp>
#include <offload/proto/json_parse.hpp>

namespace offload::proto {

void to_json(nlohmann::json& j, const error& e) {
  j = {{"code", to_string(e.code)}, {"message", e.message}};
}

void from_json(const nlohmann::json& j, error& e) {
  const auto code = j.at("code").get<std::string>();
  e.message = j.value("message", std::string{});
  if (auto c = errc_from_string(code)) {
    e.code = *c;
  } else {
    e.code = errc::internal;
    e.message = code + ": " + e.message;
  }
}

error job_not_found(std::string_view id) {
  return error{errc::not_found, "no job with id '" + std::string{id} + "'"};
}

std::string error_body(const error& e) {
  return dump_json(nlohmann::json{{"error", e}});
}

}  // namespace offload::proto
