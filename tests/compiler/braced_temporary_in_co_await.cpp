// Rule 1 of offload/asio_support.hpp: g++ 12 destroys a brace-initialised temporary twice when it is
// created in a full-expression that contains co_await; naming it first is correct. Exits 0 while the
// miscompilation is there (so the rule is needed) and the named form is right; 1 when the compiler no
// longer miscompiles (drop the rule); 2 when even the named form is wrong (the rule is not enough).
#include "rule_check.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

struct spec {
  counted member;
  int n = 0;
};

asio::awaitable<int> take(const spec& s) {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  co_return s.n;
}

asio::awaitable<void> braced() {
  const int n = co_await take(spec{.n = 1});
  (void)n;
}

asio::awaitable<void> named() {
  const auto s = spec{.n = 1};
  const int n = co_await take(s);
  (void)n;
}

int main() {
  return verdict(1, balanced(braced), balanced(named));
}
