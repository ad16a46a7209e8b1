// Job ids: 12 hex digits of the submission sequence number, then 8 random hex digits. Sortable by
// submission, unique, and hard to guess (a seq alone finds nothing). Only this file knows the layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace offload::core {

struct job_id {
  static constexpr std::size_t seq_digits = 12;
  static constexpr std::size_t length = seq_digits + 8;

  /// The id of submission `seq` with random `salt`.
  static std::string make(std::uint64_t seq, std::uint32_t salt);
  /// The seq encoded in `id`, when `id` is well-formed.
  static std::optional<std::uint64_t> seq_of(std::string_view id) noexcept;
  static bool well_formed(std::string_view id) noexcept { return seq_of(id).has_value(); }
};

}  // namespace offload::core
