// The one table of the server's endpoints: method, path pattern, the HTTP handler, the WebSocket handler
// and whether the route is public. 404 vs 405 vs 426, auth exemptions and the route labels of metrics all
// come from it.
#pragma once

#include "net/api_request.hpp"
#include "net/api_response.hpp"
#include "net/net.hpp"

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace offload::net {

/// A connection being upgraded to WebSocket: the stream and the upgrade request (net/websocket_session.hpp).
struct websocket_upgrade;

/// Values captured by `{name}` segments of a pattern, in order.
using route_params = std::vector<std::string>;

/// Answers a plain HTTP request.
using http_handler = std::function<asio::awaitable<api_response>(const api_request&, const route_params&)>;

/// Takes over an upgrade request's connection and runs the WebSocket session to its end; answers with an
/// HTTP response instead when it refuses before the handshake (unknown job, bad query).
using websocket_handler = std::function<asio::awaitable<std::optional<api_response>>(
    websocket_upgrade&, const api_request&, const route_params&)>;

/// One row of the table.
struct endpoint {
  /// Upper-case method, e.g. `GET`.
  std::string method;
  /// An absolute path whose `{name}` segments match any one non-empty segment, e.g. `/v1/jobs/{id}`.
  std::string pattern;
  /// Answers plain requests. Empty for WebSocket-only routes, whose plain requests get `426`.
  http_handler handler{};
  /// Answers upgrade requests. Empty for plain routes, which answer upgrade requests like plain ones.
  websocket_handler websocket{};
  /// Reachable without a bearer token. Only `GET` routes may be public.
  bool is_public = false;
};

/// What the table says about a request: the endpoint to run with its parameters, or the answer to send
/// instead (`404`, `405` with `Allow`, `426`). `route` is also set for a refusal of a known pattern.
struct route_match {
  const endpoint* route = nullptr;
  route_params params;
  std::optional<api_response> refusal;
  /// True when the request upgrades to WebSocket and the endpoint takes it.
  bool websocket = false;
};

class route_table {
 public:
  route_table() = default;
  /// Adds every row; throws `std::invalid_argument` for a public non-GET row or a duplicate (method,
  /// pattern).
  explicit route_table(std::vector<endpoint> rows);

  /// Adds a row (same checks). Rows never move once added: responses refer to their patterns.
  void add(endpoint row);

  /// Looks a request up. `upgrade`: the request asks for WebSocket.
  route_match find(std::string_view method, std::string_view path, bool upgrade) const;

  /// Answers a plain request that `find` looked up: the refusal, or the handler's answer, labelled with
  /// the row's pattern.
  static asio::awaitable<api_response> async_answer(route_match& found, const api_request& request);

  /// `find`, then `async_answer`, for a plain request.
  asio::awaitable<api_response> async_handle(const api_request& request) const;

  const std::deque<endpoint>& rows() const noexcept { return rows_; }

 private:
  std::deque<endpoint> rows_;
  // Each row's pattern split into segments, at the row's index.
  std::vector<std::vector<std::string>> segments_;
};

}  // namespace offload::net
