// Rule 1 of offload/asio_support.hpp, compile-time half: an initializer_list inside a co_await
// full-expression does not compile on g++ 12 ("array used as initializer"). The test suite compiles this
// file and expects exactly that error; the day it compiles, the rule's comment can be relaxed.
#include <boost/asio/awaitable.hpp>

#include <vector>

namespace asio = boost::asio;

struct spec {
  std::vector<int> values;
};

asio::awaitable<std::size_t> take(spec s) {
  co_return s.values.size();
}

asio::awaitable<void> use() {
  const auto n = co_await take(spec{.values = {7}});
  (void)n;
}
