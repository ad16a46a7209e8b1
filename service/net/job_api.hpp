// The v1 HTTP API: translates requests into job_service calls and job views into responses.
#pragma once

#include "core/job_service.hpp"
#include "net/router.hpp"

#include <functional>
#include <optional>

namespace offload::net {

/// Registers the `/v1/*`, `/healthz` and `/readyz` routes on a router. Must outlive it.
class job_api {
 public:
  /// Longest `?wait=` on `POST /v1/jobs`, in seconds.
  static constexpr double max_wait_seconds = 300;

  job_api(core::job_service& jobs, router& routes);

  /// An extra readiness condition: `/readyz` answers 503 with the error it returns (e.g. `overloaded`).
  void set_readiness_check(std::function<std::optional<proto::error>()> check) {
    readiness_ = std::move(check);
  }

 private:
  asio::awaitable<api_response> submit(const api_request& req);
  asio::awaitable<api_response> get(const route_params& params);
  asio::awaitable<api_response> list(const api_request& req);
  asio::awaitable<api_response> cancel(const route_params& params);
  asio::awaitable<api_response> events(const route_params& params);
  asio::awaitable<api_response> types();
  asio::awaitable<api_response> ready();

  core::job_service& jobs_;
  std::function<std::optional<proto::error>()> readiness_;
};

}  // namespace offload::net
