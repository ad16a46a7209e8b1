// Fuzz target: a command's argv template and a job's input, through the allow-list parser, the input
// validation and the placeholder expansion. Input: a JSON array of template elements (after argv[0]), a
// newline, then the job's input object.
#include "core/process/command_spec.hpp"

#include <offload/proto/json_parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto newline = text.find('\n');
  if (newline == std::string_view::npos) return 0;
  const auto args = offload::proto::parse_json(text.substr(0, newline));
  const auto input = offload::proto::parse_json(text.substr(newline + 1));
  if (!args || !input || !args->is_array()) return 0;
  nlohmann::json argv = nlohmann::json::array({"/bin/true"});
  for (const auto& a : *args)
    argv.push_back(a);
  const nlohmann::json config{{"commands", {{"fuzz", {{"argv", argv}}}}}};
  const auto commands = offload::core::parse_command_config(config);
  if (!commands) return 0;
  const auto& spec = commands->at("fuzz");
  if (offload::core::validate_command_input(spec, *input)) return 0;
  const auto expanded = offload::core::expand_argv(spec, *input);
  // One template element is always exactly one argv element, and the program never changes.
  if (expanded.size() != spec.argv.size() || expanded.front() != "/bin/true") std::abort();
  // A path placeholder's value never leaves the work directory: relative, without a `..` step.
  for (const auto& field : spec.path_fields) {
    const auto value = input->at(field).get<std::string>();
    if (value.empty() || value.front() == '/' || value == ".." || value.starts_with("../") ||
        value.ends_with("/..") || value.find("/../") != std::string::npos)
      std::abort();
  }
  return 0;
}
