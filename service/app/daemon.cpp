// offloadd's wiring: one io_context{1} on this thread is the reactor; everything else hangs off it.
#include "app/daemon.hpp"

#include "app/stats_report.hpp"
#include "core/job_service.hpp"
#include "core/logger.hpp"
#include "core/memory_trimmer.hpp"
#include "core/metrics_registry.hpp"
#include "core/process/command_runner.hpp"
#include "core/process/command_spec.hpp"
#include "core/process/worker_pool.hpp"
#include "core/process/worker_spec.hpp"
#include "core/process_stats.hpp"
#include "core/reactor_monitor.hpp"
#include "core/store/memory_repository.hpp"
#include "core/store/redis/redis_repository.hpp"
#include "core/store/sqlite_repository.hpp"
#include "core/thread_lane.hpp"
#include "core/type_registry.hpp"
#include "net/api_routes.hpp"
#include "net/job_api.hpp"
#include "net/listener.hpp"
#include "net/websocket_session.hpp"

#include <offload/asio_support.hpp>
#include <offload/proto/json_parse.hpp>
#include <offload/proto/version.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace offload::app {

namespace {

// What the configuration added to the built-in types.
struct loaded_types {
  std::vector<std::string> commands;  // names
  std::vector<core::worker_spec> workers;
};

// The program's types (built-in ones and any it registered) plus the operator's commands and worker pools;
// none may shadow another.
proto::result<loaded_types> load_types(const options& opts, core::type_registry& types) {
  if (opts.config_file.empty()) return loaded_types{};
  std::ifstream file{opts.config_file};
  if (!file) return proto::error{proto::errc::invalid_input, "cannot read " + opts.config_file};
  const std::string text{std::istreambuf_iterator<char>{file}, std::istreambuf_iterator<char>{}};
  auto json = proto::parse_json(text);
  if (!json) return proto::error{proto::errc::invalid_json, opts.config_file + ": " + json.error().message};
  const auto config_error = [&](const std::string& what) {
    return proto::error{proto::errc::invalid_input, opts.config_file + ": " + what};
  };
  auto commands = core::parse_command_config(*json);
  if (!commands) return config_error(commands.error().message);
  if (auto users = core::resolve_command_users(*commands, opts.command_user))
    return config_error(users->message);
  auto workers = core::parse_worker_config(*json);
  if (!workers) return config_error(workers.error().message);
  loaded_types loaded;
  for (auto& [name, spec] : *commands) {
    if (types.find(name)) return config_error("commands." + name + ": the name of a built-in type");
    loaded.commands.push_back(name);
    types.add(core::command_job_type(std::make_shared<const core::command_spec>(std::move(spec))));
  }
  for (std::size_t i = 0; i < workers->size(); ++i) {
    const auto& pool = (*workers)[i];
    for (const auto& t : pool.types) {
      if (const auto* other = types.find(t.name))
        return config_error("workers." + pool.name + ".types: '" + t.name + "' is already the name of " +
                            (other->command ? "a command" : "a built-in type"));
      types.add(core::worker_job_type(t, i));
    }
  }
  loaded.workers = std::move(workers).value();
  return loaded;
}

// The settings of the built-in pool (`offloadd worker`) and of each configured one.
core::worker_pool_settings builtin_pool(const options& opts) {
  core::worker_pool_settings s;
  s.name = "builtin";
  s.program = opts.process.worker_program;
  s.args = {"worker"};
  s.limits = opts.process.worker_limits;
  s.size = opts.process.workers;
  s.max_jobs = opts.process.worker_max_jobs;
  s.kill_grace = opts.process.kill_grace;
  s.nice = opts.process.nice;
  s.cgroups = opts.process.cgroups;
  return s;
}

core::worker_pool_settings configured_pool(const options& opts, const core::worker_spec& spec) {
  core::worker_pool_settings s;
  s.name = spec.name;
  s.program = spec.argv.front();
  s.args.assign(spec.argv.begin() + 1, spec.argv.end());
  for (const auto& [k, v] : spec.env)
    s.env.push_back(k + "=" + v);
  s.limits = spec.limits;
  s.size = spec.pool;
  s.max_jobs = spec.max_jobs;
  if (spec.timeout_ms) s.timeout = std::chrono::milliseconds{*spec.timeout_ms};
  s.ready_timeout = std::chrono::milliseconds{spec.ready_timeout_ms};
  s.kill_grace = opts.process.kill_grace;
  s.nice = opts.process.nice;
  s.cgroups = opts.process.cgroups;
  for (const auto& t : spec.types)
    s.types.push_back(t.name);
  return s;
}

// This very binary, for `offloadd worker` children.
std::string self_path() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string{} : path.string();
}

