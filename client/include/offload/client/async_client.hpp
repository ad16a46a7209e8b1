// The asynchronous client: C++20 coroutines on any Asio executor.
#pragma once

#include <offload/client/error.hpp>
#include <offload/client/options.hpp>
#include <offload/client/types.hpp>
#include <offload/proto/job_spec.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace offload {

/// Talks to one `offloadd` over HTTP/1.1 (kept-alive connections, reused) and WebSocket (event streams).
///
/// Every operation is an `asio::awaitable` that completes with a `result<T>`: expected failures — the
/// server's error answers, refused connections, timeouts — are values, never exceptions. All operations of
/// one client must run on its executor (an `io_context` run by one thread, or a strand); several may be in
/// flight at once. The client must outlive the operations it started.
///
/// On g++ 12, build braced values in statements of their own, not inside a `co_await` expression: that
/// compiler destroys such temporaries twice or rejects them (see client/examples/async_sum_job.cpp).
///
/// ```
/// const auto executor = co_await boost::asio::this_coro::executor;
/// offload::async_client c{executor, {.url = "http://127.0.0.1:8080"}};
/// auto spec = offload::job_spec{.type = "sum", .input = {{"n", 1000000}}};
/// auto sub = co_await c.async_submit(std::move(spec));
/// if (!sub) co_return;  // sub.error().message says why
/// auto done = co_await c.async_wait(sub->id, std::chrono::seconds{30});
/// ```
class async_client {
 public:
  using executor_type = boost::asio::any_io_executor;

  /// Throws `client_error` (`invalid_url`) when `options.url` cannot be used.
  async_client(executor_type executor, client_options options);
  ~async_client();
  async_client(const async_client&) = delete;
  async_client& operator=(const async_client&) = delete;

  executor_type get_executor() const noexcept;
  const client_options& options() const noexcept;

  /// `POST /v1/jobs`. Without `wait` the answer comes as soon as the job is queued; with `wait` (at most
  /// 300 s) the server holds the answer until the job ends or the wait runs out. A transport failure is
  /// retried with the same idempotency key (see `client_options`), so one call creates at most one job.
  boost::asio::awaitable<result<submission>> async_submit(
      proto::job_spec spec, std::optional<std::chrono::milliseconds> wait = std::nullopt);

  /// `GET /v1/jobs/{id}`.
  boost::asio::awaitable<result<proto::job_view>> async_get(std::string id);

  /// Waits until the job reaches a terminal state and returns its final view. Follows the job's event
  /// stream; when the server refuses WebSocket (e.g. a proxy in between), polls instead. `wait_timeout`
  /// when `timeout` passes first; the job keeps running.
  boost::asio::awaitable<result<proto::job_view>> async_wait(std::string id,
                                                             std::chrono::milliseconds timeout);

  /// `DELETE /v1/jobs/{id}`: the job's view after the cancellation took effect (`already_finished` when it
  /// had ended).
  boost::asio::awaitable<result<proto::job_view>> async_cancel(std::string id);

  /// `GET /v1/jobs`: one page, oldest first.
  boost::asio::awaitable<result<job_page>> async_list(list_filter filter = {});

  /// `GET /v1/types`.
  boost::asio::awaitable<result<std::vector<type_info>>> async_types();

  /// `GET /v1/stats`: the server's statistics, as JSON (proto/schema/stats.schema.json).
  boost::asio::awaitable<result<nlohmann::json>> async_stats();

  /// `GET /healthz`: succeeds when the server answers 200.
  boost::asio::awaitable<result<void>> async_health();

  /// Streams the job's events with `seq > after` to `handler`, in order and each exactly once, until the
  /// terminal event, which is also the result. A dropped connection (or the server shedding a slow
  /// reader) is followed by a reconnect with capped exponential back-off that resumes after the last
  /// delivered `seq`. Fails at once for errors that retrying cannot fix (`not_found`, `unauthorized`).
  boost::asio::awaitable<result<proto::job_event>> async_stream(std::string id, event_handler handler,
                                                                std::uint64_t after = 0);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace offload
