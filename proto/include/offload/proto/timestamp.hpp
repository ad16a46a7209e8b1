// Wall-clock timestamps on the wire: RFC 3339, UTC, millisecond precision.
#pragma once

#include <chrono>
#include <string>

namespace offload::proto {

/// `2026-11-28T19:01:09.123Z`
std::string format_timestamp(std::chrono::system_clock::time_point t);

}  // namespace offload::proto