// Gauges read at scrape time from the parts that are not the job service.
void describe_service_metrics(core::metrics_registry& metrics, const net::listener& listener,
                              const net::websocket_endpoints& websockets,
                              std::vector<const core::worker_pool*> pools, int cgroup_version) {
  using kind = core::metrics_registry::kind;
  metrics.declare("offload_http_requests_total", "HTTP answers by route pattern and status.", kind::counter);
  metrics.declare("offload_http_connections", "Open HTTP connections (WebSocket ones included).",
                  kind::gauge);
  metrics.declare("offload_websocket_sessions", "Open WebSocket sessions.", kind::gauge);
  metrics.declare("offload_websocket_closes_total",
                  "WebSocket closes the server started, by close code: 1000 end of a job's stream, 1001 "
                  "shutdown, 1003 binary frame, 1009 message too big, 1013 client too slow (it may resume).",
                  kind::counter);
  metrics.declare("offload_process_workers", "Warm worker processes by pool and state.", kind::gauge);
  metrics.declare("offload_process_worker_starts_total",
                  "Worker processes started, by pool (replacements included).", kind::counter);
  metrics.declare("offload_process_worker_crashes_total",
                  "Worker processes that died or broke the protocol, by pool (not those killed for a cancel "
                  "or a timeout).",
                  kind::counter);
  metrics.declare("offload_process_pool_healthy",
                  "1 while a worker pool can start its workers; 0 while it backs off or is stopped.",
                  kind::gauge);
  metrics.declare("offload_log_lines_dropped_total",
                  "Log lines dropped because stderr did not keep up (the log queue holds 1 MiB).",
                  kind::counter);
  metrics.declare("offload_cgroups",
                  "The cgroup version each command job and worker runs under (1 or 2); 0: none, cancel and "
                  "timeout kill the process group only.",
                  kind::gauge);
  metrics.declare("process_resident_memory_bytes", "Resident memory of offloadd.", kind::gauge);
  metrics.declare("process_cpu_seconds_total", "CPU time of offloadd, user and system.", kind::counter);
  metrics.declare("process_open_fds", "Open file descriptors of offloadd.", kind::gauge);
  metrics.declare("process_start_time_seconds", "Start time of offloadd since the Unix epoch.", kind::gauge);
  metrics.on_collect(
      [&listener, &websockets, pools = std::move(pools), cgroup_version](core::metrics_registry& m) {
        using core::metrics_registry;
        m.set("offload_http_connections", {}, static_cast<double>(listener.connections()));
        m.set("offload_websocket_sessions", {}, static_cast<double>(websockets.sessions()));
        for (const auto& [code, n] : websockets.closes())
          m.set("offload_websocket_closes_total",
                metrics_registry::label_text({{"code", std::to_string(code)}}), static_cast<double>(n));
        for (const auto* pool : pools) {
          const auto idle = static_cast<double>(pool->idle());
          const auto& name = pool->name();
          m.set("offload_process_workers", metrics_registry::label_text({{"pool", name}, {"state", "idle"}}),
                idle);
          m.set("offload_process_workers", metrics_registry::label_text({{"pool", name}, {"state", "busy"}}),
                static_cast<double>(pool->live()) - idle);
          m.set("offload_process_worker_starts_total", metrics_registry::label_text({{"pool", name}}),
                static_cast<double>(pool->restarts()));
          m.set("offload_process_worker_crashes_total", metrics_registry::label_text({{"pool", name}}),
                static_cast<double>(pool->crashes()));
          m.set("offload_process_pool_healthy", metrics_registry::label_text({{"pool", name}}),
                pool->trouble() ? 0.0 : 1.0);
        }
        m.set("offload_log_lines_dropped_total", {}, static_cast<double>(core::log_lines_dropped()));
        m.set("offload_cgroups", {}, cgroup_version);
        if (const auto self = core::process_stats::read()) {
          m.set("process_resident_memory_bytes", {}, static_cast<double>(self->resident_bytes));
          m.set("process_cpu_seconds_total", {}, self->cpu_seconds);
          m.set("process_open_fds", {}, static_cast<double>(self->open_fds));
          m.set("process_start_time_seconds", {}, self->start_time_seconds);
        }
      });
}

