// `primes`: counts the primes ≤ limit with a segmented sieve of Eratosthenes over odd numbers.
#include "core/handlers/builtin_types.hpp"

#include <offload/proto/json_fields.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace offload::core::handlers {
namespace {

constexpr std::uint64_t max_limit = 1'000'000'000;
// Odd numbers per segment: 32 KiB of flags fits the L1 cache.
constexpr std::uint64_t segment_odds = 32 * 1024;

std::uint64_t isqrt(std::uint64_t n) {
  auto r = static_cast<std::uint64_t>(std::sqrt(static_cast<double>(n)));
  while (r * r > n)
    --r;
  while ((r + 1) * (r + 1) <= n)
    ++r;
  return r;
}

// Odd primes ≤ n by a plain sieve (n ≤ sqrt(10^9) ≈ 31623, so this is tiny).
std::vector<std::uint64_t> small_odd_primes(std::uint64_t n) {
  std::vector<bool> composite(n + 1, false);
  std::vector<std::uint64_t> primes;
  for (std::uint64_t p = 3; p <= n; p += 2) {
    if (composite[p]) continue;
    primes.push_back(p);
    for (std::uint64_t m = p * p; m <= n; m += 2 * p)
      composite[m] = true;
  }
  return primes;
}

std::optional<proto::error> validate(const nlohmann::json& input) {
  if (auto unknown = proto::reject_unknown_fields(input, {"limit"})) return unknown;
  auto limit = proto::read_uint(input, "limit", 0, max_limit);
  if (!limit) return limit.error();
  return std::nullopt;
}

proto::result<nlohmann::json> run(const nlohmann::json& input, handler_context& ctx) {
  const std::uint64_t limit = input.at("limit").get<std::uint64_t>();
  if (limit < 2) return nlohmann::json{{"count", 0}};

  const auto primes = small_odd_primes(isqrt(limit));
  // next[i]: the next odd multiple of primes[i] still to strike, starting at p².
  std::vector<std::uint64_t> next;
  next.reserve(primes.size());
  for (const auto p : primes)
    next.push_back(p * p);

  std::uint64_t count = 1;  // the prime 2
  std::vector<unsigned char> composite(segment_odds);
  const std::uint64_t segments = (limit + 2 * segment_odds - 1) / (2 * segment_odds);
  progress_reporter progress{ctx, segments};
  for (std::uint64_t s = 0; s < segments; ++s) {
    // This segment holds the odd numbers low, low+2, …, high.
    const std::uint64_t low = 2 * segment_odds * s + 1;
    const std::uint64_t high = std::min(limit, low + 2 * (segment_odds - 1));
    std::fill(composite.begin(), composite.end(), 0);
    for (std::size_t i = 0; i < primes.size(); ++i) {
      const std::uint64_t step = 2 * primes[i];
      std::uint64_t m = next[i];
      for (; m <= high; m += step)
        composite[(m - low) / 2] = 1;
      next[i] = m;
    }
    const std::uint64_t odds = (high - low) / 2 + 1;
    for (std::uint64_t k = (s == 0 ? 1 : 0); k < odds; ++k)
      count += composite[k] == 0;

    if (ctx.stop_requested()) return stopped_error();
    progress.update(s + 1, [&] { return "sieved up to " + std::to_string(high); });
  }
  return nlohmann::json{{"count", count}};
}

}  // namespace

job_type primes_type() {
  return job_type{
      .name = "primes",
      .description = "Counts the primes less than or equal to limit (segmented sieve).",
      .input_schema = {{"type", "object"},
                       {"required", {"limit"}},
                       {"additionalProperties", false},
                       {"properties",
                        {{"limit", {{"type", "integer"}, {"minimum", 0}, {"maximum", max_limit}}}}}},
      .lanes = {proto::lane::thread, proto::lane::process},
      .validate = validate,
      .run = run,
  };
}

}  // namespace offload::core::handlers
