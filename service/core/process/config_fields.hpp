// Fields that commands and worker pools share in the operator's config (`--config`): program paths,
// environments, rlimits, type names. Errors (`invalid_input`) name the path, e.g. `workers.img.env.A`.
#pragma once

#include "core/process/child_process.hpp"

#include <offload/proto/error.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>

namespace offload::core {

/// `invalid_input` with "PATH: WHAT".
proto::error config_error(const std::string& path, const std::string& what);
/// An absolute path without placeholders to an executable file.
std::optional<proto::error> check_program(const std::string& path, const std::string& program);
/// A job type's name: 1 to 64 characters from [a-z0-9_.-].
std::optional<proto::error> check_type_name(const std::string& path, const std::string& name);
/// `env`: the child's whole environment (nothing is inherited), names without '='.
std::optional<proto::error> parse_env(const std::string& at, const nlohmann::json& j,
                                      std::map<std::string, std::string>& env);
/// `limits`: the child's rlimits.
std::optional<proto::error> parse_limits(const std::string& at, const nlohmann::json& j,
                                         resource_limits& limits);

}  // namespace offload::core
