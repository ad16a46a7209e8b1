// Fuzz target: the `workers` section of the operator's config and its input schemas. Input: a JSON object
// used as a pool's `types` entry details ({"input_schema": …}), a newline, then a job input validated
// against the compiled schema. Neither may crash, and a schema that compiled must validate any input.
#include "core/input_schema.hpp"
#include "core/process/worker_spec.hpp"

#include <offload/proto/json_parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto newline = text.find('\n');
  const auto schema = offload::proto::parse_json(text.substr(0, newline));
  if (!schema) return 0;
  const nlohmann::json config{
      {"workers", {{"fuzz", {{"argv", {"/bin/true"}}, {"types", {{"t", {{"input_schema", *schema}}}}}}}}}};
  const auto pools = offload::core::parse_worker_config(config);
  const auto compiled = offload::core::input_schema::compile(*schema);
  // The config parser and the compiler agree on what a valid schema is.
  if (pools.has_value() != compiled.has_value()) std::abort();
  if (!compiled || newline == std::string_view::npos) return 0;
  const auto input = offload::proto::parse_json(text.substr(newline + 1));
  if (!input) return 0;
  const auto verdict = compiled->validate(*input);
  if (verdict && verdict->code != offload::proto::errc::invalid_input) std::abort();
  const auto type = offload::core::worker_job_type(pools->front().types.front(), 0);
  if (type.validate(*input).has_value() != verdict.has_value()) std::abort();
  return 0;
}
