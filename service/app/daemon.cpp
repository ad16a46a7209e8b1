// offloadd's wiring: one io_context{1} on this thread is the reactor; everything else hangs off it.
#include "app/daemon.hpp"

#include "core/job_service.hpp"
#include "core/logger.hpp"
#include "core/metrics_registry.hpp"
#include "core/process/command_runner.hpp"
#include "core/process/command_spec.hpp"
#include "core/process/worker_pool.hpp"
#include "core/process_stats.hpp"
#include "core/reactor_monitor.hpp"
#include "core/type_registry.hpp"
#include "net/job_api.hpp"
#include "net/listener.hpp"
#include "net/router.hpp"
#include "net/websocket_session.hpp"

#include <offload/proto/json_parse.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/resource.h>
#include <thread>

namespace offload::app {
namespace asio = boost::asio;

namespace {

// Built-in types plus the operator's commands; a command may not shadow a built-in.
proto::result<bool> load_types(const options& opts, core::type_registry& types) {
  core::register_builtin_types(types);
  if (opts.config_file.empty()) return true;
  std::ifstream file{opts.config_file};
  if (!file) return proto::error{proto::errc::invalid_input, "cannot read " + opts.config_file};
  const std::string text{std::istreambuf_iterator<char>{file}, std::istreambuf_iterator<char>{}};
  auto json = proto::parse_json(text);
  if (!json) return proto::error{proto::errc::invalid_json, opts.config_file + ": " + json.error().message};
  auto commands = core::parse_command_config(*json);
  if (!commands)
    return proto::error{proto::errc::invalid_input, opts.config_file + ": " + commands.error().message};
  for (auto& [name, spec] : *commands) {
    if (types.find(name))
      return proto::error{proto::errc::invalid_input,
                          opts.config_file + ": commands." + name + ": the name of a built-in type"};
    types.add(core::command_job_type(std::make_shared<const core::command_spec>(std::move(spec))));
  }
  return true;
}

// This very binary, for `offloadd worker` children.
std::string self_path() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string{} : path.string();
}

// Gauges read at scrape time from the parts that are not the job service.
void describe_service_metrics(core::metrics_registry& metrics, const net::listener& listener,
                              const net::websocket_endpoints& websockets, const core::worker_pool& workers) {
  using kind = core::metrics_registry::kind;
  metrics.declare("offload_http_requests_total", "HTTP answers by route pattern and status.", kind::counter);
  metrics.declare("offload_http_connections", "Open HTTP connections (WebSocket ones included).",
                  kind::gauge);
  metrics.declare("offload_websocket_sessions", "Open WebSocket sessions.", kind::gauge);
  metrics.declare("offload_process_workers", "Warm process workers by state.", kind::gauge);
  metrics.declare("offload_process_worker_starts_total", "Process workers started (replacements included).",
                  kind::counter);
  metrics.declare("process_resident_memory_bytes", "Resident memory of offloadd.", kind::gauge);
  metrics.declare("process_cpu_seconds_total", "CPU time of offloadd, user and system.", kind::counter);
  metrics.declare("process_open_fds", "Open file descriptors of offloadd.", kind::gauge);
  metrics.declare("process_start_time_seconds", "Start time of offloadd since the Unix epoch.", kind::gauge);
  metrics.on_collect([&listener, &websockets, &workers](core::metrics_registry& m) {
    m.set("offload_http_connections", {}, static_cast<double>(listener.connections()));
    m.set("offload_websocket_sessions", {}, static_cast<double>(websockets.sessions()));
    const auto idle = static_cast<double>(workers.idle());
    m.set("offload_process_workers", core::metrics_registry::label_text({{"state", "idle"}}), idle);
    m.set("offload_process_workers", core::metrics_registry::label_text({{"state", "busy"}}),
          static_cast<double>(workers.live()) - idle);
    m.set("offload_process_worker_starts_total", {}, static_cast<double>(workers.restarts()));
    if (const auto self = core::process_stats::read()) {
      m.set("process_resident_memory_bytes", {}, static_cast<double>(self->resident_bytes));
      m.set("process_cpu_seconds_total", {}, self->cpu_seconds);
      m.set("process_open_fds", {}, static_cast<double>(self->open_fds));
      m.set("process_start_time_seconds", {}, self->start_time_seconds);
    }
  });
}

asio::awaitable<net::api_response> metrics_response(core::metrics_registry& metrics) {
  net::api_response response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = metrics.render();
  co_return response;
}

}  // namespace

