// Parsing untrusted JSON text into a value, with a nesting limit, never throwing.
#pragma once

#include <offload/proto/result.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace offload::proto {

/// Deepest nesting of arrays/objects accepted from clients and children (the parser recurses).
inline constexpr std::size_t max_json_depth = 64;

/// Parses `text`; `invalid_json` with the byte offset on a syntax error, invalid UTF-8 or excess nesting.
result<nlohmann::json> parse_json(std::string_view text, std::size_t max_depth = max_json_depth);

/// Serialises compactly. Invalid UTF-8 in strings (say, from a child's output) becomes U+FFFD instead of
/// throwing.
std::string dump_json(const nlohmann::json& value);

/// About how many bytes `dump_json(value)` makes, found by walking the value without building the text:
/// exact for structure, keys, strings without escapes, null and booleans; numbers count 12. For limits
/// that must not cost a serialisation.
std::size_t approximate_json_size(const nlohmann::json& value) noexcept;

}  // namespace offload::proto
