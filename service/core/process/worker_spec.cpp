// Parsing of the `workers` section.
#include "core/process/worker_spec.hpp"

#include "core/process/config_fields.hpp"

#include <offload/proto/job_spec.hpp>
#include <offload/proto/json_fields.hpp>

#include <set>

namespace offload::core {
namespace {

using nlohmann::json;

std::optional<proto::error> parse_argv(const std::string& at, const json& j, worker_spec& spec) {
  const auto argv = j.find("argv");
  if (argv == j.end() || !argv->is_array() || argv->empty())
    return config_error(at + ".argv", "must be a non-empty array of strings");
  for (std::size_t i = 0; i < argv->size(); ++i) {
    const auto& element = (*argv)[i];
    if (!element.is_string())
      return config_error(at + ".argv[" + std::to_string(i) + "]", "must be a string");
    if (element.get_ref<const std::string&>().find('\0') != std::string::npos)
      return config_error(at + ".argv[" + std::to_string(i) + "]", "must not contain a NUL byte");
    spec.argv.push_back(element.get<std::string>());
  }
  return check_program(at + ".argv[0]", spec.argv.front());
}

proto::result<std::optional<input_schema>> parse_schema(const std::string& at, const json& j) {
  const auto it = j.find("input_schema");
  if (it == j.end()) return std::optional<input_schema>{};
  auto schema = input_schema::compile(*it);
  if (!schema) return config_error(at + ".input_schema", schema.error().message);
  return std::optional<input_schema>{std::move(*schema)};
}

// `types`: a list of names, or an object of {description, input_schema} per name.
std::optional<proto::error> parse_types(const std::string& at, const json& j, worker_spec& spec) {
  const auto types = j.find("types");
  if (types == j.end() || !(types->is_array() || types->is_object()) || types->empty())
    return config_error(at + ".types", "must name at least one type: [\"name\", …] or {\"name\": {…}}");
  auto shared = parse_schema(at, j);
  if (!shared) return shared.error();
  const auto description = j.value("description", "Runs in worker pool " + spec.name + ".");
  const auto add = [&](const std::string& path, const std::string& name,
                       const json* details) -> std::optional<proto::error> {
    if (auto bad = check_type_name(path, name)) return bad;
    worker_type_spec t{name, description, *shared};
    if (details) {
      if (!details->is_object()) return config_error(path, "must be an object");
      static constexpr std::string_view keys[] = {"description", "input_schema"};
      if (auto unknown = proto::first_unknown_field(*details, keys))
        return config_error(path + "." + *unknown, proto::unknown_field_message(keys));
      if (const auto d = details->find("description"); d != details->end()) {
        if (!d->is_string()) return config_error(path + ".description", "must be a string");
        t.description = d->get<std::string>();
      }
      auto own = parse_schema(path, *details);
      if (!own) return own.error();
      if (*own) t.schema = std::move(*own);
    }
    for (const auto& other : spec.types)
      if (other.name == name) return config_error(path, "is listed twice");
    spec.types.push_back(std::move(t));
    return std::nullopt;
  };
  if (types->is_array()) {
    for (std::size_t i = 0; i < types->size(); ++i) {
      const auto path = at + ".types[" + std::to_string(i) + "]";
      if (!(*types)[i].is_string()) return config_error(path, "must be a type name");
      if (auto bad = add(path, (*types)[i].get<std::string>(), nullptr)) return bad;
    }
  } else {
    for (const auto& [name, details] : types->items())
      if (auto bad = add(at + ".types." + name, name, &details)) return bad;
  }
  return std::nullopt;
}

proto::result<worker_spec> parse_worker(const std::string& name, const json& j) {
  const auto at = "workers." + name;
  if (!j.is_object()) return config_error(at, "must be an object");
  static constexpr std::string_view keys[] = {
      "argv", "types",  "pool",         "max_jobs",   "timeout_ms", "ready_timeout_ms",
      "env",  "limits", "input_schema", "description"};
  if (auto unknown = proto::first_unknown_field(j, keys))
    return config_error(at + "." + *unknown, proto::unknown_field_message(keys));
  worker_spec spec;
  spec.name = name;
  if (auto bad = parse_argv(at, j, spec)) return *std::move(bad);
  if (auto bad = parse_types(at, j, spec)) return *std::move(bad);
  auto pool = proto::read_optional_uint(j, "pool", 1, worker_spec::max_pool);
  if (!pool) return config_error(at + ".pool", "must be from 1 to " + std::to_string(worker_spec::max_pool));
  spec.pool = pool->value_or(1);
  auto max_jobs = proto::read_optional_uint(j, "max_jobs", 1, 100'000'000);
  if (!max_jobs) return config_error(at + ".max_jobs", "must be from 1 to 100000000");
  spec.max_jobs = max_jobs->value_or(worker_spec::default_max_jobs);
  auto timeout = proto::read_optional_uint(j, "timeout_ms", 1, proto::job_spec::max_timeout_ms);
  if (!timeout) return config_error(at, timeout.error().message);
  spec.timeout_ms = *timeout;
  auto ready = proto::read_optional_uint(j, "ready_timeout_ms", 1, 600'000);
  if (!ready) return config_error(at, ready.error().message);
  spec.ready_timeout_ms = ready->value_or(spec.ready_timeout_ms);
  if (const auto d = j.find("description"); d != j.end() && !d->is_string())
    return config_error(at + ".description", "must be a string");
  if (auto bad = parse_env(at, j, spec.env)) return *std::move(bad);
  if (auto bad = parse_limits(at, j, spec.limits)) return *std::move(bad);
  return spec;
}

}  // namespace

proto::result<std::vector<worker_spec>> parse_worker_config(const nlohmann::json& config) {
  std::vector<worker_spec> out;
  if (!config.is_object()) return config_error("config", "must be a JSON object");
  const auto workers = config.find("workers");
  if (workers == config.end()) return out;
  if (!workers->is_object()) return config_error("workers", "must be an object of pools");
  std::map<std::string, std::string> served_by;
  for (const auto& [name, value] : workers->items()) {
    if (auto bad = check_type_name("workers." + name, name)) return *std::move(bad);
    auto spec = parse_worker(name, value);
    if (!spec) return std::move(spec).error();
    for (const auto& t : spec->types) {
      if (const auto [it, fresh] = served_by.emplace(t.name, name); !fresh)
        return config_error("workers." + name + ".types",
                            "type '" + t.name + "' is already served by pool '" + it->second + "'");
    }
    out.push_back(std::move(spec).value());
  }
  return out;
}

job_type worker_job_type(const worker_type_spec& type, std::size_t pool_index) {
  job_type t;
  t.name = type.name;
  t.description = type.description;
  t.input_schema = type.schema ? type.schema->source() : json{{"type", "object"}};
  t.lanes = {proto::lane::process};
  if (type.schema) {
    t.validate = [schema = *type.schema](const json& input) { return schema.validate(input); };
  } else {
    t.validate = [](const json&) -> std::optional<proto::error> { return std::nullopt; };
  }
  t.external_pool = pool_index;
  return t;
}

}  // namespace offload::core
