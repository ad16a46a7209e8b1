// Test HTTP client on Beast; each operation runs an io_context with a deadline.
#include "support/http_client.hpp"

#include "support/run_with_deadline.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <stdexcept>

namespace offload::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

http_response to_response(http::response<http::string_body>& res) {
  http_response out;
  out.status = res.result_int();
  for (const auto& field : res) {
    std::string name{field.name_string()};
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    out.headers[name] = std::string{field.value()};
  }
  out.body = std::move(res.body());
  return out;
}

http::request<http::string_body> make_request(unsigned short port, const std::string& method,
                                              const std::string& target, const std::string& body,
                                              const header_list& headers) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  if (!body.empty() || method == "POST") {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  for (const auto& [k, v] : headers)
    req.set(k, v);
  req.prepare_payload();
  return req;
}

asio::awaitable<http_response> exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                        http::request<http::string_body> req) {
  co_await http::async_write(stream, req, asio::use_awaitable);
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  co_return to_response(parser.get());
}

tcp::endpoint local(unsigned short port) {
  return {asio::ip::make_address("127.0.0.1"), port};
}

}  // namespace

http_response http_request(unsigned short port, const std::string& method, const std::string& target,
                           const std::string& body, const header_list& headers,
                           std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  auto op = [&]() -> asio::awaitable<http_response> {
    beast::tcp_stream stream{co_await asio::this_coro::executor};
    co_await stream.async_connect(local(port), asio::use_awaitable);
    beast::flat_buffer buffer;
    co_return co_await exchange(stream, buffer, make_request(port, method, target, body, headers));
  };
  return run_with_deadline(ioc, op(), timeout);
}

http_response http_get(unsigned short port, const std::string& target) {
  return http_request(port, "GET", target);
}

http_response http_post(unsigned short port, const std::string& target, const nlohmann::json& body) {
  return http_request(port, "POST", target, body.dump());
}

http_response http_delete(unsigned short port, const std::string& target) {
  return http_request(port, "DELETE", target);
}

std::string raw_exchange(unsigned short port, const std::string& bytes, std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  auto op = [&]() -> asio::awaitable<std::string> {
    tcp::socket socket{co_await asio::this_coro::executor};
    co_await socket.async_connect(local(port), asio::use_awaitable);
    co_await asio::async_write(socket, asio::buffer(bytes), asio::use_awaitable);
    std::string received;
    char buf[4096];
    for (;;) {
      boost::system::error_code ec;
      const auto n =
          co_await socket.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      received.append(buf, n);
      if (ec) break;
    }
    co_return received;
  };
  return run_with_deadline(ioc, op(), timeout);
}

struct http_connection::impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  unsigned short port;
};

http_connection::http_connection(unsigned short port) : impl_(std::make_unique<impl>()) {
  impl_->port = port;
  auto op = [this]() -> asio::awaitable<bool> {
    co_await impl_->stream.async_connect(local(impl_->port), asio::use_awaitable);
    co_return true;
  };
  run_with_deadline(impl_->ioc, op(), default_timeout);
}

http_connection::~http_connection() = default;

http_response http_connection::request(const std::string& method, const std::string& target,
                                       const std::string& body, std::chrono::milliseconds timeout) {
  return run_with_deadline(
      impl_->ioc, exchange(impl_->stream, impl_->buffer, make_request(impl_->port, method, target, body, {})),
      timeout);
}

}  // namespace offload::test
