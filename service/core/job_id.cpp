// Encoding and decoding of job ids.
#include "core/job_id.hpp"

#include <charconv>
#include <cstdio>

namespace offload::core {

std::string job_id::make(std::uint64_t seq, std::uint32_t salt) {
  char id[length + 1];
  std::snprintf(id, sizeof id, "%012llx%08x", static_cast<unsigned long long>(seq),
                static_cast<unsigned>(salt));
  return id;
}

std::optional<std::uint64_t> job_id::seq_of(std::string_view id) noexcept {
  if (id.size() != length) return std::nullopt;
  for (const char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  std::uint64_t seq = 0;
  const auto digits = id.substr(0, seq_digits);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq, 16);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return seq;
}

}  // namespace offload::core
