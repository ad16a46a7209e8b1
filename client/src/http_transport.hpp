// HTTP/1.1 requests to the server over kept-alive connections, with connect and request deadlines.
#pragma once

#include "base_url.hpp"

#include <offload/client/error.hpp>
#include <offload/client/options.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace offload::client_detail {

/// A complete HTTP answer, whatever its status.
struct http_answer {
  unsigned status = 0;
  std::string body;
  /// Values of the headers the API uses.
  std::string retry_after;
  bool replayed = false;
};

/// Maps a transport failure to the client's codes (`timeout`, `connect_failed`, `connection_lost`, …).
error transport_error(const boost::system::error_code& ec, std::string_view what);

class http_transport {
 public:
  http_transport(boost::asio::any_io_executor executor, base_url url, const client_options& options);

  /// Sends one request and reads the whole answer within `request_timeout + extra`. When a reused
  /// kept-alive connection turns out to have been closed by the server and `retry_safe`, the request is
  /// sent once more on a fresh connection.
  boost::asio::awaitable<result<http_answer>> request(boost::beast::http::verb method, std::string target,
                                                      std::string body, std::chrono::milliseconds extra,
                                                      bool retry_safe);

  /// A request without a body that may be resent (GET, DELETE). A plain function, so that callers'
  /// co_await expressions hold no braced temporaries (rule 1 of offload/asio_support.hpp).
  boost::asio::awaitable<result<http_answer>> request(boost::beast::http::verb method, std::string target) {
    return request(method, std::move(target), std::string{}, std::chrono::milliseconds{0}, true);
  }

  /// Resolves and connects within `connect_timeout`.
  boost::asio::awaitable<result<boost::beast::tcp_stream>> connect();

  const base_url& url() const noexcept { return url_; }

 private:
  static constexpr std::size_t max_idle_connections = 8;

  boost::asio::awaitable<result<http_answer>> exchange(boost::beast::tcp_stream& stream,
                                                       boost::beast::http::verb method,
                                                       const std::string& target, const std::string& body,
                                                       std::chrono::milliseconds timeout, bool& keep_alive);

  boost::asio::any_io_executor executor_;
  base_url url_;
  const client_options& options_;
  std::vector<boost::beast::tcp_stream> idle_;
};

}  // namespace offload::client_detail