// The token from OFFLOAD_TOKEN is in `auth` now, the Redis password from OFFLOAD_REDIS_PASSWORD in the
// options: nothing else may read them. /proc/PID/environ shows the environment block the process started
// with, so the values' bytes are overwritten, not just unset; and the process becomes non-dumpable, so a
// same-user child (an allow-listed command) cannot read its /proc files (environ, mem, fd) at all.
void hide_secrets() {
  for (const std::string_view name : {"OFFLOAD_TOKEN", "OFFLOAD_REDIS_PASSWORD"}) {
    for (char** entry = environ; entry && *entry; ++entry) {
      if (std::strncmp(*entry, name.data(), name.size()) == 0 && (*entry)[name.size()] == '=')
        std::memset(*entry + name.size() + 1, 0, std::strlen(*entry + name.size() + 1));
    }
    ::unsetenv(std::string{name}.c_str());
  }
  if (::prctl(PR_SET_DUMPABLE, 0) != 0)
    core::log(core::log_level::warn, "cannot make offloadd non-dumpable", {{"what", std::strerror(errno)}});
}

// The process-wide settings a long-running network service needs before anything else starts.
void prepare_process() {
  // Writing to a pipe whose child has gone must be an error code, not the death of the service.
  std::signal(SIGPIPE, SIG_IGN);
  // Every connection, subscriber and child pipe is a descriptor: use all the hard limit allows.
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
}

// Accepted tokens from the token file and OFFLOAD_TOKEN; only their digests are kept.
proto::result<net::bearer_auth> load_auth(const options& opts) {
  std::vector<std::string> tokens;
  try {
    if (!opts.token_file.empty()) tokens = net::bearer_auth::read_token_file(opts.token_file);
  } catch (const std::exception& e) {
    return proto::error{proto::errc::invalid_input, e.what()};
  }
  if (!opts.env_token.empty()) tokens.push_back(opts.env_token);
  return net::bearer_auth{tokens};
}

// Defaults that depend on the machine, resolved once: one thread and one worker per CPU, this binary as
// the worker program.
options resolve_defaults(options opts) {
  const auto cpus = std::max(1u, std::thread::hardware_concurrency());
  if (opts.service.threads == 0) opts.service.threads = cpus;
  if (opts.process.workers == 0) opts.process.workers = cpus;
  if (opts.process.worker_program.empty()) opts.process.worker_program = self_path();
  return opts;
}

