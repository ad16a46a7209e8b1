// Table-driven routing.
#include "net/route_table.hpp"

#include <boost/container/small_vector.hpp>

#include <stdexcept>

namespace offload::net {
namespace {

// No route has more than a few segments: a request path's segments stay on the stack.
using path_segments = boost::container::small_vector<std::string_view, 8>;

path_segments split_path(std::string_view path) {
  path_segments segments;
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

bool match(const std::vector<std::string>& pattern, const path_segments& path, route_params& params) {
  if (pattern.size() != path.size()) return false;
  params.clear();
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (is_param(pattern[i])) {
      if (path[i].empty()) return false;
      params.emplace_back(path[i]);
    } else if (pattern[i] != path[i]) {
      return false;
    }
  }
  return true;
}

api_response with_route(api_response response, const endpoint& row) {
  response.route = row.pattern;
  return response;
}

}  // namespace

route_table::route_table(std::vector<endpoint> rows) {
  for (auto& row : rows)
    add(std::move(row));
}

void route_table::add(endpoint row) {
  if (row.is_public && row.method != "GET")
    throw std::invalid_argument("only GET routes may be public: " + row.method + " " + row.pattern);
  for (const auto& existing : rows_)
    if (existing.method == row.method && existing.pattern == row.pattern)
      throw std::invalid_argument("route registered twice: " + row.method + " " + row.pattern);
  if (!row.handler && !row.websocket)
    throw std::invalid_argument("route without a handler: " + row.method + " " + row.pattern);
  rows_.push_back(std::move(row));
  auto& segments = segments_.emplace_back();
  for (const auto s : split_path(rows_.back().pattern))
    segments.emplace_back(s);
}

route_match route_table::find(std::string_view method, std::string_view path, bool upgrade) const {
  const auto segments = split_path(path);
  route_match found;
  std::string allow;
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    if (!match(segments_[i], segments, found.params)) continue;
    const endpoint& row = rows_[i];
    if (row.method != method) {
      if (!allow.empty()) allow += ", ";
      allow += row.method;
      continue;
    }
    found.route = &row;
    found.websocket = upgrade && row.websocket;
    if (!found.websocket && !row.handler) {
      auto refusal = api_response::error(
          {proto::errc::upgrade_required, "this endpoint speaks WebSocket only; send an upgrade request"});
      refusal.headers.emplace_back("Upgrade", "websocket");
      found.refusal = with_route(std::move(refusal), row);
    }
    return found;
  }
  found.params.clear();
  if (allow.empty()) {
    found.refusal = api_response::error({proto::errc::not_found, "no route for " + std::string{path}});
    return found;
  }
  auto refusal =
      api_response::error({proto::errc::method_not_allowed, std::string{method} + " is not allowed on " +
                                                                std::string{path} + "; use " + allow});
  refusal.headers.emplace_back("Allow", std::move(allow));
  found.refusal = std::move(refusal);
  return found;
}

asio::awaitable<api_response> route_table::async_answer(route_match& found, const api_request& request) {
  if (found.refusal) co_return std::move(*found.refusal);
  auto response = co_await found.route->handler(request, found.params);
  co_return with_route(std::move(response), *found.route);
}

asio::awaitable<api_response> route_table::async_handle(const api_request& request) const {
  auto found = find(request.method, request.path, false);
  co_return co_await async_answer(found, request);
}

}  // namespace offload::net
