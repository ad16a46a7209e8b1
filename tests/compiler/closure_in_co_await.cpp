// Rule 2 of offload/asio_support.hpp: g++ 12 destroys the captures of a lambda created in a co_await
// full-expression once more than it constructs them; a named lambda is correct. Exit codes as in
// braced_temporary_in_co_await.cpp.
#include "rule_check.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

asio::awaitable<void> inline_closure() {
  const counted c;
  const int n = co_await asio::co_spawn(
      co_await asio::this_coro::executor, [c]() -> asio::awaitable<int> { co_return 1; },
      asio::use_awaitable);
  (void)n;
}

asio::awaitable<void> named_closure() {
  const counted c;
  auto fn = [c]() -> asio::awaitable<int> { co_return 1; };
  const int n =
      co_await asio::co_spawn(co_await asio::this_coro::executor, std::move(fn), asio::use_awaitable);
  (void)n;
}

int main() {
  return verdict(2, balanced(inline_closure), balanced(named_closure));
}
