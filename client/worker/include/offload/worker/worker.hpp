// offload::worker — write an Offload worker in C++: register handlers, then `run()` speaks the worker
// protocol of PROTOCOL.md on stdin/stdout. offloadd runs it from the `workers` section of its config:
//
//   #include <offload/worker/worker.hpp>
//   int main() {
//     offload::worker::registry types;
//     types.add({.name = "square", .run = [](const nlohmann::json& in, offload::handler_context& ctx)
//                    -> offload::proto::result<nlohmann::json> {
//                  ctx.progress(0.5, "half");
//                  return nlohmann::json{{"square", in.at("n").get<long>() * in.at("n").get<long>()}};
//                }});
//     return offload::worker::run(types);
//   }
//
// offloadd's own `offloadd worker` children are this loop over the built-in types.
#pragma once

#include <offload/proto/error.hpp>
#include <offload/proto/result.hpp>
#include <offload/worker/handler_context.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace offload::worker {

/// Runs one job: its input and a context. Expected failures are returned (a `proto::error`), not thrown;
/// an exception fails the job with `handler_error` and its `what()`.
using handler =
    std::function<proto::result<nlohmann::json>(const nlohmann::json& input, handler_context& ctx)>;
/// Checks an input before the handler runs; returns an `invalid_input` error naming the field, or nothing.
using validator = std::function<std::optional<proto::error>(const nlohmann::json& input)>;

struct type {
  std::string name{};
  handler run{};
  /// Optional.
  validator validate{};
};

/// The types a worker serves.
class registry {
 public:
  /// Registers a type; an empty name, no handler or a second type of the same name throws
  /// `std::invalid_argument`.
  void add(type t);
  const type* find(std::string_view name) const;
  const std::map<std::string, type, std::less<>>& all() const noexcept { return types_; }

 private:
  std::map<std::string, type, std::less<>> types_;
};

/// Serves jobs, one at a time, until `in` ends: writes the ready line (protocol version and type names),
/// then for each request line its events and exactly one `result` or `error` line on `out`. Returns the
/// process exit code (0).
int run(const registry& types, std::istream& in, std::FILE* out);
/// The same on stdin and stdout (SIGPIPE restored to its default, so a parent that went away ends it).
int run(const registry& types);

}  // namespace offload::worker
