// The version of this build: the project's (CMake) and, when it was built from a git checkout, the commit.
#pragma once

#include <string_view>

namespace offload::proto {

/// `0.1.0`, or `0.1.0 (git 1a2b3c4)` / `0.1.0 (git 1a2b3c4-dirty)` when built from a git checkout (read when
/// CMake configured the build).
std::string_view version() noexcept;

}  // namespace offload::proto
