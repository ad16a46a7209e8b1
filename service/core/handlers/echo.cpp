// `echo`: returns its input. The cheapest job, used to measure the service's own overhead.
#include "core/handlers/builtin_types.hpp"

namespace offload::core::handlers {

job_type echo_type() {
  return job_type{
      .name = "echo",
      .description = "Returns its input unchanged.",
      .input_schema = {{"type", "object"}},
      .lanes = {proto::lane::thread, proto::lane::process},
      .validate = [](const nlohmann::json&) -> std::optional<proto::error> { return std::nullopt; },
      .run = [](const nlohmann::json& input, handler_context&) -> proto::result<nlohmann::json> {
        return input;
      },
  };
}

}  // namespace offload::core::handlers
