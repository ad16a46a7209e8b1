// Baseline for the `overhead` scenario: the least a single-threaded Beast server can do per request — read
// it, answer a fixed small JSON body, keep the connection alive. Prints "listening on http://127.0.0.1:PORT".
//   offload_baseline_server [PORT]
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <cstdlib>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> session(asio::ip::tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    auto [rec, n] = co_await http::async_read(stream, buffer, req, use_tuple);
    if (rec) co_return;
    http::response<http::string_body> res(http::status::ok, req.version());
    res.set(http::field::content_type, "application/json");
    res.body() = R"({"id":"000000000001deadbeef","state":"succeeded","result":{"a":1}})";
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [wec, w] = co_await http::async_write(stream, res, use_tuple);
    if (wec || !req.keep_alive()) co_return;
  }
}

asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) co_return;
    socket.set_option(asio::ip::tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  asio::io_context io{1};
  const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0);
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), port});
  std::printf("listening on http://127.0.0.1:%u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
  std::fflush(stdout);
  asio::co_spawn(io, accept_loop(std::move(acceptor)), asio::detached);
  io.run();
}
