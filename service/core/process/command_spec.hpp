// Operator-defined external commands: the allow-list read from `--config FILE`, and the safe expansion of
// argv templates. Nothing outside this list can ever be executed, and never through a shell.
#pragma once

#include "core/job_type.hpp"
#include "core/process/child_process.hpp"

#include <offload/proto/result.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace offload::core {

/// What a command's job result is made of.
enum class command_result {
  /// `{"stdout": "<text>", "exit_code": 0}`; a non-zero exit fails the job.
  stdout_text,
  /// stdout parsed as JSON; a non-zero exit or unparsable output fails the job.
  stdout_json,
  /// `{"exit_code": N}` whatever N is: the exit code is the answer, not an error.
  exit_code,
};

/// One allow-listed command.
struct command_spec {
  static constexpr std::uint64_t default_max_output_bytes = 1024 * 1024;

  std::string name;
  std::string description;
  /// argv template: argv[0] is an absolute path; later elements may contain `{input.FIELD}` placeholders,
  /// each replaced by that input field's value inside the same single element, and `{input.FIELD:path}`,
  /// whose value must be a relative path that stays inside the job's work directory (the command's cwd).
  std::vector<std::string> argv;
  /// Input field whose string value is written to stdin (`"stdin":"input.data"`); stdin is empty otherwise.
  std::optional<std::string> stdin_field;
  command_result result = command_result::stdout_text;
  /// Upper bound on running time; a job's own `timeout_ms` may only shorten it.
  std::optional<std::uint64_t> timeout_ms;
  /// Cap on stdout plus stderr; past it the job fails with `output_limit` and the tree is killed.
  std::uint64_t max_output_bytes = default_max_output_bytes;
  /// The child's entire environment.
  std::map<std::string, std::string> env;
  resource_limits limits;
  /// Input fields the argv template uses (each required, a string, number or boolean).
  std::set<std::string> argv_fields;
  /// Fields used as `{input.FIELD:path}`: strings naming a path inside the work directory.
  std::set<std::string> path_fields;
  /// Fields whose placeholder begins an argv element: a value starting with '-' there would be read as an
  /// option, so it is refused unless `allow_option_values`.
  std::set<std::string> leading_fields;
  /// `"allow_option_values": true`: the command accepts values beginning with '-' at the start of an
  /// argument.
  bool allow_option_values = false;
  /// `"user"`: the account the command runs as (else `--command-user`, else offloadd's own).
  std::optional<std::string> user;
  /// That account, looked up at start-up (`resolve_command_users`).
  std::optional<user_account> account;
};

/// The registry entry of a command: process lane only, input checked by `validate_command_input`,
/// input schema derived from the template.
job_type command_job_type(std::shared_ptr<const command_spec> spec);

/// Reads `{"commands":{NAME:{…}}}`. Errors (`invalid_input`) name the offending path, e.g.
/// `commands.wc.argv[2]: unknown placeholder {inptu.file}`.
proto::result<std::map<std::string, command_spec>> parse_command_config(const nlohmann::json& config);

/// Checks a job's input against the command: every placeholder field present and scalar, the stdin field
/// a string, and no other fields.
std::optional<proto::error> validate_command_input(const command_spec& spec, const nlohmann::json& input);

/// Looks up the account of every command (its `"user"`, else `default_user` when not empty) and checks
/// that offloadd may switch to it (root, or the account it already runs as). Call at start-up.
std::optional<proto::error> resolve_command_users(std::map<std::string, command_spec>& commands,
                                                  const std::string& default_user);

/// The argv for one job (argv[0] first). The input must have passed `validate_command_input`.
std::vector<std::string> expand_argv(const command_spec& spec, const nlohmann::json& input);

}  // namespace offload::core
