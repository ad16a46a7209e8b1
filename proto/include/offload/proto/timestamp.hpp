// Wall-clock timestamps on the wire: RFC 3339, UTC, millisecond precision.
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace offload::proto {

/// The text of a timestamp in place (24 characters: longer than a string's inline buffer, so a
/// `std::string` of it would be one allocation): for a timestamp that is written out at once.
struct timestamp_text {
  std::array<char, 24> chars;
  std::string_view view() const noexcept { return {chars.data(), chars.size()}; }
};

/// `2026-11-28T19:01:09.123Z`
timestamp_text format_timestamp_text(std::chrono::system_clock::time_point t) noexcept;
/// The same as a string.
std::string format_timestamp(std::chrono::system_clock::time_point t);

/// Parses an RFC 3339 date-time, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (`t`/`z` and a space for `T`
/// accepted), from 1970 to 2262-04-11 (the end of system_clock's nanosecond range), to millisecond
/// precision (further digits are dropped). `std::nullopt` for anything else, including impossible dates
/// such as February 30.
std::optional<std::chrono::system_clock::time_point> parse_timestamp(std::string_view text) noexcept;

}  // namespace offload::proto
