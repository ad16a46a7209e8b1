// The client side of the event stream, with Beast WebSocket.
#include "event_stream.hpp"

#include <offload/asio_support.hpp>
#include <offload/proto/json_parse.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <memory>

namespace offload::client_detail {

namespace {

/// The server pings every 20 s; a connection silent for this long is dead.
constexpr std::chrono::seconds idle_timeout{45};

using ws_stream = websocket::stream<beast::tcp_stream>;

stream_attempt ended(stream_attempt::outcome how, error failure, bool delivered) {
  stream_attempt attempt;
  attempt.how = how;
  attempt.failure = std::move(failure);
  attempt.delivered = delivered;
  return attempt;
}

// What a plain-HTTP answer to the upgrade means.
stream_attempt declined(const websocket::response_type& res, const std::string& id) {
  using outcome = stream_attempt::outcome;
  const auto status = res.result_int();
  error failure;
  failure.http_status = status;
  failure.message =
      "the server declined the event stream of job " + id + " with HTTP " + std::to_string(status);
  if (const auto body = proto::parse_json(res.body()); body && body->is_object() && body->contains("error")) {
    const auto& e = (*body)["error"];
    if (e.is_object() && e.contains("message") && e["message"].is_string())
      failure.message = e["message"].get<std::string>();
    if (e.is_object() && e.contains("code") && e["code"].is_string())
      if (const auto code = proto::errc_from_string(e["code"].get<std::string>()))
        failure.code = make_error_code(from_proto(*code));
  }
  if (status == 404 || status == 401 || status == 403 || status == 400) {
    if (!failure.code)
      failure.code = make_error_code(status == 404   ? errc::not_found
                                     : status == 400 ? errc::bad_request
                                                     : errc::unauthorized);
    return ended(outcome::fatal, std::move(failure), false);
  }
  // Overload and gateway trouble pass; a server or proxy that does not implement WebSocket does not.
  if (status == 429 || status == 500 || status == 502 || status == 503 || status == 504) {
    if (!failure.code) failure.code = make_error_code(errc::internal);
    return ended(outcome::retry, std::move(failure), false);
  }
  failure.code = make_error_code(errc::upgrade_required);
  return ended(outcome::refused, std::move(failure), false);
}

// Handshake and idle deadlines, pings, the message cap, and the headers every stream request carries.
void configure(ws_stream& ws, const client_options& options) {
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = options.connect_timeout;
  timeouts.idle_timeout = idle_timeout;
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  ws.read_message_max(options.max_response_bytes);
  ws.set_option(websocket::stream_base::decorator([token = options.token](websocket::request_type& req) {
    req.set(http::field::user_agent, "offload-client/0.1");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  }));
}

// One frame as an event, or nothing when it is not one.
std::optional<proto::job_event> decode_event(const beast::flat_buffer& buffer) {
  auto parsed = proto::parse_json(beast::buffers_to_string(buffer.data()));
  if (!parsed) return std::nullopt;
  try {
    return parsed->get<proto::job_event>();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

asio::awaitable<stream_attempt> stream_once(http_transport& http, const client_options& options,
                                            const std::string& id, std::uint64_t& after,
                                            const event_handler& handler,
                                            std::optional<std::chrono::steady_clock::time_point> deadline) {
  using outcome = stream_attempt::outcome;
  auto connected = co_await http.connect();
  if (!connected) co_return ended(outcome::retry, connected.error(), false);

  const auto ws = std::make_shared<ws_stream>(std::move(*connected));
  // The overall deadline closes the socket from a timer; the handler owns what it touches.
  const auto expired = std::make_shared<bool>(false);
  asio::steady_timer watchdog(ws->get_executor());
  if (deadline) {
    watchdog.expires_at(*deadline);
    watchdog.async_wait([ws, expired](const boost::system::error_code& ec) {
      if (ec) return;
      *expired = true;
      beast::get_lowest_layer(*ws).close();
    });
  }

  configure(*ws, options);

  const auto target =
      http.url().prefix + "/v1/jobs/" + url_encode(id) + "/events?after=" + std::to_string(after);
  websocket::response_type res;
  auto [hec] = co_await ws->async_handshake(res, http.url().host_header(), target, use_tuple);
  if (*expired)
    co_return ended(outcome::fatal, make_error(errc::wait_timeout, "job " + id + " did not finish in time"),
                    false);
  if (hec == websocket::error::upgrade_declined) co_return declined(res, id);
  if (hec)
    co_return ended(outcome::retry, transport_error(hec, "opening the event stream of job " + id), false);

  bool delivered = false;
  beast::flat_buffer buffer;
  for (;;) {
    buffer.clear();
    auto [rec, n] = co_await ws->async_read(buffer, use_tuple);
    if (*expired)
      co_return ended(outcome::fatal, make_error(errc::wait_timeout, "job " + id + " did not finish in time"),
                      delivered);
    if (rec == websocket::error::closed) {
      const auto& reason = ws->reason();
      co_return ended(outcome::retry,
                      make_error(errc::connection_lost, "the server closed the event stream of job " + id +
                                                            " (code " + std::to_string(reason.code) + ")"),
                      delivered);
    }
    if (rec)
      co_return ended(outcome::retry, transport_error(rec, "reading the event stream of job " + id),
                      delivered);

    auto event = decode_event(buffer);
    if (!event)
      co_return ended(outcome::fatal,
                      make_error(errc::bad_response, "malformed event on the stream of job " + id),
                      delivered);
    if (event->seq <= after) continue;  // already delivered before a reconnect
    after = event->seq;
    delivered = true;
    handler(*event);
    if (proto::is_terminal(event->type)) {
      watchdog.cancel();
      // Nothing follows the terminal event but the server's close; dropping the connection here ends it
      // without another round trip (the server's session ends on the EOF).
      stream_attempt attempt;
      attempt.how = outcome::terminal;
      attempt.terminal = std::move(*event);
      attempt.delivered = true;
      co_return attempt;
    }
  }
}

}  // namespace offload::client_detail
