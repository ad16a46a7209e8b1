// A registered job type: its name, documentation, input check, handler and the lanes it may run in.
#pragma once

#include "core/handler_context.hpp"

#include <offload/proto/job_enums.hpp>
#include <offload/proto/result.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace offload::core {

struct command_spec;

/// Checks an input at submission; returns an `invalid_input` error naming the field, or nothing.
using input_validator = std::function<std::optional<proto::error>(const nlohmann::json& input)>;

/// Runs a job: a pure function of (input, context). Expected failures are returned, not thrown. Called on
/// pool threads (thread lane) or in `offloadd worker` children: it must be safe to call concurrently.
using job_handler =
    std::function<proto::result<nlohmann::json>(const nlohmann::json& input, handler_context& ctx)>;

struct job_type {
  std::string name;
  /// One sentence for `GET /v1/types`.
  std::string description;
  /// A JSON Schema of `input`, for `GET /v1/types`.
  nlohmann::json input_schema;
  /// Lanes this type may run in; the first is its default.
  std::vector<proto::lane> lanes;
  input_validator validate{};
  /// Built-in types have a handler; command types (process lane only) do not.
  job_handler run{};
  /// Set for operator-defined commands, which run one child process per job.
  std::shared_ptr<const command_spec> command{};
  /// Set for types served by an operator-defined worker pool: its index among the external pools.
  std::optional<std::size_t> external_pool{};
};

}  // namespace offload::core
