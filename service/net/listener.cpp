// Accept loop with a connection cap.
#include "net/listener.hpp"

#include "core/logger.hpp"
#include "net/http_session.hpp"

#include <offload/asio_support.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <stdexcept>
#include <string>

namespace offload::net {

namespace {
const bearer_auth open_access;
}  // namespace

listener::listener(asio::any_io_executor executor, const route_table& routes, http_limits limits,
                   const bearer_auth* auth, core::metrics_registry* metrics)
    : executor_(executor),
      acceptor_(executor),
      limits_(limits),
      in_flight_(executor),
      context_{routes, limits_, auth ? *auth : open_access, in_flight_, metrics} {}

tcp::endpoint listener::parse_endpoint(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    throw std::invalid_argument("expected HOST:PORT, got '" + std::string{text} + "'");
  auto host = text.substr(0, colon);
  const auto port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
    throw std::invalid_argument("invalid port in '" + std::string{text} + "'");
  boost::system::error_code addr_ec;
  const auto address = asio::ip::make_address(std::string{host}, addr_ec);
  if (!addr_ec) return {address, static_cast<unsigned short>(port)};
  // A name (`localhost`, the machine's own name): resolved once, at start-up, before the reactor serves
  // anything. Its first IPv4 address, else its first IPv6 one.
  if (host.empty()) throw std::invalid_argument("expected HOST:PORT, got '" + std::string{text} + "'");
  asio::io_context once;
  tcp::resolver resolver{once};
  boost::system::error_code resolve_ec;
  const auto found = resolver.resolve(std::string{host}, std::string{port_text},
                                      tcp::resolver::passive | tcp::resolver::numeric_service, resolve_ec);
  if (resolve_ec || found.empty())
    throw std::invalid_argument("cannot resolve '" + std::string{host} +
                                "': " + (resolve_ec ? resolve_ec.message() : std::string{"no address"}));
  for (const auto& entry : found)
    if (entry.endpoint().address().is_v4()) return entry.endpoint();
  return found.begin()->endpoint();
}

tcp::endpoint listener::bind(const tcp::endpoint& endpoint) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  return acceptor_.local_endpoint();
}

void listener::start() {
  asio::co_spawn(executor_, accept_loop(), core::log_coroutine_failure("accept loop"));
}

void listener::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> listener::async_quiesce(std::chrono::steady_clock::duration limit) {
  co_await in_flight_.async_wait_zero(limit);
}

asio::awaitable<void> listener::accept_loop() {
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      // Out of file descriptors and the like: log, back off briefly so as not to spin, keep accepting.
      core::log(core::log_level::warn, "accept failed", {{"what", ec.message()}});
      asio::steady_timer pause{executor_, std::chrono::milliseconds{50}};
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (connections_ >= limits_.max_connections) {
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    ++connections_;
    asio::co_spawn(executor_, run_http_session(std::move(socket), context_), [this](std::exception_ptr e) {
      --connections_;
      core::log_coroutine_failure("http session")(e);
    });
  }
}

}  // namespace offload::net
