// Handlers of the v1 API.
#include "net/job_api.hpp"

#include "core/job_id.hpp"

#include <offload/proto/health_status.hpp>
#include <offload/proto/job_page.hpp>
#include <offload/proto/job_spec.hpp>
#include <offload/proto/json_fields.hpp>
#include <offload/proto/json_parse.hpp>
#include <offload/proto/type_info.hpp>
#include <offload/proto/version.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <cmath>
#include <string>

namespace offload::net {
namespace {

using proto::errc;

// Jobs serialised per turn of the reactor in a listing.
constexpr std::size_t list_slice = 64;

api_response view_response(unsigned status, const core::job& j) {
  auto response = api_response::json(status, j.view());
  response.headers.emplace_back("Location", "/v1/jobs/" + j.id);
  return response;
}

// `?name=true|false` (false when absent), or the 400 that names the parameter.
proto::result<bool> query_flag(const api_request& req, const char* name) {
  const auto text = req.query_value(name);
  if (!text) return false;
  if (*text != "true" && *text != "false") return proto::invalid_field(name, "must be true or false");
  return *text == "true";
}

// `?wait=S`: seconds, 0 < S ≤ 300, decimals allowed.
proto::result<std::optional<double>> parse_wait(const api_request& req) {
  const auto text = req.query_value("wait");
  if (!text) return std::optional<double>{};
  double seconds = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), seconds);
  if (ec != std::errc{} || end != text->data() + text->size() || !std::isfinite(seconds) || seconds <= 0 ||
      seconds > job_api::max_wait_seconds)
    return proto::invalid_field("wait", "must be a number of seconds greater than 0 and at most 300");
  return std::optional<double>{seconds};
}

}  // namespace

asio::awaitable<api_response> job_api::submit(const api_request& req) {
  const auto wait = parse_wait(req);
  if (!wait) co_return api_response::error(wait.error());

  auto spec = proto::parse_job_spec_text(req.body);
  if (!spec) co_return api_response::error(spec.error());

  const auto lane = jobs_.lane_of(*spec);
  auto submitted = co_await jobs_.async_submit(std::move(spec).value());
  if (!submitted) {
    auto response = api_response::error(submitted.error());
    if (submitted.error().code == errc::queue_full)
      response.headers.emplace_back("Retry-After", std::to_string(jobs_.retry_after(lane).count()));
    co_return response;
  }

  const auto job = submitted->job;
  if (*wait)
    co_await jobs_.async_wait_finished(job, std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                std::chrono::duration<double>(**wait)));
  // 200 when the answer is final (with a durable store: stored), 202 while the job is still on its way.
  const bool ended = proto::is_terminal(job->state) && job->events.all_published();
  auto response = view_response(ended && *wait ? 200 : 202, *job);
  if (submitted->replayed) response.headers.emplace_back("Idempotent-Replayed", "true");
  co_return response;
}

asio::awaitable<api_response> job_api::get(const api_request& req, const route_params& params) {
  const auto with_input = query_flag(req, "input");
  if (!with_input) co_return api_response::error(with_input.error());
  const auto job = co_await jobs_.async_find(params.at(0));
  if (!job) co_return api_response::error(proto::job_not_found(params.at(0)));
  co_return api_response::json(200, job->view(true, *with_input));
}

asio::awaitable<api_response> job_api::list(const api_request& req) {
  core::job_filter filter;
  if (const auto state = req.query_value("state")) {
    filter.state = proto::job_state_from_string(*state);
    if (!filter.state)
      co_return api_response::error(proto::invalid_field(
          "state", "must be one of queued, running, succeeded, failed, cancelled, timed_out, crashed"));
  }
  if (const auto type = req.query_value("type")) filter.type = std::string{*type};
  if (const auto limit = req.query_value("limit")) {
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc{} || end != limit->data() + limit->size() || n < 1 || n > core::job_filter::max_limit)
      co_return api_response::error(proto::invalid_field("limit", "must be an integer from 1 to 1000"));
    filter.limit = n;
  }
  if (const auto after = req.query_value("after")) {
    if (!core::job_id::well_formed(*after))
      co_return api_response::error(proto::invalid_field("after", "must be a job id"));
    filter.after = std::string{*after};
  }

  const auto with_results = query_flag(req, "results");
  if (!with_results) co_return api_response::error(with_results.error());
  filter.with_results = *with_results;
  if (const auto order = req.query_value("order")) {
    if (*order != "oldest" && *order != "newest")
      co_return api_response::error(proto::invalid_field("order", "must be oldest or newest"));
    filter.newest_first = *order == "newest";
  }

  const auto page = co_await jobs_.async_list(std::move(filter));
  if (!page) co_return api_response::error(page.error());
  // The body of `proto::job_page`, serialised a slice of jobs at a time with a turn of the reactor between
  // slices: a page of 1,000 jobs costs the reactor several milliseconds, which other clients must not wait.
  api_response response;
  response.body = R"({"jobs":[)";
  for (std::size_t i = 0; i < page->jobs.size(); ++i) {
    if (i > 0) {
      response.body += ',';
      if (i % list_slice == 0) co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    }
    response.body += proto::dump_view(page->jobs[i]);
  }
  response.body += R"(],"next":)";
  response.body += page->next ? proto::dump_json(nlohmann::json(*page->next)) : std::string{"null"};
  response.body += '}';
  co_return response;
}

asio::awaitable<api_response> job_api::cancel(const route_params& params) {
  const auto cancelled = co_await jobs_.async_cancel(params.at(0));
  if (!cancelled) co_return api_response::error(cancelled.error());
  co_return api_response::json(200, (*cancelled)->view());
}

asio::awaitable<api_response> job_api::types() {
  proto::type_list list;
  for (const auto& [name, type] : jobs_.types().all()) {
    auto lanes = jobs_.lanes_for(type);
    if (lanes.empty()) continue;
    list.types.push_back({name, type.description, std::move(lanes), type.input_schema});
  }
  co_return api_response::json(200, list);
}

asio::awaitable<api_response> job_api::stats() {
  if (!stats_) co_return api_response::error({errc::not_found, "this server keeps no statistics"});
  co_return api_response::json(200, stats_());
}

asio::awaitable<api_response> job_api::health() {
  co_return api_response::json(200, proto::health_status{"ok", {}, std::string{proto::version()}});
}

asio::awaitable<api_response> job_api::ready() {
  if (jobs_.draining()) co_return api_response::error({errc::draining, "the server is shutting down"});
  if (auto storage = jobs_.storage_health()) co_return api_response::error(*std::move(storage));
  if (readiness_) {
    const auto not_ready = readiness_();
    if (not_ready) co_return api_response::error(*not_ready);
  }
  auto status = proto::health_status{"ready", {}, std::string{proto::version()}};
  if (degradation_) status.degraded = degradation_();
  co_return api_response::json(200, status);
}

}  // namespace offload::net
