// HTTP session on Beast: one coroutine per connection that reads top to bottom.
#include "net/http_session.hpp"

#include "core/logger.hpp"
#include "net/websocket_session.hpp"
#include "net/websocket_subprotocols.hpp"

#include <offload/asio_support.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace offload::net {
using proto::errc;

namespace {

// After an error response the peer may still be sending: read and discard for a while before closing,
// so that it receives the response instead of a connection reset.
constexpr auto linger_time = std::chrono::seconds{2};
constexpr std::size_t linger_bytes = 4 * 1024 * 1024;

// A refused token is worth an operator's attention (a misconfigured client, or someone guessing), so each
// 401 is logged with the peer's address, the method and the path, never the token; at most 10 lines a
// second, the ones held back counted in the next line. Sessions run on the reactor: no lock.
void log_unauthorised(const tcp::socket& socket, std::string_view method, std::string_view path,
                      bool had_credentials) {
  static std::chrono::steady_clock::time_point window{};
  static int lines_in_window = 0;
  static std::uint64_t held_back = 0;
  const auto now = std::chrono::steady_clock::now();
  if (now - window >= std::chrono::seconds{1}) {
    window = now;
    lines_in_window = 0;
  }
  if (++lines_in_window > 10) {
    ++held_back;
    return;
  }
  boost::system::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  constexpr std::size_t max_path = 200;
  nlohmann::json fields{
      {"peer", ec ? std::string{"unknown"} : peer.address().to_string() + ":" + std::to_string(peer.port())},
      {"method", method},
      {"path", path.substr(0, max_path)},
      {"credentials", had_credentials ? "refused" : "none"}};
  if (held_back != 0) {
    fields["not_logged_before"] = held_back;
    held_back = 0;
  }
  core::log(core::log_level::info, "unauthorised request", fields);
}

void count_answer(core::metrics_registry* metrics, std::string_view route, unsigned status) {
  if (!metrics) return;
  const auto code = std::to_string(status);  // three digits: no allocation
  metrics->add("offload_http_requests_total", {{"route", route}, {"status", code}});
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

using request_parser = http::request_parser<http::string_body>;

// The session's steps, each a named member: read the header, authorise, read the body, route, send.
class http_session {
 public:
  http_session(tcp::socket socket, const http_context& context) : stream_(std::move(socket)), ctx_(context) {}

  asio::awaitable<void> run() {
    for (;;) {
      request_parser parser;
      const bool read = co_await read_header(parser);
      if (!read) break;
      const bool keep_going = co_await answer(parser);
      if (!keep_going) co_return;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

 private:
  // Reads one request's header within the idle and header deadlines. False when the connection is done:
  // it closed, timed out, or sent something that got an error answer.
  asio::awaitable<bool> read_header(request_parser& parser) {
    parser.header_limit(static_cast<std::uint32_t>(ctx_.limits.max_header_bytes));
    parser.body_limit(ctx_.limits.max_body_bytes);
    if (buffer_.size() == 0) {
      // Idle: wait for the next request to begin; a silent close when none comes.
      stream_.expires_after(ctx_.limits.idle_timeout);
      auto [idle_ec, first] = co_await stream_.async_read_some(buffer_.prepare(4096), use_tuple);
      if (idle_ec) co_return false;
      buffer_.commit(first);
    }
    stream_.expires_after(ctx_.limits.header_timeout);
    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, parser, use_tuple);
    if (!ec) co_return true;
    co_await refuse_read(ec);
    co_return false;
  }

  // Reads the body of an authorised request within the body deadline; a declared length over the limit is
  // refused before any of it is read. False when the connection is done.
  asio::awaitable<bool> read_body(request_parser& parser) {
    beast::error_code ec;
    std::size_t n = 0;
    if (const auto length = parser.content_length(); length && *length > ctx_.limits.max_body_bytes)
      ec = http::error::body_limit;
    if (!ec && parser.get()[http::field::expect] == "100-continue") {
      http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
      std::tie(ec, n) = co_await http::async_write(stream_, go_on, use_tuple);
    }
    if (!ec && !parser.is_done()) {
      stream_.expires_after(ctx_.limits.body_timeout);
      std::tie(ec, n) = co_await http::async_read(stream_, buffer_, parser, use_tuple);
    }
    if (!ec) co_return true;
    co_await refuse_read(ec);
    co_return false;
  }

  // Answers a failed read (when the client is still there to hear it) and lets the connection go.
  asio::awaitable<void> refuse_read(const beast::error_code& ec) {
    const auto e = read_error(ec);
    if (!e) co_return;
    auto refusal = api_response::error(*e);
    co_await async_send(stream_, std::move(refusal), 11, false, ctx_.limits, ctx_.metrics);
    co_await linger(stream_);
  }

  // Answers before the body is read (bad target, no token). The connection stays only when no body is
  // pending; otherwise it is closed after a linger, so the client hears the answer instead of a reset.
  asio::awaitable<bool> refuse_early(api_response response, const request_parser& parser, bool keep) {
    const bool pending = !parser.is_done();
    keep = keep && !pending && parser.get().keep_alive();
    const auto ec = co_await async_send(stream_, std::move(response), parser.get().version(), keep,
                                        ctx_.limits, ctx_.metrics);
    if (!ec && pending) co_await linger(stream_);
    co_return !ec && keep;
  }

  // Authorises, reads the body, routes and answers one request. False when the connection is done.
  asio::awaitable<bool> answer(request_parser& parser) {
    auto& req = parser.get();
    // A Transfer-Encoding that does not end in chunked leaves the body's length undecidable (RFC 9112 6.3);
    // a proxy in front may read it otherwise than Beast, which takes it as no body: 400, then close, so
    // that nothing after it can pass as a request of its own.
    if (req.count(http::field::transfer_encoding) > 0 && !parser.chunked()) {
      auto bad = api_response::error({errc::bad_request, "Transfer-Encoding must end with chunked"});
      co_return co_await refuse_early(std::move(bad), parser, false);
    }
    const bool upgrade = beast::websocket::is_upgrade(req);
    auto request = api_request::from_target(std::string{req.method_string()}, req.target(), {});
    if (!request) {
      auto bad = api_response::error({errc::bad_request, "the request target is not a valid absolute path"});
      co_return co_await refuse_early(std::move(bad), parser, true);
    }
    request->if_none_match = std::string{req[http::field::if_none_match]};
    auto found = ctx_.routes.find(request->method, request->path, upgrade);

    // Decided on the header alone: an unauthorised client never gets to send (or stall) a body.
    if (!authorised(found, req)) {
      log_unauthorised(stream_.socket(), request->method, request->path,
                       !req[http::field::authorization].empty() || subprotocol_credentials(req).has_value());
      auto denied = api_response::error({errc::unauthorized, "a valid bearer token is required"});
      denied.route = "(auth)";
      denied.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"offload\"");
      co_return co_await refuse_early(std::move(denied), parser, !upgrade);
    }

    const bool body_read = co_await read_body(parser);
    if (!body_read) co_return false;
    const bool keep_alive = req.keep_alive();
    const unsigned version = req.version();

    if (found.websocket) {
      // The WebSocket session takes the stream; an answer means it refused before the handshake.
      stream_.expires_never();
      websocket_upgrade handover{stream_, parser.release()};
      auto refused = co_await found.route->websocket(handover, *request, found.params);
      if (!refused) co_return false;
      refused->route = found.route->pattern;
      co_await async_send(stream_, std::move(*refused), 11, false, ctx_.limits, ctx_.metrics);
      co_return false;
    }

    request->body = std::move(req.body());
    auto response = co_await route(found, *request);
    const auto ec =
        co_await async_send(stream_, std::move(response), version, keep_alive, ctx_.limits, ctx_.metrics);
    co_return !ec && keep_alive;
  }

  // Unmatched routes need a token too: what exists is nobody's business without one.
  // The `Authorization` header; for a WebSocket upgrade without one, the bearer token offered as a
  // subprotocol (net/websocket_subprotocols.hpp).
  bool authorised(const route_match& found, const http::request<http::string_body>& req) const {
    if (found.route && found.route->is_public) return true;
    if (const auto offered = subprotocol_credentials(req)) return ctx_.auth.allows(*offered);
    return ctx_.auth.allows(req[http::field::authorization]);
  }

  static std::optional<std::string> subprotocol_credentials(const http::request<http::string_body>& req) {
    if (!req[http::field::authorization].empty() || !beast::websocket::is_upgrade(req)) return std::nullopt;
    return websocket_subprotocols::parse(req[http::field::sec_websocket_protocol]).authorization;
  }

  // The table's answer; unexpected failures become a plain 500 that discloses nothing.
  asio::awaitable<api_response> route(route_match& found, const api_request& request) {
    const core::async_counter::guard in_flight{ctx_.in_flight};
    // The handler may wait (POST ?wait= holds the request up to 300 s): no read deadline meanwhile.
    stream_.expires_never();
    api_response response;
    try {
      response = co_await route_table::async_answer(found, request);
    } catch (const std::exception& e) {
      core::log(core::log_level::error, "request failed",
                {{"method", request.method}, {"path", request.path}, {"what", e.what()}});
      response = api_response::error({errc::internal, "internal error"});
      if (found.route) response.route = found.route->pattern;
    }
    co_return response;
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  const http_context& ctx_;
};

}  // namespace

asio::awaitable<void> run_http_session(tcp::socket socket, const http_context& context) {
  http_session session{std::move(socket), context};
  co_await session.run();
}

}  // namespace offload::net
