// WebSocket delivery benchmark against a running offloadd (loopback only).
//   fanout: N subscribers to one job that prints E short lines 1 ms apart (about E output events);
//           reports events/s delivered to all subscribers together.
//   stream: one subscriber to a job that writes M MiB to stdout; reports MB/s of output delivered.
//   watch:  N dashboards' sockets (`/v1/ws` with `watch`: stats every second, job-state batches) kept open for
//           S seconds; reports the messages and bytes they received (the load they put on the server).
// The server must define the commands `ticks` (argv ticks {input.n}) and `flood` (argv flood {input.mib}).
// Gives up (exit 1) after 120 s.
//   offload_ws_bench PORT fanout SUBSCRIBERS EVENTS | offload_ws_bench PORT stream MIB
//   offload_ws_bench PORT watch SOCKETS SECONDS
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace asio = boost::asio;
namespace beast = boost::beast;
using nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

unsigned short port = 8080;

asio::ip::tcp::endpoint server() {
  return {asio::ip::make_address("127.0.0.1"), port};
}

asio::awaitable<std::string> submit(json body) {
  beast::tcp_stream stream{co_await asio::this_coro::executor};
  co_await stream.async_connect(server(), asio::use_awaitable);
  beast::http::request<beast::http::string_body> req{beast::http::verb::post, "/v1/jobs", 11};
  req.set(beast::http::field::host, "127.0.0.1");
  req.body() = body.dump();
  req.prepare_payload();
  co_await beast::http::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  beast::http::response<beast::http::string_body> res;
  co_await beast::http::async_read(stream, buffer, res, asio::use_awaitable);
  co_return json::parse(res.body()).at("id").get<std::string>();
}

struct counters {
  std::uint64_t events = 0, bytes = 0, reconnects = 0;
  int finished = 0, connected = 0;
};

// The sequence number of an event frame, without parsing the whole frame.
std::uint64_t seq_of(const std::string& frame) {
  const auto at = frame.find("\"seq\":");
  return at == std::string::npos ? 0 : std::strtoull(frame.c_str() + at + 6, nullptr, 10);
}

// Follows a job to its end like a real client: after a 1013 (too slow) it reconnects with after=<last seq>.
asio::awaitable<void> subscribe(std::string id, counters& c) {
  std::uint64_t last = 0;
  bool first = true, done = false;
  while (!done) {
    beast::websocket::stream<beast::tcp_stream> ws{co_await asio::this_coro::executor};
    co_await beast::get_lowest_layer(ws).async_connect(server(), asio::use_awaitable);
    ws.read_message_max(256 << 20);
    co_await ws.async_handshake("127.0.0.1", "/v1/jobs/" + id + "/events?after=" + std::to_string(last),
                                asio::use_awaitable);
    if (first) ++c.connected;
    first = false;
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await ws.async_read(buffer, asio::as_tuple(asio::use_awaitable));
      if (ec) {
        done = ws.reason().code != beast::websocket::close_code::try_again_later;
        if (!done) ++c.reconnects;
        break;
      }
      ++c.events;
      c.bytes += n;
      last = seq_of(beast::buffers_to_string(buffer.data()));
      buffer.consume(n);
    }
  }
  ++c.finished;
}

// A dashboard's socket: watches until `until`, counting what arrives.
asio::awaitable<void> watch(clock_type::time_point until, counters& c) {
  beast::websocket::stream<beast::tcp_stream> ws{co_await asio::this_coro::executor};
  co_await beast::get_lowest_layer(ws).async_connect(server(), asio::use_awaitable);
  co_await ws.async_handshake("127.0.0.1", "/v1/ws", asio::use_awaitable);
  ++c.connected;
  const std::string request = R"({"op":"watch"})";
  co_await ws.async_write(asio::buffer(request), asio::use_awaitable);
  asio::steady_timer deadline{co_await asio::this_coro::executor, until};
  deadline.async_wait([&ws](boost::system::error_code ec) {
    if (!ec) beast::get_lowest_layer(ws).cancel();
  });
  beast::flat_buffer buffer;
  for (;;) {
    auto [ec, n] = co_await ws.async_read(buffer, asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    ++c.events;
    c.bytes += n;
    buffer.consume(n);
  }
  ++c.finished;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || (std::string{argv[2]} != "stream" && argc < 5)) {
    std::fprintf(stderr,
                 "usage: offload_ws_bench PORT fanout SUBSCRIBERS EVENTS | offload_ws_bench PORT stream MIB"
                 " | offload_ws_bench PORT watch SOCKETS SECONDS\n");
    return 2;
  }
  port = static_cast<unsigned short>(std::atoi(argv[1]));
  const std::string mode = argv[2];
  const bool fanout = mode == "fanout";
  const int n = std::atoi(argv[3]);
  if (mode == "watch") {
    const auto seconds = std::chrono::seconds{argc > 4 ? std::atoi(argv[4]) : 10};
    asio::io_context ioc{1};
    counters c;
    const auto until = clock_type::now() + seconds;
    for (int i = 0; i < n; ++i)
      asio::co_spawn(ioc, watch(until, c), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
    ioc.run();
    std::printf("{\"watchers\":%d,\"messages\":%llu,\"bytes\":%llu,\"seconds\":%lld}\n", c.finished,
                static_cast<unsigned long long>(c.events), static_cast<unsigned long long>(c.bytes),
                static_cast<long long>(seconds.count()));
    return c.finished == n ? 0 : 1;
  }
  const int events = fanout ? std::atoi(argv[4]) : 0;
  asio::io_context ioc{1};
  counters c;
  const auto start = clock_type::now();
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        // Bodies are built before the co_await (rule 1 of offload/asio_support.hpp).
        json body;
        if (fanout)
          body = {{"type", "ticks"}, {"input", {{"n", events}}}};
        else
          body = {{"type", "flood"}, {"input", {{"mib", n}}}};
        const auto id = co_await submit(std::move(body));
        for (int i = 0; i < (fanout ? n : 1); ++i)
          asio::co_spawn(ioc, subscribe(id, c), asio::detached);
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  const int expected = fanout ? n : 1;
  const auto give_up = start + std::chrono::seconds{120};
  while (c.finished < expected && clock_type::now() < give_up)
    ioc.run_one_for(std::chrono::seconds{1});
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  if (c.finished < expected) {
    std::fprintf(stderr, "ws_bench: only %d of %d subscribers finished within 120 s\n", c.finished, expected);
    return 1;
  }
  if (fanout)
    std::printf(
        "{\"subscribers\":%d,\"events\":%llu,\"reconnects\":%llu,\"seconds\":%.3f,\"events_per_s\":%.0f}\n",
        n, static_cast<unsigned long long>(c.events), static_cast<unsigned long long>(c.reconnects), seconds,
        static_cast<double>(c.events) / seconds);
  else
    std::printf("{\"mib\":%d,\"frame_bytes\":%llu,\"reconnects\":%llu,\"seconds\":%.3f,\"mb_per_s\":%.1f}\n",
                n, static_cast<unsigned long long>(c.bytes), static_cast<unsigned long long>(c.reconnects),
                seconds, static_cast<double>(c.bytes) / 1e6 / seconds);
  return 0;
}
