// The asynchronous client in a coroutine: submit, follow the event stream, print the result.
#include <offload/client/async_client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include <iostream>

namespace asio = boost::asio;

asio::awaitable<int> sum_job(std::string url) {
  const auto executor = co_await asio::this_coro::executor;
  offload::async_client c{executor, {.url = std::move(url)}};
  // Braced values in statements of their own, outside co_await expressions: g++ 12 miscompiles them there.
  auto spec = offload::job_spec{.type = "sum", .input = {{"n", 1000000}}};
  auto sub = co_await c.async_submit(std::move(spec));
  if (!sub) {
    std::cerr << "submit failed: " << sub.error().message << '\n';
    co_return 1;
  }
  offload::event_handler print = [](const offload::job_event& e) {
    std::cout << e.seq << ' ' << to_string(e.type) << '\n';
  };
  auto last = co_await c.async_stream(sub->id, std::move(print));
  if (!last) {
    std::cerr << "stream failed: " << last.error().message << '\n';
    co_return 1;
  }
  auto done = co_await c.async_get(sub->id);
  if (!done) co_return 1;
  std::cout << to_string(done->state) << ' ' << done->result->dump()
            << '\n';  // succeeded {"sum":"499999500000"}
  co_return done->state == offload::job_state::succeeded ? 0 : 1;
}

int main(int argc, char** argv) {
  asio::io_context io;
  int status = 1;
  asio::co_spawn(io, sum_job(argc > 1 ? argv[1] : "http://127.0.0.1:8080"),
                 [&](std::exception_ptr e, int code) {
                   if (e) std::rethrow_exception(e);
                   status = code;
                 });
  io.run();
  return status;
}
