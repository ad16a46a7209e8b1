// Allow-list parsing and argv template expansion.
#include "core/process/command_spec.hpp"

#include "core/process/config_fields.hpp"

#include <offload/proto/job_spec.hpp>
#include <offload/proto/json_fields.hpp>

#include <algorithm>
#include <cctype>
#include <unistd.h>

namespace offload::core {
namespace {

using nlohmann::json;

bool is_identifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (const char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// A piece of an argv element: literal text, or the name of an input field (and whether it is a path).
struct segment {
  bool field;
  std::string text;
  bool path = false;
};

// Splits an element into literals and `{input.NAME}` / `{input.NAME:path}` placeholders. Anything shaped
// like a placeholder (`{word.word}`, `{word.word:word}`) that is not one of those is an error, so typos fail
// at start-up; other braces are literal (awk programs, JSON snippets).
proto::result<std::vector<segment>> split_template(std::string_view element) {
  std::vector<segment> out;
  std::string literal;
  for (std::size_t i = 0; i < element.size();) {
    if (element[i] == '{') {
      const auto close = element.find('}', i);
      if (close != std::string_view::npos) {
        const auto inner = element.substr(i + 1, close - i - 1);
        // `word.word` or `word.word:word`; a ':' before the '.' makes it literal text.
        const auto dot = inner.find('.');
        const auto colon = inner.find(':');
        const bool shaped = dot != std::string_view::npos && (colon == std::string_view::npos || dot < colon);
        const auto name = shaped ? inner.substr(dot + 1, colon - dot - 1) : std::string_view{};
        const auto kind =
            shaped && colon != std::string_view::npos ? inner.substr(colon + 1) : std::string_view{};
        if (shaped && is_identifier(inner.substr(0, dot)) && is_identifier(name) &&
            (colon == std::string_view::npos || is_identifier(kind))) {
          if (inner.substr(0, dot) != "input")
            return proto::error{proto::errc::invalid_input, "unknown placeholder {" + std::string{inner} +
                                                                "} (only {input.FIELD} exists)"};
          if (!kind.empty() && kind != "path")
            return proto::error{proto::errc::invalid_input,
                                "unknown placeholder kind {" + std::string{inner} +
                                    "} (only {input.FIELD} and {input.FIELD:path} exist)"};
          if (!literal.empty()) out.push_back({false, std::exchange(literal, {})});
          out.push_back({true, std::string{name}, kind == "path"});
          i = close + 1;
          continue;
        }
      }
    }
    literal.push_back(element[i++]);
  }
  if (!literal.empty()) out.push_back({false, std::move(literal)});
  return out;
}

std::string scalar_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return value.dump();  // numbers
}

// `argv`: an absolute, executable program path, then templates whose `{input.FIELD}` placeholders are
// collected into `argv_fields`.
std::optional<proto::error> parse_argv(const std::string& at, const json& j, command_spec& spec) {
  const auto argv = j.find("argv");
  if (argv == j.end() || !argv->is_array() || argv->empty())
    return config_error(at + ".argv", "must be a non-empty array of strings");
  for (std::size_t i = 0; i < argv->size(); ++i) {
    const auto& element = (*argv)[i];
    const auto path = at + ".argv[" + std::to_string(i) + "]";
    if (!element.is_string()) return config_error(path, "must be a string");
    auto segments = split_template(element.get<std::string>());
    if (!segments) return config_error(path, segments.error().message);
    for (const auto& s : *segments) {
      if (!s.field) continue;
      spec.argv_fields.insert(s.text);
      if (s.path) spec.path_fields.insert(s.text);
    }
    if (!segments->empty() && segments->front().field) spec.leading_fields.insert(segments->front().text);
    spec.argv.push_back(element.get<std::string>());
  }
  return check_program(at + ".argv[0]", spec.argv.front());
}

// `stdin`: "input.FIELD", a field not already used in argv.
std::optional<proto::error> parse_stdin(const std::string& at, const json& j, command_spec& spec) {
  const auto in = j.find("stdin");
  if (in == j.end() || in->is_null()) return std::nullopt;
  const auto text = in->is_string() ? in->get<std::string>() : std::string{};
  if (!text.starts_with("input.") || !is_identifier(std::string_view{text}.substr(6)))
    return config_error(at + ".stdin", "must be \"input.FIELD\"");
  spec.stdin_field = text.substr(6);
  if (spec.argv_fields.contains(*spec.stdin_field))
    return config_error(at + ".stdin", "field " + *spec.stdin_field + " is already used in argv");
  return std::nullopt;
}

// `result`, `timeout_ms` and `max_output_bytes`: what the job returns and how long and loud it may be.
std::optional<proto::error> parse_outcome(const std::string& at, const json& j, command_spec& spec) {
  const auto result = j.value("result", std::string{"stdout"});
  if (result == "stdout")
    spec.result = command_result::stdout_text;
  else if (result == "stdout_json")
    spec.result = command_result::stdout_json;
  else if (result == "exit_code")
    spec.result = command_result::exit_code;
  else
    return config_error(at + ".result", "must be \"stdout\", \"stdout_json\" or \"exit_code\"");
  auto timeout = proto::read_optional_uint(j, "timeout_ms", 1, proto::job_spec::max_timeout_ms);
  if (!timeout) return config_error(at, timeout.error().message);
  spec.timeout_ms = *timeout;
  auto max_output = proto::read_optional_uint(j, "max_output_bytes", 1, 1ull << 32);
  if (!max_output) return config_error(at, max_output.error().message);
  spec.max_output_bytes = max_output->value_or(command_spec::default_max_output_bytes);
  return std::nullopt;
}

proto::result<command_spec> parse_command(const std::string& name, const json& j) {
  const auto at = "commands." + name;
  if (!j.is_object()) return config_error(at, "must be an object");
  static constexpr std::string_view keys[] = {
      "argv", "stdin",  "result",      "timeout_ms",          "max_output_bytes",
      "env",  "limits", "description", "allow_option_values", "user"};
  if (auto unknown = proto::first_unknown_field(j, keys))
    return config_error(at + "." + *unknown, proto::unknown_field_message(keys));
  command_spec spec;
  spec.name = name;
  spec.description = j.value("description", "Runs " + name + " (operator-defined command).");
  if (const auto allow = j.find("allow_option_values"); allow != j.end()) {
    if (!allow->is_boolean()) return config_error(at + ".allow_option_values", "must be true or false");
    spec.allow_option_values = allow->get<bool>();
  }
  if (const auto user = j.find("user"); user != j.end()) {
    if (!user->is_string() || user->get<std::string>().empty())
      return config_error(at + ".user", "must be a user name or a numeric uid");
    spec.user = user->get<std::string>();
  }
  for (const auto step : {parse_argv, parse_stdin, parse_outcome})
    if (auto problem = step(at, j, spec)) return *std::move(problem);
  if (auto problem = parse_env(at, j, spec.env)) return *std::move(problem);
  if (auto problem = parse_limits(at, j, spec.limits)) return *std::move(problem);
  return spec;
}

}  // namespace

proto::result<std::map<std::string, command_spec>> parse_command_config(const nlohmann::json& config) {
  if (!config.is_object()) return config_error("config", "must be a JSON object");
  static constexpr std::string_view keys[] = {"commands", "workers"};
  if (auto unknown = proto::first_unknown_field(config, keys))
    return config_error(*unknown, proto::unknown_field_message(keys));
  std::map<std::string, command_spec> out;
  const auto commands = config.find("commands");
  if (commands == config.end()) return out;
  if (!commands->is_object()) return config_error("commands", "must be an object");
  for (const auto& [name, value] : commands->items()) {
    if (auto bad = check_type_name("commands." + name, name)) return *std::move(bad);
    auto spec = parse_command(name, value);
    if (!spec) return std::move(spec).error();
    out.emplace(name, std::move(spec).value());
  }
  return out;
}

namespace {

// A `{input.FIELD:path}` value: a relative path whose every step stays inside the work directory.
std::optional<std::string> path_problem(std::string_view path) {
  if (path.empty()) return "must not be empty";
  if (path.front() == '/') return "must be a relative path inside the job's work directory";
  for (std::size_t start = 0; start <= path.size();) {
    const auto slash = std::min(path.find('/', start), path.size());
    if (path.substr(start, slash - start) == "..")
      return "must not contain '..': it names a path inside the job's work directory";
    start = slash + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<proto::error> validate_command_input(const command_spec& spec, const nlohmann::json& input) {
  for (const auto& [key, value] : input.items()) {
    if (spec.argv_fields.contains(key)) {
      if (!value.is_string() && !value.is_number() && !value.is_boolean())
        return proto::invalid_field(key, "must be a string, a number or a boolean");
      const auto text = scalar_text(value);
      // An argument is a C string: a NUL would silently cut it short.
      if (text.find('\0') != std::string::npos)
        return proto::invalid_field(key, "must not contain a NUL byte");
      if (spec.path_fields.contains(key)) {
        if (!value.is_string()) return proto::invalid_field(key, "must be a string (a path)");
        if (auto problem = path_problem(text)) return proto::invalid_field(key, *problem);
      }
      if (!spec.allow_option_values && spec.leading_fields.contains(key) && text.starts_with('-'))
        return proto::invalid_field(key,
                                    "must not begin with '-': the command would read it as an option "
                                    "(the operator can allow it with \"allow_option_values\": true)");
    } else if (spec.stdin_field && key == *spec.stdin_field) {
      if (!value.is_string()) return proto::invalid_field(key, "must be a string (it is written to stdin)");
    } else {
      std::vector<std::string> known{spec.argv_fields.begin(), spec.argv_fields.end()};
      if (spec.stdin_field) known.push_back(*spec.stdin_field);
      std::sort(known.begin(), known.end());
      return proto::invalid_field(key,
                                  proto::unknown_field_message(known) + " for command '" + spec.name + "'");
    }
  }
  for (const auto& field : spec.argv_fields)
    if (!input.contains(field)) return proto::invalid_field(field, "is required");
  if (spec.stdin_field && !input.contains(*spec.stdin_field))
    return proto::invalid_field(*spec.stdin_field, "is required");
  return std::nullopt;
}

job_type command_job_type(std::shared_ptr<const command_spec> spec) {
  nlohmann::json properties = nlohmann::json::object();
  nlohmann::json required = nlohmann::json::array();
  for (const auto& field : spec->argv_fields) {
    if (spec->path_fields.contains(field))
      properties[field] = {{"type", "string"},
                           {"description", "a relative path inside the job's work directory (no '..')"}};
    else
      properties[field] = {{"type", {"string", "number", "boolean"}}};
    required.push_back(field);
  }
  if (spec->stdin_field) {
    properties[*spec->stdin_field] = {{"type", "string"}, {"description", "written to the command's stdin"}};
    required.push_back(*spec->stdin_field);
  }
  job_type type;
  type.name = spec->name;
  type.description = spec->description;
  type.input_schema = {{"type", "object"},
                       {"additionalProperties", false},
                       {"required", std::move(required)},
                       {"properties", std::move(properties)}};
  type.lanes = {proto::lane::process};
  type.validate = [spec](const nlohmann::json& input) { return validate_command_input(*spec, input); };
  type.command = std::move(spec);
  return type;
}

std::optional<proto::error> resolve_command_users(std::map<std::string, command_spec>& commands,
                                                  const std::string& default_user) {
  for (auto& [name, spec] : commands) {
    if (!spec.user && !default_user.empty()) spec.user = default_user;
    if (!spec.user) continue;
    const auto where = "commands." + name + ".user" + (spec.user == default_user ? " (--command-user)" : "");
    auto account = find_user_account(*spec.user);
    if (!account) return config_error(where, account.error().message);
    if (::geteuid() != 0 && account->uid != ::geteuid())
      return config_error(where, "offloadd runs as uid " + std::to_string(::geteuid()) +
                                     " and cannot start commands as '" + *spec.user + "' (that needs root)");
    spec.account = std::move(*account);
  }
  return std::nullopt;
}

std::vector<std::string> expand_argv(const command_spec& spec, const nlohmann::json& input) {
  std::vector<std::string> argv;
  argv.reserve(spec.argv.size());
  for (const auto& element : spec.argv) {
    // Each element yields exactly one argument: values are inserted as text, never re-split or globbed.
    std::string arg;
    const auto segments = split_template(element);
    for (const auto& s : *segments)
      arg += s.field ? scalar_text(input.at(s.text)) : s.text;
    argv.push_back(std::move(arg));
  }
  return argv;
}

}  // namespace offload::core