// Everything offloadd runs, wired in dependency order on one reactor.
struct daemon_parts {
  daemon_parts(asio::io_context& reactor, const options& opts, const core::type_registry& types,
               const std::vector<core::worker_spec>& worker_specs, const net::bearer_auth& auth,
               std::unique_ptr<core::job_repository> store)
      : lag{reactor.get_executor(), metrics},
        worker_lane{std::make_unique<core::worker_pool>(reactor.get_executor(), builtin_pool(opts))},
        external_lanes{make_external_pools(reactor, opts, worker_specs)},
        pools{all_pools()},
        jobs{reactor.get_executor(), opts.service, types, make_lanes(reactor, opts), std::move(store)},
        api{jobs},
        websockets{reactor.get_executor(), jobs, opts.websocket},
        routes{net::make_api_routes(api, websockets, metrics, opts.metrics_auth)},
        listener{reactor.get_executor(), routes, opts.http, &auth, &metrics},
        stats{{jobs, lag, {pools.begin(), pools.end()}, listener, websockets}},
        trimmer{reactor.get_executor(), metrics, calm_check(),
                core::memory_trimmer::settings{.min_free = opts.trim_memory}} {
    jobs.attach_metrics(metrics);
    api.set_stats_source([this] { return stats.snapshot(); });
    websockets.watches().set_stats_source([this] { return stats.snapshot(); });
    jobs.set_state_observer([this](const core::job& j) { websockets.watches().job_changed(j); });
    describe_service_metrics(metrics, listener, websockets, {pools.begin(), pools.end()},
                             opts.process.cgroups ? opts.process.cgroups->version() : 0);
    api.set_readiness_check([this, limit = opts.max_reactor_lag]() -> std::optional<proto::error> {
      const auto worst = std::chrono::duration_cast<std::chrono::milliseconds>(lag.recent_max());
      if (worst <= limit) return std::nullopt;
      return proto::error{proto::errc::overloaded, "the reactor lagged " + std::to_string(worst.count()) +
                                                       " ms in the last 5 s (limit " +
                                                       std::to_string(limit.count()) + " ms)"};
    });
    api.set_degradation_check([this] {
      std::vector<std::string> degraded;
      for (const auto* pool : pools)
        if (auto trouble = pool->trouble())
          degraded.push_back("worker pool " + pool->name() + ": " + *trouble);
      return degraded;
    });
  }

  static std::vector<std::unique_ptr<core::worker_pool>> make_external_pools(
      asio::io_context& reactor, const options& opts, const std::vector<core::worker_spec>& specs) {
    std::vector<std::unique_ptr<core::worker_pool>> out;
    for (const auto& spec : specs)
      out.push_back(std::make_unique<core::worker_pool>(reactor.get_executor(), configured_pool(opts, spec)));
    return out;
  }

  // Calm, for the memory trimmer: no job queued and none submitted since the last check.
  std::function<bool()> calm_check() {
    return [this, submitted = std::uint64_t{0}]() mutable {
      const auto now = jobs.stats();
      const bool calm = now.queued == 0 && now.submitted == submitted;
      submitted = now.submitted;
      return calm;
    };
  }

  std::vector<core::worker_pool*> all_pools() {
    std::vector<core::worker_pool*> out{worker_lane.get()};
    for (const auto& p : external_lanes)
      out.push_back(p.get());
    return out;
  }

  // The lanes, built alike and owned by the service; the worker pools' statistics stay readable through
  // `pools`.
  core::job_lanes make_lanes(asio::io_context& reactor, const options& opts) {
    core::job_lanes lanes;
    lanes.worker = std::move(worker_lane);
    lanes.thread = std::make_unique<core::thread_lane>(reactor.get_executor(), opts.service.threads,
                                                       opts.service.lane_nice);
    lanes.command = std::make_unique<core::command_runner>(reactor.get_executor(), opts.process);
    for (auto& p : external_lanes)
      lanes.external.push_back(std::move(p));
    return lanes;
  }

