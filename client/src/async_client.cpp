// The asynchronous client's operations.
#include "base_url.hpp"
#include "event_stream.hpp"
#include "http_transport.hpp"

#include <offload/asio_support.hpp>
#include <offload/client/async_client.hpp>
#include <offload/proto/json_parse.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/verb.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <random>

namespace offload {
using boost::beast::http::verb;
using client_detail::http_answer;
using client_detail::stream_attempt;
using clock = std::chrono::steady_clock;

namespace {

// `{"error":{"code","message"}}` of a non-2xx answer.
error api_error(const http_answer& answer) {
  error failure;
  failure.http_status = answer.status;
  const auto body = proto::parse_json(answer.body);
  try {
    const auto wire = body.value().at("error").get<proto::error>();
    failure.code = make_error_code(from_proto(wire.code));
    failure.message = wire.message.empty() ? "HTTP " + std::to_string(answer.status) : wire.message;
  } catch (const std::exception&) {
    failure.code = make_error_code(errc::bad_response);
    failure.message = "unexpected HTTP " + std::to_string(answer.status) + " without an error body";
  }
  unsigned seconds = 0;
  const auto& ra = answer.retry_after;
  if (!ra.empty()) {
    const auto [end, ec] = std::from_chars(ra.data(), ra.data() + ra.size(), seconds);
    if (ec == std::errc{} && end == ra.data() + ra.size())
      failure.retry_after = std::chrono::seconds{seconds};
  }
  return failure;
}

// The JSON body of a 2xx answer, or the error the answer carries.
result<nlohmann::json> json_body(const result<http_answer>& answer) {
  if (!answer) return answer.error();
  if (answer->status < 200 || answer->status > 299) return api_error(*answer);
  auto parsed = proto::parse_json(answer->body);
  if (!parsed)
    return make_error(errc::bad_response, "the server's answer is not JSON: " + parsed.error().message);
  return std::move(parsed).value();
}

// Converts a JSON body with nlohmann's `from_json`, turning shape errors into `bad_response`.
template <class T>
result<T> decode(const result<nlohmann::json>& body) {
  if (!body) return body.error();
  try {
    return body->get<T>();
  } catch (const std::exception& e) {
    return make_error(errc::bad_response, std::string{"unexpected answer from the server: "} + e.what());
  }
}

std::string random_key() {
  std::random_device rd;
  char text[33];
  for (int i = 0; i < 4; ++i)
    std::snprintf(text + i * 8, 9, "%08x", static_cast<unsigned>(rd()));
  return std::string{"offload-"} + text;
}

std::string seconds_text(std::chrono::milliseconds wait) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", static_cast<double>(wait.count()) / 1000.0);
  return text;
}

// Failures after which resending a keyed submission is safe and may succeed: the request may not have
// arrived, or the server's store could not write it (it acknowledged nothing).
bool retryable_transport(const error& e) {
  return e.is(errc::connection_lost) || e.is(errc::timeout) || e.is(errc::connect_failed) ||
         e.is(errc::storage_unavailable);
}

error wait_expired(const std::string& id) {
  return make_error(errc::wait_timeout, "job " + id + " did not finish in time");
}

}  // namespace

struct async_client::impl {
  impl(executor_type ex, client_options opts, client_detail::base_url url)
      : executor(std::move(ex)), options(std::move(opts)), http(executor, std::move(url), options) {}

  // Sleeps `delay`, but never past `deadline`; false when the deadline has passed.
  asio::awaitable<bool> pause(std::chrono::milliseconds delay, std::optional<clock::time_point> deadline) {
    auto until = clock::now() + delay;
    if (deadline) until = std::min(until, *deadline);
    asio::steady_timer timer(executor);
    timer.expires_at(until);
    co_await timer.async_wait(use_tuple);
    co_return !deadline || clock::now() < *deadline;
  }

  // Back-off before the next reconnect: exponential, capped, with jitter so clients do not reconnect in step.
  std::chrono::milliseconds backoff(int failures) {
    auto delay = options.reconnect_initial_delay;
    for (int i = 1; i < failures && delay < options.reconnect_max_delay; ++i)
      delay *= 2;
    delay = std::min(delay, options.reconnect_max_delay);
    std::uniform_int_distribution<long> jitter(delay.count() / 2, std::max<long>(delay.count(), 1));
    return std::chrono::milliseconds{jitter(rng)};
  }

  // Follows the event stream across reconnects until the terminal event, a fatal error or the deadline.
  asio::awaitable<result<proto::job_event>> follow(std::string id, event_handler handler, std::uint64_t after,
                                                   std::optional<clock::time_point> deadline) {
    int failures = 0;
    for (;;) {
      auto attempt = co_await client_detail::stream_once(http, options, id, after, handler, deadline);
      switch (attempt.how) {
        case stream_attempt::outcome::terminal:
          co_return std::move(*attempt.terminal);
        case stream_attempt::outcome::fatal:
        case stream_attempt::outcome::refused:
          co_return attempt.failure;
        case stream_attempt::outcome::retry:
          break;
      }
      failures = attempt.delivered ? 1 : failures + 1;
      if (failures > options.max_reconnect_attempts) {
        auto failure = attempt.failure;
        failure.code = make_error_code(errc::reconnect_exhausted);
        failure.message = "gave up on the event stream of job " + id + " after " + std::to_string(failures) +
                          " attempts; last: " + attempt.failure.message;
        co_return failure;
      }
      const bool in_time = co_await pause(backoff(failures), deadline);
      if (!in_time) co_return wait_expired(id);
    }
  }

