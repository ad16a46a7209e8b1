// An HTTP request as the API handlers see it: no Beast types, so handlers and the router test without
// sockets.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace offload::net {

struct api_request {
  /// Upper-case method, e.g. `GET`.
  std::string method;
  /// Percent-decoded path without the query, e.g. `/v1/jobs/abc`.
  std::string path;
  /// Percent-decoded query parameters in order of appearance.
  std::vector<std::pair<std::string, std::string>> query;
  std::string body;
  /// The `If-None-Match` header, for routes that answer `304`.
  std::string if_none_match{};

  /// The first value of query parameter `name`.
  std::optional<std::string_view> query_value(std::string_view name) const {
    for (const auto& [k, v] : query)
      if (k == name) return v;
    return std::nullopt;
  }

  /// Splits `target` (`/path?a=1&b=2`) into path and query, percent-decoding both.
  /// `std::nullopt` for a target that is not an absolute path or has a bad escape.
  static std::optional<api_request> from_target(std::string method, std::string_view target,
                                                std::string body);
};

}  // namespace offload::net
