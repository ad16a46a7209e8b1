// offloadd's configuration: command-line flags over `OFFLOAD_*` environment variables over defaults.
#pragma once

#include "core/logger.hpp"
#include "core/process/process_config.hpp"
#include "core/service_config.hpp"
#include "core/store/redis/redis_endpoint.hpp"
#include "net/http_limits.hpp"
#include "net/websocket_limits.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace offload::app {

struct options {
  /// `HOST:PORT` to listen on; port 0 picks a free port.
  std::string listen = "127.0.0.1:8080";
  core::service_config service;
  net::http_limits http;
  net::websocket_limits websocket;
  /// Process lane settings (worker count, command concurrency, kill grace, …).
  core::process_config process;
  /// JSON file with the command allow-list (`{"commands":{…}}`); empty means no commands.
  std::string config_file;
  /// `--command-user`: the account commands run as unless their entry names one (empty: offloadd's).
  std::string command_user;
  /// On SIGTERM/SIGINT: how long running and queued jobs may still take before they are cancelled.
  std::chrono::seconds drain{30};
  core::log_level log_level = core::log_level::info;
  /// File of accepted bearer tokens (one per line); empty: none from a file.
  std::string token_file;
  /// A token from `OFFLOAD_TOKEN` (environment only, so it never shows in a process listing).
  std::string env_token;
  /// `/metrics` needs a token too (when tokens are configured).
  bool metrics_auth = false;
  /// `/readyz` answers 503 `overloaded` while the reactor's lag over the last 5 s exceeds this.
  std::chrono::milliseconds max_reactor_lag{100};
  /// `--trim-memory`: freed heap memory given back to the kernel once no job is queued or submitted and at
  /// least this much is free (see core::memory_trimmer); 0: never.
  std::uint64_t trim_memory = std::uint64_t{8} << 20;
  /// Where jobs are kept.
  enum class store_kind { sqlite, memory, redis };
  store_kind store = store_kind::sqlite;
  /// `--store redis://…`: the Redis every node of the cluster shares.
  core::redis_endpoint redis;
  /// The Redis password from `OFFLOAD_REDIS_PASSWORD` (environment only), used when the URL has none.
  std::string env_redis_password;
  /// How long a node holds a job it claimed from Redis without renewing it (`--lease-ms`).
  std::chrono::milliseconds lease{10000};
  /// This node's name in Redis (`--node-name`); empty: host name and process id.
  std::string node_name;
  /// The SQLite store's directory.
  std::string data_dir = "offload-data";
  /// `--sync full`: every commit survives power loss (`normal`: survives a crash of offloadd).
  bool full_sync = false;
  /// Bytes of finished jobs (spec and event log) the SQLite store keeps; the oldest go first beyond it.
  /// `--retain-bytes`; unset: 8 GiB on disk for SQLite, 1 GiB in memory for `--store memory`.
  std::optional<std::uint64_t> retain_bytes;
  /// `--cgroups`: per-job cgroups for commands and workers.
  core::cgroup_mode cgroups = core::cgroup_mode::automatic;
};

/// What the command line asked for.
struct parsed_options {
  options opts;
  /// `--help` was given: print `usage()` and exit 0.
  bool help = false;
  /// `--version` was given: print the version and exit 0.
  bool version = false;
  /// Non-empty when the arguments are invalid: print it and exit 2.
  std::string error;
};

/// Reads environment variable `name`, or nothing.
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

/// Parses `args` (without the program name). Flags are `--name value` or `--name=value`;
/// each also reads `OFFLOAD_NAME` (upper-case, `-` → `_`), which a flag overrides.
parsed_options parse_options(std::span<const std::string_view> args, const env_lookup& env);

/// The `--help` text, listing every option, its variable and its default.
std::string usage();

}  // namespace offload::app
