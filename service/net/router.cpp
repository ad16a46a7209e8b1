// Table-driven routing.
#include "net/router.hpp"

namespace offload::net {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  // Skip the leading '/'; every '/' after it starts a segment, so a trailing '/' yields an empty one.
  std::size_t start = 1;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

bool is_param(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void router::add(std::string method, std::string_view pattern, handler fn) {
  route r{std::move(method), {}, std::move(fn), std::string{pattern}};
  for (const auto s : split_path(pattern))
    r.segments.emplace_back(s);
  routes_.push_back(std::move(r));
}

bool router::match(const route& r, const std::vector<std::string_view>& path, route_params& params) {
  if (r.segments.size() != path.size()) return false;
  params.clear();
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (is_param(r.segments[i])) {
      if (path[i].empty()) return false;
      params.emplace_back(path[i]);
    } else if (r.segments[i] != path[i]) {
      return false;
    }
  }
  return true;
}

asio::awaitable<api_response> router::async_handle(const api_request& request) const {
  const auto path = split_path(request.path);
  route_params params;
  std::string allow;
  for (const auto& r : routes_) {
    if (!match(r, path, params)) continue;
    if (r.method == request.method) {
      auto response = co_await r.fn(request, params);
      response.route = r.pattern;
      co_return response;
    }
    if (!allow.empty()) allow += ", ";
    allow += r.method;
  }
  if (allow.empty()) co_return api_response::error({proto::errc::not_found, "no route for " + request.path});
  auto response =
      api_response::error({proto::errc::method_not_allowed,
                           request.method + " is not allowed on " + request.path + "; use " + allow});
  response.headers.emplace_back("Allow", std::move(allow));
  co_return response;
}

}  // namespace offload::net
