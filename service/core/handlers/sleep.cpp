// `sleep`: waits `ms` milliseconds without using the CPU, waking at once when the job is stopped.
#include "core/handlers/builtin_types.hpp"

#include <offload/proto/json_fields.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace offload::core::handlers {
namespace {

constexpr std::uint64_t max_ms = 600'000;

std::optional<proto::error> validate(const nlohmann::json& input) {
  if (auto unknown = proto::reject_unknown_fields(input, {"ms"})) return unknown;
  auto ms = proto::read_uint(input, "ms", 0, max_ms);
  if (!ms) return ms.error();
  return std::nullopt;
}

proto::result<nlohmann::json> run(const nlohmann::json& input, handler_context& ctx) {
  const auto ms = input.at("ms").get<std::uint64_t>();
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock{m};
  // Nothing notifies `cv`: it returns on timeout or, through the stop token, on cancellation.
  cv.wait_for(lock, ctx.stop_token(), std::chrono::milliseconds{ms}, [] { return false; });
  if (ctx.stop_requested()) return stopped_error();
  return nlohmann::json{{"slept_ms", ms}};
}

}  // namespace

job_type sleep_type() {
  return job_type{
      .name = "sleep",
      .description = "Sleeps for ms milliseconds; wakes at once when cancelled.",
      .input_schema = {{"type", "object"},
                       {"required", {"ms"}},
                       {"additionalProperties", false},
                       {"properties", {{"ms", {{"type", "integer"}, {"minimum", 0}, {"maximum", max_ms}}}}}},
      .lanes = {proto::lane::thread, proto::lane::process},
      .validate = validate,
      .run = run,
  };
}

}  // namespace offload::core::handlers
