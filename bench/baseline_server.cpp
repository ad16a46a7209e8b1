// Baselines for the `overhead` and `process` scenarios: the least a single-threaded Beast server can do per
// request — read it, answer a fixed small JSON body, keep the connection alive — and the least each lane's
// design can do, with no job, log, store or JSON (the hand-off floors):
//   --threads N   each request is a line written to the pipe of one of N threads (round robin), whose answer
//                 line the reactor reads back from another pipe before it writes the response: one round trip
//                 between threads per request, as a job of the thread lane takes;
//   --children N  the same with N child processes forked at start: one round trip to a warm process per
//                 request, as a job of the process lane takes.
// Prints "listening on http://127.0.0.1:PORT".
//   offload_baseline_server [--threads N | --children N] [PORT]
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <thread>
#include <unistd.h>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view answer = R"({"id":"000000000001deadbeef","state":"succeeded","result":{"a":1}})";

// A thread or child started for --threads or --children: reads request lines, writes one answer line for
// each. Its input ends only when the server does (in a thread, `_exit` then ends the whole process).
[[noreturn]] void helper_main(int in, int out) {
  std::array<char, 4096> buf{};
  std::string replies;
  for (;;) {
    const auto n = ::read(in, buf.data(), buf.size());
    if (n <= 0) ::_exit(0);
    replies.clear();
    for (ssize_t i = 0; i < n; ++i)
      if (buf[static_cast<std::size_t>(i)] == '\n') replies.append(answer).push_back('\n');
    for (std::size_t done = 0; done < replies.size();) {
      const auto w = ::write(out, replies.data() + done, replies.size() - done);
      if (w <= 0) ::_exit(1);
      done += static_cast<std::size_t>(w);
    }
  }
}

// The reactor's side of one thread or child: requests go down one pipe, answers come back in order on the
// other.
struct helper {
  helper(asio::io_context& io, int to, int from) : to_helper{io, to}, from_helper{io, from} {}
  asio::posix::stream_descriptor to_helper, from_helper;
  // Who waits for the next answers, in the order their requests were written.
  std::deque<std::pair<asio::steady_timer*, std::string*>> waiting;
};
std::deque<helper> helpers;
std::size_t next_helper = 0;

asio::awaitable<void> read_answers(helper& h) {
  std::string in;
  for (;;) {
    auto [ec, n] = co_await asio::async_read_until(h.from_helper, asio::dynamic_buffer(in), '\n', use_tuple);
    if (ec) co_return;
    auto [timer, out] = h.waiting.front();
    h.waiting.pop_front();
    out->assign(in, 0, n - 1);
    in.erase(0, n);
    timer->cancel();
  }
}

// Starts COUNT threads or child processes, each with a pipe each way.
void start_helpers(asio::io_context& io, int count, bool threads) {
  for (int i = 0; i < count; ++i) {
    int down[2], up[2];
    if (::pipe(down) != 0 || ::pipe(up) != 0) std::exit(1);
    if (threads) {
      std::thread{[in = down[0], out = up[1]] { helper_main(in, out); }}.detach();
      helpers.emplace_back(io, down[1], up[0]);
      continue;
    }
    const pid_t pid = ::fork();
    if (pid < 0) std::exit(1);
    if (pid == 0) {
      ::close(down[1]);
      ::close(up[0]);
      helper_main(down[0], up[1]);
    }
    ::close(down[0]);
    ::close(up[1]);
    helpers.emplace_back(io, down[1], up[0]);
  }
  for (auto& h : helpers)
    asio::co_spawn(io, read_answers(h), asio::detached);
}

// The answer of the next thread or child.
asio::awaitable<std::string> ask_helper(asio::steady_timer& wake) {
  auto& h = helpers[next_helper++ % helpers.size()];
  std::string out;
  h.waiting.emplace_back(&wake, &out);
  // A request line is far below PIPE_BUF, and at most one per connection is in a pipe: it never blocks.
  static constexpr char line = '\n';
  boost::system::error_code ec;
  asio::write(h.to_helper, asio::buffer(&line, 1), ec);
  if (ec) std::exit(1);
  wake.expires_at(asio::steady_timer::time_point::max());
  co_await wake.async_wait(use_tuple);
  co_return out;
}

asio::awaitable<void> session(asio::ip::tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  asio::steady_timer wake{stream.get_executor()};
  for (;;) {
    http::request<http::string_body> req;
    auto [rec, n] = co_await http::async_read(stream, buffer, req, use_tuple);
    if (rec) co_return;
    http::response<http::string_body> res(http::status::ok, req.version());
    res.set(http::field::content_type, "application/json");
    if (!helpers.empty())
      res.body() = co_await ask_helper(wake);
    else
      res.body() = answer;
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
  int arg = 1;
  if (argc > 2 && (std::strcmp(argv[1], "--threads") == 0 || std::strcmp(argv[1], "--children") == 0)) {
    start_helpers(io, std::atoi(argv[2]), std::strcmp(argv[1], "--threads") == 0);
    arg = 3;
  }
  const auto port = static_cast<unsigned short>(argc > arg ? std::atoi(argv[arg]) : 0);
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), port});
  std::printf("listening on http://127.0.0.1:%u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
  std::fflush(stdout);
  asio::co_spawn(io, accept_loop(std::move(acceptor)), asio::detached);
  io.run();
}
