// Test WebSocket client on Beast, each operation bounded by running its io_context for a deadline.
#include "support/ws_client.hpp"

#include "support/run_with_deadline.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <stdexcept>

namespace offload::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

struct ws_client::impl {
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
};

ws_client::ws_client(unsigned short port, const std::string& target, ws_connect_options options)
    : impl_(std::make_unique<impl>()) {
  auto& socket = beast::get_lowest_layer(impl_->ws).socket();
  socket.open(asio::ip::tcp::v4());
  if (options.receive_buffer_bytes > 0)
    socket.set_option(asio::socket_base::receive_buffer_size{options.receive_buffer_bytes});
  auto op = [this, port, target]() -> asio::awaitable<bool> {
    co_await beast::get_lowest_layer(impl_->ws).async_connect(
        asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
    impl_->ws.read_message_max(64 * 1024 * 1024);
    impl_->ws.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::ping) ++pings_;
    });
    co_await impl_->ws.async_handshake("127.0.0.1:" + std::to_string(port), target, asio::use_awaitable);
    co_return true;
  };
  run_with_deadline(impl_->ioc, op(), options.timeout);
}

ws_client::~ws_client() = default;

std::optional<std::string> ws_client::read(std::chrono::milliseconds timeout) {
  if (close_code_) return std::nullopt;
  auto op = [this]() -> asio::awaitable<std::optional<std::string>> {
    auto [ec, n] = co_await impl_->ws.async_read(impl_->buffer, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      close_code_ = ec == websocket::error::closed ? static_cast<int>(impl_->ws.reason().code) : -1;
      co_return std::nullopt;
    }
    auto text = beast::buffers_to_string(impl_->buffer.data());
    impl_->buffer.consume(n);
    co_return text;
  };
  return run_with_deadline(impl_->ioc, op(), timeout);
}

std::optional<nlohmann::json> ws_client::read_json(std::chrono::milliseconds timeout) {
  auto text = read(timeout);
  if (!text) return std::nullopt;
  return nlohmann::json::parse(*text);
}

std::vector<nlohmann::json> ws_client::read_all(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<nlohmann::json> out;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("WebSocket stream did not close in time");
    auto message = read_json(left);
    if (!message) return out;
    out.push_back(std::move(*message));
  }
}

void ws_client::read_outputs(int outputs, std::uint64_t& last, std::chrono::milliseconds timeout) {
  while (outputs > 0) {
    const auto e = read_json(timeout);
    if (!e) throw std::runtime_error("WebSocket stream closed before the outputs");
    if ((*e)["seq"].get<std::uint64_t>() != last + 1)
      throw std::runtime_error("event out of order after seq " + std::to_string(last) + ": " + e->dump());
    last = (*e)["seq"];
    outputs -= (*e)["type"] == "output" ? 1 : 0;
  }
}

void ws_client::send(const std::string& text) {
  auto op = [this, &text]() -> asio::awaitable<bool> {
    co_await impl_->ws.async_write(asio::buffer(text), asio::use_awaitable);
    co_return true;
  };
  run_with_deadline(impl_->ioc, op(), std::chrono::seconds{10});
}

void ws_client::send_binary(const std::string& bytes) {
  impl_->ws.binary(true);
  send(bytes);
  impl_->ws.text(true);
}

void ws_client::drop() {
  boost::system::error_code ignored;
  beast::get_lowest_layer(impl_->ws).socket().close(ignored);
  close_code_ = -1;
}

unsigned ws_client::refused_status(unsigned short port, const std::string& target) {
  asio::io_context ioc;
  auto op = [&]() -> asio::awaitable<unsigned> {
    websocket::stream<beast::tcp_stream> ws{co_await asio::this_coro::executor};
    co_await beast::get_lowest_layer(ws).async_connect(
        asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
    websocket::response_type res;
    auto [ec] = co_await ws.async_handshake(res, "127.0.0.1", target, asio::as_tuple(asio::use_awaitable));
    co_return ec ? res.result_int() : 0u;
  };
  return run_with_deadline(ioc, op(), std::chrono::seconds{10});
}

}  // namespace offload::test
