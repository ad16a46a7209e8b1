// The fault-injecting proxy and the silent server.
#include "support/tcp_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <thread>
#include <vector>

namespace offload::test {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct pair_state {
  explicit pair_state(tcp::socket c) : client(std::move(c)), server(client.get_executor()) {}
  tcp::socket client;
  tcp::socket server;
  void close() {
    boost::system::error_code ignored;
    client.close(ignored);
    server.close(ignored);
  }
};

enum class pump_mode { forward, cut, swallow };

// Copies one direction until EOF, then closes both sockets. `cut` stops after `limit` bytes; `swallow`
// reads everything and delivers nothing.
asio::awaitable<void> pump(std::shared_ptr<pair_state> state, bool to_client, pump_mode mode,
                           std::size_t limit) {
  auto& from = to_client ? state->server : state->client;
  auto& to = to_client ? state->client : state->server;
  std::array<char, 16384> buffer{};
  std::size_t sent = 0;
  for (;;) {
    auto [rec, n] = co_await from.async_read_some(asio::buffer(buffer), use_tuple);
    if (rec) break;
    if (mode == pump_mode::swallow) break;  // the server answered: drop the answer and the connection
    if (mode == pump_mode::cut) n = std::min(n, limit - sent);
    auto [wec, written] = co_await asio::async_write(to, asio::buffer(buffer.data(), n), use_tuple);
    if (wec) break;
    sent += n;
    if (mode == pump_mode::cut && sent >= limit) break;
  }
  state->close();
}

bool contains_nocase(std::string text, std::string needle) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text.find(needle) != std::string::npos;
}

}  // namespace

struct tcp_proxy::impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  unsigned short upstream;
  faults fault;
  std::atomic<int> connections{0};
  std::atomic<int> upgrades{0};
  std::thread thread;

  static asio::awaitable<void> session(impl* self, std::shared_ptr<pair_state> state) {
    auto [cec] = co_await state->server.async_connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), self->upstream), use_tuple);
    if (cec) co_return state->close();
    std::array<char, 16384> first{};
    auto [rec, n] = co_await state->client.async_read_some(asio::buffer(first), use_tuple);
    if (rec) co_return state->close();
    const std::string head(first.data(), n);
    const bool upgrade = contains_nocase(head, "upgrade: websocket");
    if (upgrade) ++self->upgrades;
    if (upgrade && self->fault.refuse_upgrades) {
      static constexpr std::string_view refusal =
          "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      co_await asio::async_write(state->client, asio::buffer(refusal), use_tuple);
      co_return state->close();
    }
    auto down = pump_mode::forward;
    if (upgrade && self->fault.cut_streams.fetch_sub(1) > 0)
      down = pump_mode::cut;
    else if (head.starts_with("POST ") && self->fault.swallow_posts.fetch_sub(1) > 0)
      down = pump_mode::swallow;
    auto [wec, written] = co_await asio::async_write(state->server, asio::buffer(head), use_tuple);
    if (wec) co_return state->close();
    asio::co_spawn(state->client.get_executor(), pump(state, false, pump_mode::forward, 0), asio::detached);
    co_await pump(state, true, down, self->fault.cut_after_bytes.load());
  }

  static asio::awaitable<void> accept_loop(impl* self) {
    for (;;) {
      auto [ec, socket] = co_await self->acceptor.async_accept(use_tuple);
      if (ec) co_return;
      ++self->connections;
      asio::co_spawn(self->io, session(self, std::make_shared<pair_state>(std::move(socket))),
                     asio::detached);
    }
  }
};

tcp_proxy::tcp_proxy(unsigned short upstream_port) : impl_(std::make_unique<impl>()) {
  impl_->upstream = upstream_port;
  asio::co_spawn(impl_->io, impl::accept_loop(impl_.get()), asio::detached);
  impl_->thread = std::thread([io = &impl_->io] { io->run(); });
}

tcp_proxy::~tcp_proxy() {
  impl_->io.stop();
  impl_->thread.join();
}

unsigned short tcp_proxy::port() const noexcept {
  return impl_->acceptor.local_endpoint().port();
}

tcp_proxy::faults& tcp_proxy::fault() noexcept {
  return impl_->fault;
}

int tcp_proxy::connections() const noexcept {
  return impl_->connections;
}

int tcp_proxy::upgrades() const noexcept {
  return impl_->upgrades;
}

struct silent_server::impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::vector<tcp::socket> held;
  std::thread thread;

  static asio::awaitable<void> accept_loop(impl* self) {
    for (;;) {
      auto [ec, socket] = co_await self->acceptor.async_accept(use_tuple);
      if (ec) co_return;
      self->held.push_back(std::move(socket));  // read nothing, answer nothing, keep it open
    }
  }
};

silent_server::silent_server() : impl_(std::make_unique<impl>()) {
  asio::co_spawn(impl_->io, impl::accept_loop(impl_.get()), asio::detached);
  impl_->thread = std::thread([io = &impl_->io] { io->run(); });
}

silent_server::~silent_server() {
  impl_->io.stop();
  impl_->thread.join();
}

unsigned short silent_server::port() const noexcept {
  return impl_->acceptor.local_endpoint().port();
}

}  // namespace offload::test
