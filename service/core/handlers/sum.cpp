// `sum`: 0 + 1 + … + (n-1) by an honest loop. It is a CPU benchmark, so the loop must not fold into n(n-1)/2.
#include "core/handlers/builtin_types.hpp"

#include <offload/proto/json_fields.hpp>

#include <algorithm>
#include <string>

namespace offload::core::handlers {
namespace {

// GCC's 128-bit integer; `__extension__` keeps -Wpedantic quiet about it.
__extension__ using uint128 = unsigned __int128;

constexpr std::uint64_t max_n = 10'000'000'000ull;
// Iterations between stop checks, which are also where the job gives way (handler_context::stop_requested):
// 0.3 ms of work on the bench machine.
constexpr std::uint64_t block = 1u << 20;

std::string to_decimal(uint128 value) {
  if (value == 0) return "0";
  std::string digits;
  while (value != 0) {
    digits.push_back(static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  }
  std::reverse(digits.begin(), digits.end());
  return digits;
}

std::optional<proto::error> validate(const nlohmann::json& input) {
  if (auto unknown = proto::reject_unknown_fields(input, {"n"})) return unknown;
  auto n = proto::read_uint(input, "n", 0, max_n);
  if (!n) return n.error();
  return std::nullopt;
}

proto::result<nlohmann::json> run(const nlohmann::json& input, handler_context& ctx) {
  const std::uint64_t n = input.at("n").get<std::uint64_t>();
  progress_reporter progress{ctx, n};
  uint128 acc = 0;
  for (std::uint64_t i = 0; i < n;) {
    const std::uint64_t end = std::min(n, i + block);
    for (; i < end; ++i) {
      acc += i;
      // Hide `i` from the optimiser so the loop stays a loop (no closed form, no vectorised shortcut).
      asm volatile("" : "+r"(i));
    }
    if (ctx.stop_requested()) return stopped_error();
    progress.update(i, [&] { return "summed " + std::to_string(i) + " of " + std::to_string(n); });
  }
  return nlohmann::json{{"sum", to_decimal(acc)}};
}

}  // namespace

job_type sum_type() {
  return job_type{
      .name = "sum",
      .description =
          "Exact sum of 0..n-1 computed by a loop (CPU benchmark); the result is a decimal string.",
      .input_schema = {{"type", "object"},
                       {"required", {"n"}},
                       {"additionalProperties", false},
                       {"properties", {{"n", {{"type", "integer"}, {"minimum", 0}, {"maximum", max_n}}}}}},
      .lanes = {proto::lane::thread, proto::lane::process},
      .validate = validate,
      .run = run,
  };
}

}  // namespace offload::core::handlers
