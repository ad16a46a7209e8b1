// Helpers shared by integration tests: submit a job, wait for a condition on it with a deadline.
#pragma once

#include "support/http_client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace offload::test {

/// Submits `body` and returns the job view; fails the test unless the status is `expected_status`.
inline nlohmann::json submit(unsigned short port, const nlohmann::json& body, const std::string& query = "",
                             unsigned expected_status = 202) {
  const auto r = http_post(port, "/v1/jobs" + query, body);
  EXPECT_EQ(r.status, expected_status) << r.body;
  return r.json();
}

/// Polls `GET /v1/jobs/{id}` until `done(view)` holds; throws after `limit`. A condition, not a sleep.
inline nlohmann::json wait_for_job(unsigned short port, const std::string& id,
                                   const std::function<bool(const nlohmann::json&)>& done,
                                   std::chrono::milliseconds limit = std::chrono::seconds{30}) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const auto r = http_get(port, "/v1/jobs/" + id);
    if (r.status != 200) throw std::runtime_error("GET job failed: " + r.body);
    auto view = r.json();
    if (done(view)) return view;
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("job " + id + " did not reach the expected condition: " + r.body);
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

/// Submits `body` and waits (up to `wait` seconds) for the job's end; the final view.
inline nlohmann::json run_job(unsigned short port, const nlohmann::json& body, double wait = 60) {
  const auto r = http_post(port, "/v1/jobs?wait=" + std::to_string(wait), body);
  EXPECT_EQ(r.status, 200u) << r.body;
  return r.json();
}

/// An allow-list entry running the test child in `args` mode, plus `extra` settings.
inline nlohmann::json test_command(std::vector<std::string> args,
                                   nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json argv = nlohmann::json::array({TEST_CHILD_PATH});
  for (auto& a : args)
    argv.push_back(std::move(a));
  extra["argv"] = std::move(argv);
  return extra;
}

/// The value of one series of `GET /metrics` (its name with its labels, as printed: `a_total{x="y"}`), or
/// -1 when there is no such series.
inline double metric_value(unsigned short port, const std::string& series) {
  const auto body = http_get(port, "/metrics").body;
  const auto at = body.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(body.substr(at + series.size() + 2));
}

inline bool is_state(const nlohmann::json& view, const std::string& state) {
  return view.at("state") == state;
}

inline bool is_terminal_view(const nlohmann::json& view) {
  const auto s = view.at("state").get<std::string>();
  return s != "queued" && s != "running";
}

}  // namespace offload::test
