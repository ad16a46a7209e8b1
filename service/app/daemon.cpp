// offloadd's wiring: one io_context{1} on this thread is the reactor; everything else hangs off it.
#include "app/daemon.hpp"

#include "core/job_service.hpp"
#include "core/logger.hpp"
#include "core/type_registry.hpp"
#include "net/job_api.hpp"
#include "net/listener.hpp"
#include "net/router.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <thread>

namespace offload::app {
namespace asio = boost::asio;

int run_daemon(const options& opts) {
  core::set_log_level(opts.log_level);

  asio::io_context reactor{1};
  core::type_registry types;
  core::register_builtin_types(types);
  auto config = opts.service;
  if (config.threads == 0) config.threads = std::max(1u, std::thread::hardware_concurrency());
  core::job_service jobs{reactor.get_executor(), config, types};
  net::router routes;
  net::job_api api{jobs, routes};
  net::listener listener{reactor.get_executor(), routes, opts.http};

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
             {"max_queued", config.max_queued}});
  listener.start();

  asio::signal_set signals{reactor, SIGINT, SIGTERM};
  asio::co_spawn(
      reactor,
      [&]() -> asio::awaitable<void> {
        const int signal = co_await signals.async_wait(asio::use_awaitable);
        core::log(core::log_level::info, "draining",
                  {{"signal", signal}, {"grace_seconds", opts.drain.count()}});
        listener.stop();
        // A second signal skips the rest of the grace period.
        signals.async_wait([&](boost::system::error_code ec, int) {
          if (ec) return;
          core::log(core::log_level::warn, "second signal: stopping now");
          reactor.stop();
        });
        co_await jobs.async_drain(opts.drain);
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
