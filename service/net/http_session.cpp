// HTTP session on Beast. The only translation unit of the HTTP server that includes Beast.
#include "net/http_session.hpp"

#include "core/logger.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace offload::net {
namespace beast = boost::beast;
namespace http = beast::http;
using proto::errc;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// After an error response the peer may still be sending: read and discard for a while before closing,
// so that it receives the response instead of a connection reset.
constexpr auto linger_time = std::chrono::seconds{2};
constexpr std::size_t linger_bytes = 4 * 1024 * 1024;

// Not in the coroutine below: GCC 12 mishandles braced initialiser lists inside coroutines.
void count_answer(core::metrics_registry* metrics, std::string_view route, unsigned status) {
  if (!metrics) return;
  const auto code = std::to_string(status);
  metrics->add("offload_http_requests_total",
               core::metrics_registry::label_text({{"route", route}, {"status", code}}));
}

asio::awaitable<beast::error_code> async_send(beast::tcp_stream& stream, api_response r, unsigned version,
                                              bool keep_alive, const http_limits& limits,
                                              core::metrics_registry* metrics) {
  count_answer(metrics, r.route, r.status);
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "offloadd");
  res.set(http::field::content_type, r.content_type);
  for (auto& [name, value] : r.headers)
    res.set(name, value);
  res.keep_alive(keep_alive);
  res.body() = std::move(r.body);
  res.prepare_payload();
  stream.expires_after(limits.write_timeout);
  auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
  co_return ec;
}

// What a failed read means for the client, or nothing when the connection simply ended.
std::optional<proto::error> read_error(const beast::error_code& ec) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted || ec == asio::error::eof ||
      ec == http::error::partial_message)
    return std::nullopt;
  if (ec == http::error::body_limit)
    return proto::error{errc::payload_too_large, "the request body is too large"};
  if (ec == http::error::header_limit)
    return proto::error{errc::headers_too_large, "the request headers are too large"};
  return proto::error{errc::bad_request, "malformed HTTP request: " + ec.message()};
}

asio::awaitable<void> linger(beast::tcp_stream& stream) {
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(linger_time);
  std::array<char, 16 * 1024> sink;
  for (std::size_t total = 0; total < linger_bytes;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
    if (ec) break;
    total += n;
  }
}

// Counts one request as in flight for as long as it lives.
class in_flight_guard {
 public:
  explicit in_flight_guard(std::size_t& counter) : counter_(counter) { ++counter_; }
  ~in_flight_guard() { --counter_; }
  in_flight_guard(const in_flight_guard&) = delete;
  in_flight_guard& operator=(const in_flight_guard&) = delete;

 private:
  std::size_t& counter_;
};

}  // namespace

asio::awaitable<void> run_http_session(tcp::socket socket, const router& routes, const http_limits& limits,
                                       std::size_t& in_flight, websocket_endpoints* upgrades,
                                       const bearer_auth& auth, core::metrics_registry* metrics) {
  beast::tcp_stream stream{std::move(socket)};
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
    if (buffer.size() == 0) {
      // Idle: wait for the next request to begin; a silent close when none comes.
      stream.expires_after(limits.idle_timeout);
      auto [idle_ec, first] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
      if (idle_ec) break;
      buffer.commit(first);
    }
    stream.expires_after(limits.header_timeout);
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    if (!ec) {
      // A declared length over the limit is refused before any of the body is read.
      if (const auto length = parser.content_length(); length && *length > limits.max_body_bytes)
        ec = http::error::body_limit;
    }
    if (!ec && parser.get()[http::field::expect] == "100-continue") {
      http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
      std::tie(ec, n) = co_await http::async_write(stream, go_on, use_tuple);
    }
    if (!ec && !parser.is_done()) {
      stream.expires_after(limits.body_timeout);
      std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, use_tuple);
    }
    if (ec) {
      if (auto e = read_error(ec)) {
        co_await async_send(stream, api_response::error(*e), 11, false, limits, metrics);
        co_await linger(stream);
      }
      break;
    }

    const bool upgrade = upgrades && beast::websocket::is_upgrade(parser.get());
    if (const auto target = parser.get().target(); auth.protects(target.substr(0, target.find('?'))) &&
                                                   !auth.allows(parser.get()[http::field::authorization])) {
      auto denied = api_response::error({errc::unauthorized, "a valid bearer token is required"});
      denied.route = "(auth)";
      denied.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"offload\"");
      const bool keep = parser.get().keep_alive() && !upgrade;
      const auto denied_ec =
          co_await async_send(stream, std::move(denied), parser.get().version(), keep, limits, metrics);
      if (denied_ec || !keep) break;
      continue;
    }

    if (upgrade) {
      // The WebSocket session takes the stream; an error response means it refused before the handshake.
      stream.expires_never();
      auto refused = co_await upgrades->async_upgrade(stream, parser.release());
      if (!refused) co_return;
      co_await async_send(stream, std::move(*refused), 11, false, limits, metrics);
      break;
    }
    const in_flight_guard guard{in_flight};
    auto& req = parser.get();
    const bool keep_alive = req.keep_alive();
    const unsigned version = req.version();
    auto request =
        api_request::from_target(std::string{req.method_string()}, req.target(), std::move(req.body()));
    api_response response;
    if (!request) {
      response = api_response::error({errc::bad_request, "the request target is not a valid absolute path"});
    } else {
      // The handler may wait (POST ?wait= holds the request up to 300 s): no read deadline meanwhile.
      stream.expires_never();
      try {
        response = co_await routes.async_handle(*request);
      } catch (const std::exception& e) {
        core::log(core::log_level::error, "request failed",
                  {{"method", request->method}, {"path", request->path}, {"what", e.what()}});
        response = api_response::error({errc::internal, "internal error"});
      }
    }
    // Not inside the if: g++ 12 miscompiles some co_await expressions in conditions.
    const auto write_ec =
        co_await async_send(stream, std::move(response), version, keep_alive, limits, metrics);
    if (write_ec || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace offload::net