  core::metrics_registry metrics;
  core::reactor_monitor lag;
  // Built before the service that takes them over as its worker lanes.
  std::unique_ptr<core::worker_pool> worker_lane;
  std::vector<std::unique_ptr<core::worker_pool>> external_lanes;
  std::vector<core::worker_pool*> pools;
  core::job_service jobs;
  net::job_api api;
  net::websocket_endpoints websockets;
  net::route_table routes;
  net::listener listener;
  stats_report stats;
  core::memory_trimmer trimmer;
};

// SIGTERM/SIGINT: refuse new jobs, let the running ones finish within the grace period, tell subscribers
// goodbye, let waiting clients get their answers, stop. A second signal stops at once.
// `signals` is made before the port is announced, so that a signal sent as soon as the port is known (a
// supervisor, a test) is caught and queued, not the default action that ends the process at once.
asio::awaitable<void> drain_on_signal(asio::io_context& reactor, daemon_parts& parts,
                                      asio::signal_set& signals, std::chrono::seconds grace) {
  const int signal = co_await signals.async_wait(asio::use_awaitable);
  core::log(core::log_level::info, "draining", {{"signal", signal}, {"grace_seconds", grace.count()}});
  // The listener stays open while draining: load balancers see /readyz turn 503 and clients get
  // `503 draining` instead of refused connections, and can still follow their jobs to the end.
  signals.async_wait([&reactor](boost::system::error_code ec, int) {
    if (ec) return;
    core::log(core::log_level::warn, "second signal: stopping now");
    reactor.stop();
  });
  co_await parts.jobs.async_drain(grace);
  parts.listener.stop();
  parts.lag.stop();
  parts.trimmer.stop();
  // Subscribers get every terminal event, then a 1001 close.
  parts.websockets.close_all();
  const auto close_limit = std::chrono::seconds{2};
  co_await parts.websockets.async_closed(close_limit);
  // Let clients that waited on jobs receive their final answers.
  co_await parts.listener.async_quiesce(close_limit);
  reactor.stop();
}

// Binds, then prints the line scripts and tests read to find an ephemeral port. Nothing on failure.
std::optional<std::string> bind_and_announce(net::listener& listener, const std::string& listen) {
  net::tcp::endpoint bound;
  try {
    bound = listener.bind(net::listener::parse_endpoint(listen));
  } catch (const boost::system::system_error& e) {
    // The reason alone ("Address already in use"), not Boost's source location.
    core::log(core::log_level::error, "cannot listen on " + listen + ": " + e.code().message(),
              {{"listen", listen}});
    return std::nullopt;
  } catch (const std::exception& e) {
    core::log(core::log_level::error, "cannot listen on " + listen + ": " + e.what(), {{"listen", listen}});
    return std::nullopt;
  }
  const auto host =
      bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
  std::printf("listening on http://%s:%u\n", host.c_str(), static_cast<unsigned>(bound.port()));
  std::fflush(stdout);
  return host + ":" + std::to_string(bound.port());
}

// `--retain-bytes` unless given. On disk a small job is about 700 bytes, so the count bound (100,000) comes
// first for ordinary jobs. In memory a small job is about 1.7 KiB (bench) and 100,000 of them 170 MB; 1 GiB
// leaves room for larger results while bounding what retained jobs can take.
constexpr std::uint64_t sqlite_retain_bytes = 8ull << 30;
constexpr std::uint64_t memory_retain_bytes = 1ull << 30;

// A node's name in Redis when the operator gives none: host name and process id (unique while it runs).
std::string default_node_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "offloadd");
  return std::string{host} + "-" + std::to_string(::getpid());
}

