// Table-driven option parsing: one row per option gives its name, doc, default and how to apply it.
#include "app/options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <vector>

namespace offload::app {
namespace {

// Parses an unsigned count or size; `k`/`m`/`g` suffixes multiply by 1024^n when `sizes` is set.
std::optional<std::uint64_t> parse_number(std::string_view text, bool sizes, std::uint64_t min,
                                          std::uint64_t max) {
  std::uint64_t multiplier = 1;
  if (sizes && !text.empty()) {
    switch (std::tolower(static_cast<unsigned char>(text.back()))) {
      case 'k':
        multiplier = 1024;
        break;
      case 'm':
        multiplier = 1024 * 1024;
        break;
      case 'g':
        multiplier = 1024 * 1024 * 1024;
        break;
      default:
        break;
    }
    if (multiplier != 1) text.remove_suffix(1);
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  if (value > std::numeric_limits<std::uint64_t>::max() / multiplier) return std::nullopt;
  value *= multiplier;
  if (value < min || value > max) return std::nullopt;
  return value;
}

struct option_spec {
  std::string_view name;
  std::string_view doc;
  std::string_view default_text;
  // Applies a value; returns an error message or nothing.
  std::function<std::optional<std::string>(options&, std::string_view)> apply;
};

// A numeric option writing into `field` through `set`.
template <class Set>
option_spec number_option(std::string_view name, std::string_view doc, std::string_view default_text,
                          bool sizes, std::uint64_t min, std::uint64_t max, Set set) {
  return {name, doc, default_text, [=](options& o, std::string_view v) -> std::optional<std::string> {
            const auto n = parse_number(v, sizes, min, max);
            if (!n)
              return "--" + std::string{name} + ": expected " + (sizes ? "a size" : "an integer") + " from " +
                     std::to_string(min) + " to " + std::to_string(max) + ", got '" + std::string{v} + "'";
            set(o, *n);
            return std::nullopt;
          }};
}

const std::vector<option_spec>& option_table() {
  // clang-format 14 splits the trailing return types of this table's lambdas across lines.
  // clang-format off
  static const std::vector<option_spec> table{
      {"listen", "address to listen on, HOST:PORT ([v6]:PORT); port 0 picks a free port", "127.0.0.1:8080",
       [](options& o, std::string_view v) -> std::optional<std::string> {
         o.listen = std::string{v};
         return std::nullopt;
       }},
      number_option("threads", "threads of the thread lane (0 = one per CPU)", "0", false, 0, 1024,
                    [](options& o, std::uint64_t n) { o.service.threads = n; }),
      number_option(
          "lane-nice",
          "niceness added to the thread lane's threads, process workers and commands, so the reactor "
          "stays responsive when they saturate the CPUs (0 = same priority)",
          "10", false, 0, 19,
          [](options& o, std::uint64_t n) {
            o.service.lane_nice = static_cast<int>(n);
            o.process.nice = static_cast<int>(n);
          }),
      number_option("max-queued",
                    "jobs waiting per lane (thread, process) before that lane's submissions get 429", "10000",
                    false, 1, 100'000'000, [](options& o, std::uint64_t n) { o.service.max_queued = n; }),
      number_option("max-body", "largest request body in bytes (suffix k, m)", "1m", true, 1024,
                    1024ull << 30, [](options& o, std::uint64_t n) { o.http.max_body_bytes = n; }),
      number_option("retain-seconds", "how long finished jobs are kept", "3600", false, 0, 365ull * 24 * 3600,
                    [](options& o, std::uint64_t n) { o.service.retain_for = std::chrono::seconds{n}; }),
      number_option("retain-jobs", "how many finished jobs are kept (oldest evicted first)", "100000", false,
                    0, 100'000'000, [](options& o, std::uint64_t n) { o.service.retain_jobs = n; }),
      number_option(
          "retain-bytes",
          "bytes of finished jobs kept: on disk for SQLite (spec and event log; default 8g), in memory for "
          "--store memory (estimated; default 1g); beyond it the oldest go (suffix k, m, g)",
          "8g (sqlite), 1g (memory)", true, 1024 * 1024, 1ull << 50,
          [](options& o, std::uint64_t n) { o.retain_bytes = n; }),
      number_option("drain-seconds", "on SIGTERM/SIGINT, time left to jobs before they are cancelled", "30",
                    false, 0, 3600, [](options& o, std::uint64_t n) { o.drain = std::chrono::seconds{n}; }),
      number_option("ws-max-queued-bytes",
                    "bytes queued for one WebSocket client before it is closed with 1013 (suffix k, m)", "8m",
                    true, 1024, 1ull << 32,
                    [](options& o, std::uint64_t n) { o.websocket.max_queued_bytes = n; }),
      number_option("ws-max-total-queued-bytes",
                    "bytes queued for all WebSocket clients together; past it the client whose backlog grows "
                    "is closed with 1013 (suffix k, m, g)",
                    "256m", true, 1024, 1ull << 40,
                    [](options& o, std::uint64_t n) { o.websocket.max_total_queued_bytes = n; }),
      number_option("ws-idle-seconds",
                    "WebSocket keep-alive: a ping after half of this without traffic; a client that does not "
                    "answer within it is closed",
                    "40", false, 2, 3600,
                    [](options& o, std::uint64_t n) { o.websocket.idle_timeout = std::chrono::seconds{n}; }),
      number_option("ws-max-subscriptions", "jobs one /v1/ws socket may follow at once", "1000", false, 1,
                    1000000, [](options& o, std::uint64_t n) { o.websocket.max_subscriptions = n; }),
      number_option("max-log-bytes",
                    "output logged per job; later output is replaced by one output_truncated event", "16m",
                    true, 0, 1ull << 36, [](options& o, std::uint64_t n) { o.service.max_log_bytes = n; }),
      number_option(
          "max-result-bytes",
          "largest result a job may return (as JSON); a larger one fails the job with result_too_large",
          "16m", true, 1024, 1ull << 34, [](options& o, std::uint64_t n) { o.service.max_result_bytes = n; }),
      number_option("idle-timeout", "seconds a kept-alive connection may wait for its next request", "30",
                    false, 1, 3600,
                    [](options& o, std::uint64_t n) { o.http.idle_timeout = std::chrono::seconds{n}; }),
      number_option("header-timeout", "seconds from a request's first byte to the end of its headers", "10",
                    false, 1, 600,
                    [](options& o, std::uint64_t n) { o.http.header_timeout = std::chrono::seconds{n}; }),
      number_option("body-timeout", "seconds allowed to receive a request body", "30", false, 1, 3600,
                    [](options& o, std::uint64_t n) { o.http.body_timeout = std::chrono::seconds{n}; }),
      number_option("write-timeout", "seconds allowed to send a response before the client is dropped", "30",
                    false, 1, 3600,
                    [](options& o, std::uint64_t n) { o.http.write_timeout = std::chrono::seconds{n}; }),
      number_option("max-connections", "open connections beyond which new ones are closed", "10000", false, 1,
                    1'000'000, [](options& o, std::uint64_t n) { o.http.max_connections = n; }),
      {"config", "JSON file with the command allow-list and worker pools, {\"commands\":{…},\"workers\":{…}}",
       "(none)",
       [](options& o, std::string_view v) -> std::optional<std::string> {
         o.config_file = std::string{v};
         return std::nullopt;
       }},
      number_option("process-workers",
                    "warm worker processes for built-in types in the process lane (0 = one per CPU)", "0",
                    false, 0, 1024, [](options& o, std::uint64_t n) { o.process.workers = n; }),
      number_option("worker-max-jobs", "jobs a worker runs before it is replaced", "10000", false, 1,
                    100'000'000, [](options& o, std::uint64_t n) { o.process.worker_max_jobs = n; }),
      number_option("worker-address-space-mb", "address-space limit of each built-in worker (RLIMIT_AS, MiB)",
                    "none", false, 16, 1ull << 30,
                    [](options& o, std::uint64_t n) { o.process.worker_limits.address_space_mb = n; }),
      number_option(
          "worker-cpu-seconds",
          "CPU seconds each built-in worker may use over its life (RLIMIT_CPU; it is recycled after "
          "--worker-max-jobs anyway)",
          "none", false, 1, 1ull << 31,
          [](options& o, std::uint64_t n) { o.process.worker_limits.cpu_seconds = n; }),
      number_option("worker-open-files", "open descriptors of each built-in worker (RLIMIT_NOFILE)", "none",
                    false, 16, 1 << 20,
                    [](options& o, std::uint64_t n) { o.process.worker_limits.open_files = n; }),
      number_option("worker-processes",
                    "processes of the built-in workers' user (RLIMIT_NPROC; not enforced for root)", "none",
                    false, 1, 1 << 22,
                    [](options& o, std::uint64_t n) { o.process.worker_limits.processes = n; }),
      number_option("worker-memory-mb",
                    "memory of each built-in worker's cgroup (MiB; page cache included; needs cgroups)", "none",
                    false, 16, 1ull << 30,
                    [](options& o, std::uint64_t n) { o.process.worker_limits.memory_mb = n; }),
      number_option("worker-pids", "processes and threads in each built-in worker's cgroup (needs cgroups)",
                    "none", false, 1, 1 << 22,
                    [](options& o, std::uint64_t n) { o.process.worker_limits.pids = n; }),
      {"cgroups",
       "per-job cgroups for commands and workers (memory and pids limits, whole-tree kills): auto uses them "
       "when the host allows it; v1 or v2 insist on one; off never",
       "auto",
       [](options& o, std::string_view v) -> std::optional<std::string> {
         if (v == "auto")
           o.cgroups = core::cgroup_mode::automatic;
         else if (v == "v1")
           o.cgroups = core::cgroup_mode::v1;
         else if (v == "v2")
           o.cgroups = core::cgroup_mode::v2;
         else if (v == "off")
           o.cgroups = core::cgroup_mode::off;
         else
           return "--cgroups: expected auto, v1, v2 or off, got '" + std::string{v} + "'";
         return std::nullopt;
       }},
      number_option("max-commands", "command jobs running at once (one child process each)", "16", false, 1,
                    4096, [](options& o, std::uint64_t n) { o.process.max_commands = n; }),
      number_option("kill-grace-ms",
                    "between SIGTERM and SIGKILL when a process job is cancelled or times out", "2000", false,
                    0, 600'000,
                    [](options& o, std::uint64_t n) { o.process.kill_grace = std::chrono::milliseconds{n}; }),
      {"worker-program", "program started as `PROGRAM worker` for process-lane workers", "(this offloadd)",
       [](options& o, std::string_view v) -> std::optional<std::string> {
         o.process.worker_program = std::string{v};
         return std::nullopt;
       }},
      {"command-user",
       "run command jobs as this user (name or uid) unless a command names its own \"user\"; needs root",
       "(offloadd's own user)",
       [](options& o, std::string_view v) -> std::optional<std::string> {
         if (v.empty()) return "must be a user name or a numeric uid";
         o.command_user = std::string{v};
         return std::nullopt;
       }},
      {"work-root", "directory under which command jobs get private working directories", "(system temp dir)",
       [](options& o, std::string_view v) -> std::optional<std::string> {
         o.process.work_root = std::string{v};
         return std::nullopt;
       }},
      {"token-file",
       "file of bearer tokens, one per line; then /v1/* needs 'Authorization: Bearer TOKEN' "
       "(OFFLOAD_TOKEN adds one token from the environment)",
       "(none: no authentication)",
       [](options& o, std::string_view v) -> std::optional<std::string> {
         o.token_file = std::string{v};
         return std::nullopt;
       }},
      {"metrics-auth", "true: /metrics needs a token too (when tokens are configured)", "false",
       [](options& o, std::string_view v) -> std::optional<std::string> {
         if (v != "true" && v != "false") return "--metrics-auth: expected true or false";
         o.metrics_auth = v == "true";
         return std::nullopt;
       }},
      number_option("max-reactor-lag-ms",
                    "/readyz answers 503 overloaded while the reactor lagged more than this in the last 5 s",
                    "100", false, 1, 60'000,
                    [](options& o, std::uint64_t n) { o.max_reactor_lag = std::chrono::milliseconds{n}; }),
      number_option("trim-memory",
                    "once no job is queued or submitted and at least this much of the heap is free (after a "
                    "burst), give it back to the kernel; suffix k, m, g; 0 = never",
                    "8m", true, 0, 1ull << 40, [](options& o, std::uint64_t n) { o.trim_memory = n; }),
      {"store",
       "where jobs are kept: sqlite (in --data-dir; they survive a restart), memory (lost when offloadd "
       "stops), or redis://[user@]HOST[:PORT][/DB], shared by every node of a cluster (password from "
       "OFFLOAD_REDIS_PASSWORD)",
       "sqlite",
       [](options& o, std::string_view v) -> std::optional<std::string> {
         if (v == "sqlite") {
           o.store = options::store_kind::sqlite;
         } else if (v == "memory") {
           o.store = options::store_kind::memory;
         } else if (v.starts_with("redis://")) {
           auto endpoint = core::redis_endpoint::parse(v);
           if (!endpoint) return endpoint.error().message;
           o.store = options::store_kind::redis;
           o.redis = std::move(*endpoint);
         } else {
           return "--store: expected sqlite, memory or redis://HOST:PORT, got '" + std::string{v} + "'";
         }
         return std::nullopt;
       }},
      number_option("lease-ms",
                    "with --store redis://: how long a node holds a claimed job without renewing it (it renews "
                    "every third of this); a node silent for longer loses its jobs to the others",
                    "10000", false, 300, 600'000,
                    [](options& o, std::uint64_t n) { o.lease = std::chrono::milliseconds{n}; }),
      {"node-name", "with --store redis://: this node's name in Redis (unique per process)",
       "HOSTNAME-PID",
       [](options& o, std::string_view v) -> std::optional<std::string> {
         if (v.empty() || v.size() > 128 || v.find_first_of(" \t\r\n") != std::string_view::npos)
           return "--node-name: expected 1 to 128 characters without spaces";
         o.node_name = std::string{v};
         return std::nullopt;
       }},
      {"data-dir", "directory of the SQLite store (offload.db, offload.lock); created when missing",
       "./offload-data",
       [](options& o, std::string_view v) -> std::optional<std::string> {
         if (v.empty()) return "--data-dir: expected a directory";
         o.data_dir = std::string{v};
         return std::nullopt;
       }},
      {"sync",
       "normal: an acknowledged job survives a crash of offloadd; full: it also survives a power loss "
       "(each group commit waits for the disk)",
       "normal",
       [](options& o, std::string_view v) -> std::optional<std::string> {
         if (v != "normal" && v != "full")
           return "--sync: expected normal or full, got '" + std::string{v} + "'";
         o.full_sync = v == "full";
         return std::nullopt;
       }},
      {"log-level", "debug, info, warn or error", "info",
       [](options& o, std::string_view v) -> std::optional<std::string> {
         const auto level = core::log_level_from_string(v);
         if (!level) return "--log-level: expected debug, info, warn or error, got '" + std::string{v} + "'";
         o.log_level = *level;
         return std::nullopt;
       }},
  };
  // clang-format on
  return table;
}

std::string env_name(std::string_view option) {
  std::string name = "OFFLOAD_";
  for (const char c : option)
    name.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  return name;
}

const option_spec* find_option(std::string_view name) {
  const auto& table = option_table();
  const auto it =
      std::find_if(table.begin(), table.end(), [name](const option_spec& o) { return o.name == name; });
  return it == table.end() ? nullptr : &*it;
}

}  // namespace

parsed_options parse_options(std::span<const std::string_view> args, const env_lookup& env) {
  parsed_options out;
  if (const auto token = env("OFFLOAD_TOKEN")) out.opts.env_token = *token;
  if (const auto password = env("OFFLOAD_REDIS_PASSWORD")) out.opts.env_redis_password = *password;
  for (const auto& spec : option_table()) {
    if (const auto value = env(env_name(spec.name))) {
      if (auto err = spec.apply(out.opts, *value)) {
        out.error = env_name(spec.name) + " (" + *err + ")";
        return out;
      }
    }
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      return out;
    }
    if (arg == "--version") {
      out.version = true;
      return out;
    }
    if (!arg.starts_with("--")) {
      out.error = "unexpected argument '" + std::string{arg} + "'";
      return out;
    }
    arg.remove_prefix(2);
    std::string_view value;
    bool has_value = false;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    const auto* spec = find_option(arg);
    if (!spec) {
      out.error = "unknown option '--" + std::string{arg} + "' (see --help)";
      return out;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        out.error = "option '--" + std::string{arg} + "' needs a value";
        return out;
      }
      value = args[++i];
    }
    if (auto err = spec->apply(out.opts, value)) {
      out.error = *err;
      return out;
    }
  }
  return out;
}

std::string usage() {
  std::string text =
      "Usage: offloadd [OPTIONS]\n"
      "Offload job service: accepts jobs over HTTP and runs them off the event loop.\n\n"
      "Every option can also be set by its environment variable; a flag overrides the variable.\n\n"
      "Options:\n";
  for (const auto& o : option_table()) {
    text += "  --" + std::string{o.name} + " VALUE\n      " + std::string{o.doc} + "\n      env " +
            env_name(o.name) + ", default " + std::string{o.default_text} + "\n";
  }
  text += "  --help\n      print this help and exit\n";
  text += "  --version\n      print the version and exit\n";
  text +=
      "\nEnvironment only:\n  OFFLOAD_TOKEN\n      one accepted bearer token (kept out of argv on purpose)\n"
      "  OFFLOAD_REDIS_PASSWORD\n      the Redis password when --store redis://… names none (kept out of "
      "argv)\n";
  return text;
}

}  // namespace offload::app
