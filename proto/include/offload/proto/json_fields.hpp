// Typed, range-checked reads of fields from untrusted JSON objects; errors name the field.
#pragma once

#include <offload/proto/result.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace offload::proto {

/// `field` as an integer in [min, max]. Integral floats such as `1e6` are accepted.
/// `std::nullopt` when absent; `invalid_input` naming `field` when present but wrong.
result<std::optional<std::uint64_t>> read_optional_uint(const nlohmann::json& object, std::string_view field,
                                                        std::uint64_t min, std::uint64_t max);

/// Like `read_optional_uint`, but a missing field is an `invalid_input` error too.
result<std::uint64_t> read_uint(const nlohmann::json& object, std::string_view field, std::uint64_t min,
                                std::uint64_t max);

/// `field` as a string of at most `max_bytes` bytes; `std::nullopt` when absent.
result<std::optional<std::string>> read_optional_string(const nlohmann::json& object, std::string_view field,
                                                        std::size_t max_bytes);

/// The first key of `object` not in `allowed`, if any: typos are rejected rather than silently ignored.
std::optional<std::string> first_unknown_field(const nlohmann::json& object,
                                               std::initializer_list<std::string_view> allowed);

/// `invalid_input` with message `"<field>: <what>"`.
error invalid_field(std::string_view field, std::string_view what);

}  // namespace offload::proto
