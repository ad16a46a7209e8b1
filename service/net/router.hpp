// Routing by a table of (method, path pattern) → handler, so that 404 and 405 are told apart.
#pragma once

#include "net/api_request.hpp"
#include "net/api_response.hpp"
#include "net/net.hpp"

#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace offload::net {

/// Values captured by `{name}` segments of a pattern, in order.
using route_params = std::vector<std::string>;

class router {
 public:
  using handler = std::function<asio::awaitable<api_response>(const api_request&, const route_params&)>;

  /// Adds a route. `pattern` is an absolute path whose `{name}` segments match any one non-empty segment.
  void add(std::string method, std::string_view pattern, handler fn);

  /// Runs the matching handler; `404 not_found` when no pattern matches the path,
  /// `405 method_not_allowed` with `Allow` when patterns match but not for this method.
  asio::awaitable<api_response> async_handle(const api_request& request) const;

 private:
  struct route {
    std::string method;
    std::vector<std::string> segments;
    handler fn;
    /// As given to `add`; responses refer to it, so routes never move (a deque).
    std::string pattern;
  };

  static bool match(const route& r, const std::vector<std::string_view>& path, route_params& params);

  std::deque<route> routes_;
};

}  // namespace offload::net