// The job store the options ask for; for SQLite, opened (directory, lock, schema) before anything runs.
proto::result<std::unique_ptr<core::job_repository>> open_store(asio::io_context& reactor,
                                                                const options& opts) {
  if (opts.store == options::store_kind::memory)
    return std::unique_ptr<core::job_repository>{std::make_unique<core::memory_repository>(
        opts.service.retain_jobs, opts.service.retain_for, opts.retain_bytes.value_or(memory_retain_bytes))};
  if (opts.store == options::store_kind::redis) {
    core::redis_options redis;
    redis.endpoint = opts.redis;
    if (redis.endpoint.password.empty()) redis.endpoint.password = opts.env_redis_password;
    redis.node = opts.node_name.empty() ? default_node_name() : opts.node_name;
    redis.lease = opts.lease;
    redis.retain_jobs = opts.service.retain_jobs;
    redis.retain_for = opts.service.retain_for;
    return std::unique_ptr<core::job_repository>{
        std::make_unique<core::redis_repository>(reactor.get_executor(), std::move(redis))};
  }
  core::sqlite_options sqlite;
  sqlite.dir = opts.data_dir;
  sqlite.full_sync = opts.full_sync;
  sqlite.retain_jobs = opts.service.retain_jobs;
  sqlite.retain_for = opts.service.retain_for;
  sqlite.retain_bytes = opts.retain_bytes.value_or(sqlite_retain_bytes);
  auto opened = core::sqlite_repository::open(reactor.get_executor(), std::move(sqlite));
  if (!opened) return opened.error();
  return std::unique_ptr<core::job_repository>{std::move(*opened)};
}

// Takes over the jobs a previous run stored, before the port opens: the reactor runs only this until done.
proto::result<std::size_t> recover_jobs(asio::io_context& reactor, core::job_service& jobs) {
  std::optional<proto::result<std::size_t>> outcome;
  asio::co_spawn(reactor, jobs.async_recover(),
                 [&outcome](std::exception_ptr e, proto::result<std::size_t> r) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& what) {
                       r = proto::error{proto::errc::internal, what.what()};
                     }
                   }
                   outcome = std::move(r);
                 });
  while (!outcome && reactor.run_one() > 0) {
  }
  return outcome.value_or(proto::error{proto::errc::internal, "recovery did not finish"});
}

// Per-job cgroups when the host allows them (`--cgroups`): null when there are none. An error only when the
// operator asked for one version and it cannot be used.
proto::result<std::shared_ptr<core::cgroup_tree>> open_cgroups(core::cgroup_mode mode) {
  auto tree = core::cgroup_tree::open(mode);
  if (!tree) {
    if (mode == core::cgroup_mode::v1 || mode == core::cgroup_mode::v2)
      return proto::error{proto::errc::invalid_input, "--cgroups: " + tree.error().message};
    if (mode == core::cgroup_mode::automatic)
      core::log(core::log_level::warn,
                "no per-job cgroups: cancel and timeout kill a job's process group only (a process that "
                "leaves it survives), and limits.memory_mb and limits.pids are not enforced",
                {{"why", tree.error().message}});
    return std::shared_ptr<core::cgroup_tree>{};
  }
  const auto& t = **tree;
  core::log(core::log_level::info, "per-job cgroups",
            {{"version", t.version()},
             {"location", t.location()},
             {"memory_limits", t.limits_memory()},
             {"pids_limits", t.limits_pids()}});
  if (t.swept_groups() > 0)
    core::log(core::log_level::warn, "removed the cgroups of an offloadd that stopped without doing so",
              {{"cgroups", t.swept_groups()}, {"processes_killed", t.swept_processes()}});
  return std::move(*tree);
}

// A warning for each configured memory_mb or pids limit that `cgroups` cannot apply.
void warn_unenforced_limits(const core::cgroup_tree* cgroups, const options& opts,
                            const core::type_registry& types, const loaded_types& loaded) {
  const auto check = [cgroups](const std::string& where, const core::resource_limits& limits) {
    if (limits.memory_mb && !(cgroups && cgroups->limits_memory()))
      core::log(core::log_level::warn, "a memory limit cannot be enforced without the memory cgroup",
                {{"where", where + ".limits.memory_mb"}});
    if (limits.pids && !(cgroups && cgroups->limits_pids()))
      core::log(core::log_level::warn, "a pids limit cannot be enforced without the pids cgroup",
                {{"where", where + ".limits.pids"}});
  };
  check("--worker", opts.process.worker_limits);
  for (const auto& name : loaded.commands)
    if (const auto* type = types.find(name); type && type->command)
      check("commands." + name, type->command->limits);
  for (const auto& pool : loaded.workers)
    check("workers." + pool.name, pool.limits);
}