int run_daemon(const options& opts) {
  core::set_log_level(opts.log_level);
  // Writing to a pipe whose child has gone must be an error code, not the death of the service.
  std::signal(SIGPIPE, SIG_IGN);
  // Every connection, subscriber and child pipe is a descriptor: use all the hard limit allows.
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }

  std::vector<std::string> tokens;
  try {
    if (!opts.token_file.empty()) tokens = net::bearer_auth::read_token_file(opts.token_file);
  } catch (const std::exception& e) {
    core::log(core::log_level::error, "invalid configuration", {{"what", e.what()}});
    return 2;
  }
  if (!opts.env_token.empty()) tokens.push_back(opts.env_token);
  const net::bearer_auth auth{tokens, opts.metrics_auth};
  tokens.clear();

  asio::io_context reactor{1};
  core::type_registry types;
  if (auto loaded = load_types(opts, types); !loaded) {
    core::log(core::log_level::error, "invalid configuration", {{"what", loaded.error().message}});
    return 2;
  }
  const auto cpus = std::max(1u, std::thread::hardware_concurrency());
  auto config = opts.service;
  if (config.threads == 0) config.threads = cpus;
  auto process = opts.process;
  if (process.workers == 0) process.workers = cpus;
  if (process.worker_program.empty()) process.worker_program = self_path();

  core::metrics_registry metrics;
  core::reactor_monitor lag{reactor.get_executor(), metrics};
  core::job_service jobs{reactor.get_executor(), config, types};
  jobs.attach_metrics(metrics);
  auto workers = std::make_unique<core::worker_pool>(reactor.get_executor(), process);
  const core::worker_pool& worker_stats = *workers;
  workers->start();
  jobs.set_lane(core::slot_pool::worker, std::move(workers));
  jobs.set_lane(core::slot_pool::command,
                std::make_unique<core::command_runner>(reactor.get_executor(), process));
  net::router routes;
  net::job_api api{jobs, routes};
  net::websocket_endpoints websockets{jobs, opts.websocket};
  net::listener listener{reactor.get_executor(), routes, opts.http, &websockets, &auth, &metrics};
  describe_service_metrics(metrics, listener, websockets, worker_stats);
  routes.add("GET", "/metrics", [&metrics](const net::api_request&, const net::route_params&) {
    return metrics_response(metrics);
  });
  api.set_readiness_check([&lag, limit = opts.max_reactor_lag]() -> std::optional<proto::error> {
    const auto worst = std::chrono::duration_cast<std::chrono::milliseconds>(lag.recent_max());
    if (worst <= limit) return std::nullopt;
    return proto::error{proto::errc::overloaded, "the reactor lagged " + std::to_string(worst.count()) +
                                                     " ms in the last 5 s (limit " +
                                                     std::to_string(limit.count()) + " ms)"};
  });
  lag.start();

  net::tcp::endpoint bound;
  try {
    bound = listener.bind(net::listener::parse_endpoint(opts.listen));
  } catch (const std::exception& e) {
    core::log(core::log_level::error, "cannot listen", {{"listen", opts.listen}, {"what", e.what()}});
    return 1;
  }
  const auto host =
      bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
  // Scripts and tests read this line to find an ephemeral port.
  std::printf("listening on http://%s:%u\n", host.c_str(), static_cast<unsigned>(bound.port()));
  std::fflush(stdout);
  core::log(core::log_level::info, "offloadd started",
            {{"listen", host + ":" + std::to_string(bound.port())},
             {"threads", config.threads},
             {"process_workers", process.workers},
             {"max_commands", process.max_commands},
             {"commands", types.all().size() - 5},
             {"max_queued", config.max_queued},
             {"authentication", auth.enabled()}});
  listener.start();

  asio::signal_set signals{reactor, SIGINT, SIGTERM};
  asio::co_spawn(
      reactor,
      [&]() -> asio::awaitable<void> {
        const int signal = co_await signals.async_wait(asio::use_awaitable);
        core::log(core::log_level::info, "draining",
                  {{"signal", signal}, {"grace_seconds", opts.drain.count()}});
        // The listener stays open while draining: load balancers see /readyz turn 503 and clients get
        // `503 draining` instead of refused connections, and can still follow their jobs to the end.
        // A second signal skips the rest of the grace period.
        signals.async_wait([&](boost::system::error_code ec, int) {
          if (ec) return;
          core::log(core::log_level::warn, "second signal: stopping now");
          reactor.stop();
        });
        co_await jobs.async_drain(opts.drain);
        listener.stop();
        lag.stop();
        // Subscribers get every terminal event, then a 1001 close.
        websockets.close_all();
        co_await websockets.async_closed(std::chrono::seconds{2});
        // Let clients that waited on jobs receive their final answers.
        co_await listener.async_quiesce(std::chrono::seconds{2});
        reactor.stop();
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });

  reactor.run();
  jobs.join();
  core::log(core::log_level::info, "offloadd stopped", {{"finished_jobs", jobs.stats().finished}});
  return 0;
}

}  // namespace offload::app
