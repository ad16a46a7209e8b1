// Typed, range-checked reads of fields from untrusted JSON objects; errors name the field.
#pragma once

#include <offload/proto/result.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <iterator>
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

/// The first key of `object` not in `allowed` (any range of names, or a braced list), if any: typos are
/// rejected rather than silently ignored.
template <class Names = std::initializer_list<std::string_view>>
std::optional<std::string> first_unknown_field(const nlohmann::json& object, const Names& allowed) {
  for (const auto& [key, value] : object.items())
    if (std::find(std::begin(allowed), std::end(allowed), key) == std::end(allowed)) return key;
  return std::nullopt;
}

/// What to say about a field that is not accepted, naming those that are, so a typo is fixed at once:
/// `unknown field (known: data, rounds)`, or `unknown field (none is accepted)`.
template <class Names = std::initializer_list<std::string_view>>
std::string unknown_field_message(const Names& known) {
  std::string text = "unknown field (";
  bool first = true;
  for (const auto& name : known) {
    text += first ? "known: " : ", ";
    text += std::string_view{name};
    first = false;
  }
  return text + (first ? "none is accepted)" : ")");
}

/// `invalid_input` with message `"<field>: <what>"`.
error invalid_field(std::string_view field, std::string_view what);

/// `invalid_input` for the first key of `object` not in `allowed` (`m: unknown field (known: n)`), if any.
template <class Names = std::initializer_list<std::string_view>>
std::optional<error> reject_unknown_fields(const nlohmann::json& object, const Names& allowed) {
  if (auto unknown = first_unknown_field(object, allowed))
    return invalid_field(*unknown, unknown_field_message(allowed));
  return std::nullopt;
}

}  // namespace offload::proto
