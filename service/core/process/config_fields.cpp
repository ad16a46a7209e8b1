// Shared parsing of the operator's config fields.
#include "core/process/config_fields.hpp"

#include <offload/proto/job_spec.hpp>
#include <offload/proto/json_fields.hpp>

#include <unistd.h>

namespace offload::core {

proto::error config_error(const std::string& path, const std::string& what) {
  return {proto::errc::invalid_input, path + ": " + what};
}

std::optional<proto::error> check_program(const std::string& path, const std::string& program) {
  if (program.empty() || program.front() != '/' || program.find('{') != std::string::npos)
    return config_error(path, "must be an absolute program path without placeholders");
  if (::access(program.c_str(), X_OK) != 0) return config_error(path, program + " is not an executable file");
  return std::nullopt;
}

std::optional<proto::error> check_type_name(const std::string& path, const std::string& name) {
  if (name.empty() || name.size() > proto::job_spec::max_type_bytes ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.-") != std::string::npos)
    return config_error(path, "a type name must be 1 to 64 characters from [a-z0-9_.-]");
  return std::nullopt;
}

std::optional<proto::error> parse_env(const std::string& at, const nlohmann::json& j,
                                      std::map<std::string, std::string>& env) {
  const auto it = j.find("env");
  if (it == j.end()) return std::nullopt;
  if (!it->is_object()) return config_error(at + ".env", "must be an object of strings");
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string() || k.empty() || k.find('=') != std::string::npos)
      return config_error(at + ".env." + k, "must be a string, under a name without '='");
    env[k] = v.get<std::string>();
  }
  return std::nullopt;
}

std::optional<proto::error> parse_limits(const std::string& at, const nlohmann::json& j,
                                         resource_limits& limits) {
  const auto it = j.find("limits");
  if (it == j.end()) return std::nullopt;
  if (!it->is_object()) return config_error(at + ".limits", "must be an object");
  static constexpr std::string_view keys[] = {"address_space_mb", "cpu_seconds", "open_files",
                                              "processes",        "memory_mb",   "pids"};
  if (auto unknown = proto::first_unknown_field(*it, keys))
    return config_error(at + ".limits." + *unknown, proto::unknown_field_message(keys));
  const std::pair<const char*, std::optional<std::uint64_t>*> fields[] = {
      {"address_space_mb", &limits.address_space_mb},
      {"cpu_seconds", &limits.cpu_seconds},
      {"open_files", &limits.open_files},
      {"processes", &limits.processes},
      {"memory_mb", &limits.memory_mb},
      {"pids", &limits.pids}};
  for (const auto& [field, target] : fields) {
    auto v = proto::read_optional_uint(*it, field, 1, 1ull << 40);
    if (!v) return config_error(at + ".limits", v.error().message);
    *target = *v;
  }
  return std::nullopt;
}

}  // namespace offload::core