  // The fallback of `wait` when WebSocket is refused: polls with a growing interval up to 1 s.
  asio::awaitable<result<proto::job_view>> poll(std::string id, clock::time_point deadline) {
    auto delay = std::chrono::milliseconds{50};
    for (;;) {
      auto view = decode<proto::job_view>(
          json_body(co_await http.request(verb::get, "/v1/jobs/" + client_detail::url_encode(id))));
      if (!view || proto::is_terminal(view->state)) co_return view;
      const bool in_time = co_await pause(delay, deadline);
      if (!in_time) co_return wait_expired(id);
      delay = std::min(delay * 2, std::chrono::milliseconds{1000});
    }
  }

  executor_type executor;
  client_options options;
  client_detail::http_transport http;
  std::minstd_rand rng{std::random_device{}()};
};

async_client::async_client(executor_type executor, client_options options) {
  auto url = client_detail::base_url::parse(options.url);
  if (!url) throw client_error(url.error());
  impl_ = std::make_unique<impl>(std::move(executor), std::move(options), std::move(*url));
}

async_client::~async_client() = default;

async_client::executor_type async_client::get_executor() const noexcept {
  return impl_->executor;
}

const client_options& async_client::options() const noexcept {
  return impl_->options;
}

asio::awaitable<result<submission>> async_client::async_submit(
    proto::job_spec spec, std::optional<std::chrono::milliseconds> wait) {
  if (!spec.idempotency_key && impl_->options.auto_idempotency_key) spec.idempotency_key = random_key();
  nlohmann::json body_json;
  to_json(body_json, spec);
  const auto body = proto::dump_json(body_json);
  auto target = std::string{"/v1/jobs"};
  auto extra = std::chrono::milliseconds{0};
  if (wait) {
    target += "?wait=" + seconds_text(*wait);
    extra = *wait;
  }
  // With a key, resending is safe: the server answers with the job the first send created.
  const bool safe = spec.idempotency_key.has_value();
  for (int attempt = 0;; ++attempt) {
    auto answer = co_await impl_->http.request(verb::post, target, body, extra, safe);
    if (!answer && safe && retryable_transport(answer.error()) && attempt < impl_->options.submit_retries) {
      co_await impl_->pause(impl_->backoff(attempt + 1), std::nullopt);
      continue;
    }
    auto view = decode<proto::job_view>(json_body(answer));
    if (!view) co_return view.error();
    submission sub;
    static_cast<proto::job_view&>(sub) = std::move(*view);
    sub.replayed = answer->replayed;
    co_return sub;
  }
}

asio::awaitable<result<proto::job_view>> async_client::async_get(std::string id) {
  auto answer = co_await impl_->http.request(verb::get, "/v1/jobs/" + client_detail::url_encode(id));
  co_return decode<proto::job_view>(json_body(answer));
}

asio::awaitable<result<proto::job_view>> async_client::async_wait(std::string id,
                                                                  std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  event_handler ignore = [](const proto::job_event&) {};  // named: rule 2 of offload/asio_support.hpp
  auto ended = co_await impl_->follow(id, std::move(ignore), 0, deadline);
  if (!ended && ended.error().is(errc::upgrade_required)) co_return co_await impl_->poll(id, deadline);
  if (!ended) co_return ended.error();
  // The terminal event is in the log, so the view is final.
  co_return co_await async_get(std::move(id));
}

asio::awaitable<result<proto::job_view>> async_client::async_cancel(std::string id) {
  // DELETE is idempotent here: a resend answers `already_finished` at worst.
  auto answer = co_await impl_->http.request(verb::delete_, "/v1/jobs/" + client_detail::url_encode(id));
  co_return decode<proto::job_view>(json_body(answer));
}

asio::awaitable<result<job_page>> async_client::async_list(list_filter filter) {
  std::string query;
  const auto add = [&query](std::string_view name, const std::string& value) {
    query += query.empty() ? '?' : '&';
    query += name;
    query += '=';
    query += client_detail::url_encode(value);
  };
  if (filter.state) add("state", std::string{to_string(*filter.state)});
  if (filter.type) add("type", *filter.type);
  if (filter.limit) add("limit", std::to_string(*filter.limit));
  if (filter.after) add("after", *filter.after);
  if (filter.newest_first) add("order", "newest");
  if (filter.with_results) add("results", "true");
  co_return decode<job_page>(json_body(co_await impl_->http.request(verb::get, "/v1/jobs" + query)));
}

asio::awaitable<result<std::vector<type_info>>> async_client::async_types() {
  auto list = decode<proto::type_list>(json_body(co_await impl_->http.request(verb::get, "/v1/types")));
  if (!list) co_return list.error();
  co_return std::move(list->types);
}

asio::awaitable<result<nlohmann::json>> async_client::async_stats() {
  co_return json_body(co_await impl_->http.request(verb::get, "/v1/stats"));
}

asio::awaitable<result<void>> async_client::async_health() {
  const auto answer = co_await impl_->http.request(verb::get, "/healthz");
  if (!answer) co_return answer.error();
  if (answer->status != 200) co_return api_error(*answer);
  co_return result<void>(boost::system::in_place_value);
}

asio::awaitable<result<proto::job_event>> async_client::async_stream(std::string id, event_handler handler,
                                                                     std::uint64_t after) {
  co_return co_await impl_->follow(std::move(id), std::move(handler), after, std::nullopt);
}

}  // namespace offload
