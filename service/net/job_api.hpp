// The v1 HTTP API: translates requests into job_service calls and job views into responses.
#pragma once

#include "core/job_service.hpp"
#include "net/route_table.hpp"

#include <functional>
#include <optional>

namespace offload::net {

/// The handlers of the job routes, `/v1/types`, `/healthz` and `/readyz` (net/api_routes.cpp lists them).
class job_api {
 public:
  /// Longest `?wait=` on `POST /v1/jobs`, in seconds.
  static constexpr double max_wait_seconds = 300;

  explicit job_api(core::job_service& jobs) : jobs_(jobs) {}

  /// What works only in part; `/readyz` lists it under `degraded` and stays 200.
  void set_degradation_check(std::function<std::vector<std::string>()> check) {
    degradation_ = std::move(check);
  }
  /// An extra readiness condition: `/readyz` answers 503 with the error it returns (e.g. `overloaded`).
  void set_readiness_check(std::function<std::optional<proto::error>()> check) {
    readiness_ = std::move(check);
  }

  /// Where `GET /v1/stats` reads the server's statistics (app/stats_report.hpp).
  void set_stats_source(std::function<nlohmann::json()> source) { stats_ = std::move(source); }

  /// `POST /v1/jobs[?wait=S]`.
  asio::awaitable<api_response> submit(const api_request& req);
  /// `GET /v1/jobs/{id}[?input=true]`.
  asio::awaitable<api_response> get(const api_request& req, const route_params& params);
  /// `GET /v1/jobs?state=&type=&limit=&after=`.
  asio::awaitable<api_response> list(const api_request& req);
  /// `DELETE /v1/jobs/{id}`.
  asio::awaitable<api_response> cancel(const route_params& params);
  /// `GET /v1/types`.
  asio::awaitable<api_response> types();
  /// `GET /v1/stats`.
  asio::awaitable<api_response> stats();
  /// `GET /healthz`: alive, straight from the reactor.
  asio::awaitable<api_response> health();
  /// `GET /readyz`: accepting jobs, or 503 with the reason.
  asio::awaitable<api_response> ready();

 private:
  core::job_service& jobs_;
  std::function<std::optional<proto::error>()> readiness_;
  std::function<std::vector<std::string>()> degradation_;
  std::function<nlohmann::json()> stats_;
};

}  // namespace offload::net
