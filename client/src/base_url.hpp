// The parts of the client's base URL.
#pragma once

#include <offload/client/error.hpp>

#include <string>
#include <string_view>

namespace offload::client_detail {

/// `http://host[:port][/prefix]`.
struct base_url {
  std::string host;
  std::string port = "80";
  /// Path prefix without a trailing slash ("" or "/offload").
  std::string prefix;

  /// The `Host` header value.
  std::string host_header() const {
    const auto name = host.find(':') == std::string::npos ? host : "[" + host + "]";
    return port == "80" ? name : name + ":" + port;
  }

  static result<base_url> parse(std::string_view url);
};

/// Percent-encodes a path segment or query value (RFC 3986 unreserved characters stay).
std::string url_encode(std::string_view text);

}  // namespace offload::client_detail
