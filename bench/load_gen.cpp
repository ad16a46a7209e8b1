// HTTP load generator for the bench suite (loopback only).
//   closed loop: --connections C clients, each sending its next request as soon as the answer arrives;
//   open loop:   --rate R requests per second on one connection (a probe that measures latency, not
//   capacity).
// Prints one JSON line: requests, seconds, rps, latency percentiles in ms, errors, and answers by status.
//   offload_load --port P --seconds S [--connections C | --rate R] [--requests N] [--method M] [--path P]
//                [--body JSON]
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct settings {
  unsigned short port = 8080;
  double seconds = 5;
  int connections = 16;
  double rate = 0;                 // > 0: open-loop probe
  std::uint64_t max_requests = 0;  // > 0: stop after this many answers
  std::string method = "GET";
  std::string path = "/healthz";
  std::string body;
};

struct results {
  std::vector<double> latencies_ms;
  std::map<unsigned, std::uint64_t> statuses;
  std::uint64_t errors = 0;
};

http::request<http::string_body> make_request(const settings& s) {
  http::request<http::string_body> req(http::string_to_verb(s.method), s.path, 11);
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  req.body() = s.body;
  req.keep_alive(true);
  req.prepare_payload();
  return req;
}

// One request on `stream` (reconnecting when needed); records the latency and the status.
asio::awaitable<void> exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer, const settings& s,
                               results& r, bool& connected) {
  if (!connected) {
    stream.expires_after(std::chrono::seconds{5});
    auto [cec] = co_await stream.async_connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.port), use_tuple);
    if (cec) {
      ++r.errors;
      co_return;
    }
    connected = true;
  }
  auto req = make_request(s);
  const auto started = clock_type::now();
  stream.expires_after(std::chrono::seconds{60});
  auto [wec, w] = co_await http::async_write(stream, req, use_tuple);
  http::response<http::string_body> res;
  boost::system::error_code rec;
  if (!wec) std::tie(rec, w) = co_await http::async_read(stream, buffer, res, use_tuple);
  if (wec || rec) {
    ++r.errors;
    stream.close();
    connected = false;
    co_return;
  }
  r.latencies_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - started).count());
  ++r.statuses[res.result_int()];
  if (!res.keep_alive()) {
    stream.close();
    connected = false;
  }
}

asio::awaitable<void> closed_loop(settings s, clock_type::time_point end, results* r) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  beast::flat_buffer buffer;
  bool connected = false;
  while (clock_type::now() < end &&
         (s.max_requests == 0 || r->latencies_ms.size() + r->errors < s.max_requests))
    co_await exchange(stream, buffer, s, *r, connected);
}

asio::awaitable<void> open_loop(settings s, clock_type::time_point end, results* r) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  beast::flat_buffer buffer;
  bool connected = false;
  asio::steady_timer tick(co_await asio::this_coro::executor);
  const auto period =
      std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(1.0 / s.rate));
  for (auto next = clock_type::now(); next < end; next += period) {
    tick.expires_at(next);
    co_await tick.async_wait(use_tuple);
    co_await exchange(stream, buffer, s, *r, connected);
  }
}

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto at = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(at, sorted.size() - 1)];
}

std::string escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--port")
      s.port = static_cast<unsigned short>(std::atoi(value));
    else if (flag == "--seconds")
      s.seconds = std::atof(value);
    else if (flag == "--connections")
      s.connections = std::atoi(value);
    else if (flag == "--rate")
      s.rate = std::atof(value);
    else if (flag == "--method")
      s.method = value;
    else if (flag == "--path")
      s.path = value;
    else if (flag == "--body")
      s.body = value;
    else if (flag == "--requests")
      s.max_requests = std::strtoull(value, nullptr, 10);
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  asio::io_context io{1};
  results r;
  const auto started = clock_type::now();
  const auto end =
      started + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s.seconds));
  if (s.rate > 0) {
    asio::co_spawn(io, open_loop(s, end, &r), asio::detached);
  } else {
    for (int c = 0; c < s.connections; ++c)
      asio::co_spawn(io, closed_loop(s, end, &r), asio::detached);
  }
  io.run();
  const double elapsed = std::chrono::duration<double>(clock_type::now() - started).count();
  std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
  std::string statuses;
  for (const auto& [status, count] : r.statuses)
    statuses +=
        (statuses.empty() ? "" : ",") + ("\"" + std::to_string(status) + "\":" + std::to_string(count));
  std::printf(
      "{\"method\":\"%s\",\"path\":\"%s\",\"requests\":%zu,\"seconds\":%.3f,\"rps\":%.1f,\"p50_ms\":%.3f,"
      "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%llu,\"status\":{%s}}\n",
      escape(s.method).c_str(), escape(s.path).c_str(), r.latencies_ms.size(), elapsed,
      static_cast<double>(r.latencies_ms.size()) / elapsed, percentile(r.latencies_ms, 0.5),
      percentile(r.latencies_ms, 0.99), r.latencies_ms.empty() ? 0.0 : r.latencies_ms.back(),
      static_cast<unsigned long long>(r.errors), statuses.c_str());
  return r.latencies_ms.empty() ? 1 : 0;
}
