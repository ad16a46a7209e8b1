// HTTP requests with Beast.
#include "http_transport.hpp"

#include <offload/asio_support.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <memory>

namespace offload::client_detail {
using asio::ip::tcp;

namespace {

constexpr std::string_view user_agent = "offload-client/0.1";

bool stale_connection(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe;
}

// tcp_stream's variadic constructor hides result's implicit conversion from the error.
result<beast::tcp_stream> connect_failure(error e) {
  return result<beast::tcp_stream>(boost::system::in_place_error, std::move(e));
}

}  // namespace

error transport_error(const boost::system::error_code& ec, std::string_view what) {
  auto code = errc::connection_lost;
  if (ec == beast::error::timeout || ec == asio::error::timed_out)
    code = errc::timeout;
  else if (ec == asio::error::connection_refused || ec == asio::error::host_not_found ||
           ec == asio::error::host_not_found_try_again || ec == asio::error::network_unreachable ||
           ec == asio::error::host_unreachable || ec == asio::error::no_data)
    code = errc::connect_failed;
  else if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
           ec != http::error::end_of_stream)
    code = errc::bad_response;
  return make_error(code, std::string{what} + ": " + ec.message());
}

http_transport::http_transport(asio::any_io_executor executor, base_url url, const client_options& options)
    : executor_(std::move(executor)), url_(std::move(url)), options_(options) {}

asio::awaitable<result<beast::tcp_stream>> http_transport::connect() {
  // The resolver has no deadline of its own: a timer cancels it. Both live in shared state because the
  // timer's handler may run after this frame is gone.
  struct resolve_state {
    explicit resolve_state(const asio::any_io_executor& ex) : resolver(ex), timer(ex) {}
    tcp::resolver resolver;
    asio::steady_timer timer;
    bool expired = false;
  };
  const auto state = std::make_shared<resolve_state>(executor_);
  const auto started = std::chrono::steady_clock::now();
  state->timer.expires_after(options_.connect_timeout);
  state->timer.async_wait([state](const boost::system::error_code& ec) {
    if (ec) return;
    state->expired = true;
    state->resolver.cancel();
  });
  auto [rec, endpoints] = co_await state->resolver.async_resolve(url_.host, url_.port, use_tuple);
  state->timer.cancel();
  if (rec) {
    co_return connect_failure(
        state->expired
            ? make_error(errc::timeout, "resolving " + url_.host + " timed out")
            : make_error(errc::connect_failed, "cannot resolve " + url_.host + ": " + rec.message()));
  }

  beast::tcp_stream stream(executor_);
  const auto spent =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  stream.expires_after(std::max(options_.connect_timeout - spent, std::chrono::milliseconds{1}));
  auto [cec, endpoint] = co_await stream.async_connect(endpoints, use_tuple);
  if (cec) {
    auto failure = transport_error(cec, "cannot connect to " + url_.host_header());
    if (failure.is(errc::connection_lost)) failure.code = make_error_code(errc::connect_failed);
    co_return connect_failure(std::move(failure));
  }
  stream.socket().set_option(tcp::no_delay{true});
  stream.expires_never();
  co_return stream;
}

asio::awaitable<result<http_answer>> http_transport::request(http::verb method, std::string target,
                                                             std::string body,
                                                             std::chrono::milliseconds extra,
                                                             bool retry_safe) {
  const auto timeout = options_.request_timeout + extra;
  target = url_.prefix + target;
  // First on a kept-alive connection, if one is idle; if the server had closed it meanwhile, once more on
  // a fresh one.
  while (!idle_.empty()) {
    auto stream = std::move(idle_.back());
    idle_.pop_back();
    bool keep_alive = false;
    auto answer = co_await exchange(stream, method, target, body, timeout, keep_alive);
    if (answer) {
      if (keep_alive && idle_.size() < max_idle_connections) idle_.push_back(std::move(stream));
      co_return answer;
    }
    if (!retry_safe || !answer.error().is(errc::connection_lost)) co_return answer;
  }
  auto connected = co_await connect();
  if (!connected) co_return connected.error();
  bool keep_alive = false;
  auto answer = co_await exchange(*connected, method, target, body, timeout, keep_alive);
  if (answer && keep_alive && idle_.size() < max_idle_connections) idle_.push_back(std::move(*connected));
  co_return answer;
}

asio::awaitable<result<http_answer>> http_transport::exchange(beast::tcp_stream& stream, http::verb method,
                                                              const std::string& target,
                                                              const std::string& body,
                                                              std::chrono::milliseconds timeout,
                                                              bool& keep_alive) {
  http::request<http::string_body> req(method, target, 11);
  req.set(http::field::host, url_.host_header());
  req.set(http::field::user_agent, user_agent);
  req.set(http::field::accept, "application/json");
  if (!options_.token.empty()) req.set(http::field::authorization, "Bearer " + options_.token);
  if (method == http::verb::post || !body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.keep_alive(true);
  req.prepare_payload();

  stream.expires_after(timeout);
  auto [wec, written] = co_await http::async_write(stream, req, use_tuple);
  if (wec) {
    auto failure = transport_error(wec, "sending " + std::string{http::to_string(method)} + " " + target);
    if (stale_connection(wec)) failure.code = make_error_code(errc::connection_lost);
    co_return failure;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(options_.max_response_bytes);
  auto [rec, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
  stream.expires_never();
  if (rec) {
    auto failure =
        transport_error(rec, "reading the answer to " + std::string{http::to_string(method)} + " " + target);
    if (stale_connection(rec)) failure.code = make_error_code(errc::connection_lost);
    co_return failure;
  }
  auto res = parser.release();
  keep_alive = res.keep_alive();
  http_answer answer;
  answer.status = res.result_int();
  answer.body = std::move(res.body());
  if (const auto it = res.find(http::field::retry_after); it != res.end())
    answer.retry_after = std::string{it->value()};
  if (const auto it = res.find("Idempotent-Replayed"); it != res.end())
    answer.replayed = it->value() == "true";
  co_return answer;
}

}  // namespace offload::client_detail