// The reactor. Its `shutdown` destroys what is still pending — the suspended coroutines of sessions that
// were open when it stopped (a client that never answered its 1001 close) — while the parts those frames
// refer to still exist; left to its destructor, that happened after them (a use after free TSan found).
struct reactor_context : asio::io_context {
  using asio::execution_context::shutdown;
  using asio::io_context::io_context;
};

// Runs the service to its end; the exit code.
int serve(const options& given, const core::type_registry& program_types) {
  core::set_log_level(given.log_level);
  prepare_process();
  auto opts = resolve_defaults(given);
  const auto auth = load_auth(opts);
  core::type_registry types = program_types;
  const auto loaded = load_types(opts, types);
  hide_secrets();
  if (!auth || !loaded) {
    const auto& why = !auth ? auth.error().message : loaded.error().message;
    core::log(core::log_level::error, "invalid configuration", {{"what", why}});
    return 2;
  }
  auto cgroups = open_cgroups(opts.cgroups);
  if (!cgroups) {
    core::log(core::log_level::error, "invalid configuration", {{"what", cgroups.error().message}});
    return 2;
  }
  opts.process.cgroups = *cgroups;
  warn_unenforced_limits(opts.process.cgroups.get(), opts, types, *loaded);

  reactor_context reactor{1};
  auto store = open_store(reactor, opts);
  if (!store) {
    core::log(core::log_level::error, "cannot open the job store", {{"what", store.error().message}});
    return 2;
  }
  const auto store_name = (*store)->describe();
  daemon_parts parts{reactor, opts, types, loaded->workers, *auth, std::move(*store)};
  const auto recovered = recover_jobs(reactor, parts.jobs);
  if (!recovered) {
    core::log(core::log_level::error, "cannot read the job store",
              {{"store", store_name}, {"what", recovered.error().message}});
    parts.jobs.join();
    return 2;
  }
  parts.lag.start();
  parts.trimmer.start();
  asio::signal_set signals{reactor, SIGINT, SIGTERM};
  const auto address = bind_and_announce(parts.listener, opts.listen);
  if (!address) return 1;
  nlohmann::json pool_names = nlohmann::json::array();
  for (const auto& pool : loaded->workers)
    pool_names.push_back(pool.name);
  core::log(core::log_level::info, "offloadd started",
            {{"listen", *address},
             {"version", proto::version()},
             {"pid", ::getpid()},
             {"threads", opts.service.threads},
             {"process_workers", opts.process.workers},
             {"max_commands", opts.process.max_commands},
             {"commands", loaded->commands},
             {"worker_pools", pool_names},
             {"max_queued", opts.service.max_queued},
             {"store", store_name},
             {"recovered_jobs", *recovered},
             {"authentication", auth->enabled()}});
  for (auto* pool : parts.pools)
    pool->start();
  parts.listener.start();
  asio::co_spawn(reactor, drain_on_signal(reactor, parts, signals, opts.drain), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });

  reactor.run();
  parts.jobs.join();
  // A look still under way reports to the reactor: wait for it, so that the shutdown drops the report.
  parts.trimmer.join();
  reactor.shutdown();
  core::log(core::log_level::info, "offloadd stopped", {{"finished_jobs", parts.jobs.stats().finished}});
  return 0;
}

}  // namespace

int run_daemon(const options& opts, const core::type_registry& types) {
  const int code = serve(opts, types);
  // Log lines still queued (the last ones say why it stopped) get a moment to reach stderr.
  core::flush_logs(std::chrono::seconds{2});
  return code;
}

}  // namespace offload::app
