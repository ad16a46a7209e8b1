// offload::server: the type registry of a program built on offloadd, and offloadd's main.
#include "app/daemon.hpp"
#include "app/options.hpp"
#include "app/worker_main.hpp"
#include "core/input_schema.hpp"
#include "core/process/config_fields.hpp"
#include "core/type_registry.hpp"

#include <offload/proto/version.hpp>
#include <offload/server/server.hpp>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace offload {

struct server::impl {
  core::type_registry types;
};

server::server() : impl_(std::make_unique<impl>()) {
  core::register_builtin_types(impl_->types);
}

server::~server() = default;

void server::register_type(server_type type) {
  if (auto bad = core::check_type_name("type name", type.name)) throw std::invalid_argument{bad->message};
  if (impl_->types.find(type.name))
    throw std::invalid_argument{"type '" + type.name + "' is already registered (a built-in or yours)"};
  if (!type.run) throw std::invalid_argument{"type '" + type.name + "' has no handler"};
  core::job_type t;
  t.name = type.name;
  t.description = type.description.empty() ? "Runs " + type.name + "." : type.description;
  t.lanes = {proto::lane::thread, proto::lane::process};
  t.run = std::move(type.run);
  if (type.input_schema.is_null()) {
    t.input_schema = nlohmann::json{{"type", "object"}};
    t.validate = [](const nlohmann::json&) -> std::optional<proto::error> { return std::nullopt; };
  } else {
    auto schema = core::input_schema::compile(type.input_schema);
    if (!schema)
      throw std::invalid_argument{"type '" + type.name + "': input_schema: " + schema.error().message};
    t.input_schema = schema->source();
    t.validate = [s = std::move(*schema)](const nlohmann::json& input) { return s.validate(input); };
  }
  impl_->types.add(std::move(t));
}

int server::main(int argc, char** argv) const {
  // `PROGRAM worker`: a process-lane worker child speaking JSON lines on stdin/stdout.
  if (argc == 2 && std::string_view{argv[1]} == "worker") return app::run_worker(impl_->types);
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  const auto parsed = app::parse_options(args, [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string{name}.c_str());
    return value ? std::optional<std::string>{value} : std::nullopt;
  });
  if (parsed.help) {
    std::fputs(app::usage().c_str(), stdout);
    return 0;
  }
  if (parsed.version) {
    std::printf("offloadd %.*s\n", static_cast<int>(proto::version().size()), proto::version().data());
    return 0;
  }
  if (!parsed.error.empty()) {
    std::fprintf(stderr, "offloadd: %s\n", parsed.error.c_str());
    return 2;
  }
  return app::run_daemon(parsed.opts, impl_->types);
}

}  // namespace offload
