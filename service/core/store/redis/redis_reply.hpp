// One reply of a Redis server, owned (hiredis's own reply objects live only during its callback).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace offload::core {

struct redis_reply {
  enum class kind { nil, integer, string, status, error, array };

  kind type = kind::nil;
  std::int64_t integer = 0;
  /// The bulk string, status or error text.
  std::string text;
  std::vector<redis_reply> elements;

  bool is_nil() const noexcept { return type == kind::nil; }
  bool is_error() const noexcept { return type == kind::error; }
  bool is_array() const noexcept { return type == kind::array; }
  /// The text of a bulk string or status, or nothing (nil, integer, error, array).
  std::optional<std::string_view> string() const noexcept {
    if (type == kind::string || type == kind::status) return text;
    return std::nullopt;
  }
  /// An integer reply, or a bulk string holding only a decimal integer (what Lua scripts and HGET give).
  std::optional<std::int64_t> as_integer() const noexcept;
};

}  // namespace offload::core
