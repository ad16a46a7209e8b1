// offload::server — build your own offloadd: register job types implemented in C++ next to the built-in
// ones, then hand over to offloadd's main (all the usual flags, environment variables, config file,
// `offloadd worker` children). offloadd itself is `offload::server{}.main(argc, argv)`.
//
//   #include <offload/server/server.hpp>
//   int main(int argc, char** argv) {
//     offload::server server;
//     server.register_type({.name = "reverse",
//                           .description = "Reverses a string.",
//                           .input_schema = {{"type", "object"}, {"required", {"text"}},
//                                            {"properties", {{"text", {{"type", "string"}}}}}},
//                           .run = [](const nlohmann::json& in, offload::handler_context&)
//                               -> offload::proto::result<nlohmann::json> {
//                             auto s = in.at("text").get<std::string>();
//                             return nlohmann::json{{"text", std::string(s.rbegin(), s.rend())}};
//                           }});
//     return server.main(argc, argv);
//   }
#pragma once

#include <offload/proto/result.hpp>
#include <offload/worker/worker.hpp>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace offload {

/// A job type of your own.
struct server_type {
  std::string name{};
  /// One sentence for `GET /v1/types`.
  std::string description{};
  /// JSON Schema of the input (the subset of README, "Input schemas"), checked at submission; null means
  /// any JSON object.
  nlohmann::json input_schema = nullptr;
  /// The handler. It runs on the thread lane's pool threads (several jobs at once: it must be safe to call
  /// concurrently, and should watch `ctx.stop_requested()` in long loops) and, for `"lane":"process"`, in
  /// `offloadd worker` children of your program.
  worker::handler run{};
};

class server {
 public:
  /// With the built-in types (`echo`, `sum`, `sha256`, `primes`, `sleep`).
  server();
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Adds a type. Throws `std::invalid_argument` for a name already taken (a built-in's or another of
  /// yours), a name outside [a-z0-9_.-]{1,64}, a missing handler, or a schema outside the subset (the
  /// message names the keyword).
  void register_type(server_type type);

  /// offloadd's main: `PROGRAM worker` serves the process lane's children; otherwise the command line and
  /// OFFLOAD_* variables are read (`--help` prints them) and the service runs until SIGTERM. Returns the
  /// exit code.
  int main(int argc, char** argv) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace offload
