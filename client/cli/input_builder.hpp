// Builds a job's input object from the CLI's `key=value` / `key:=JSON` arguments.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace offload::cli {

/// Adds one `key=value` (numbers, `true`/`false` and `null` typed, anything else a string) or `key:=JSON`
/// (raw JSON) to `input`. Returns an error message for a malformed argument.
std::optional<std::string> add_input_field(nlohmann::json& input, std::string_view argument);

/// True when `argument` looks like `key=value` or `key:=JSON` (a key of `[A-Za-z0-9_.-]`).
bool is_input_field(std::string_view argument);

}  // namespace offload::cli
