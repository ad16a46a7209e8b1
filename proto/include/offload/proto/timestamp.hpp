// Wall-clock timestamps on the wire: RFC 3339, UTC, millisecond precision.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace offload::proto {

/// `2026-11-28T19:01:09.123Z`
std::string format_timestamp(std::chrono::system_clock::time_point t);

/// Parses an RFC 3339 date-time, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (`t`/`z` and a space for `T`
/// accepted), from 1970 to 2262-04-11 (the end of system_clock's nanosecond range), to millisecond
/// precision (further digits are dropped). `std::nullopt` for anything else, including impossible dates
/// such as February 30.
std::optional<std::chrono::system_clock::time_point> parse_timestamp(std::string_view text) noexcept;

}  // namespace offload::proto
