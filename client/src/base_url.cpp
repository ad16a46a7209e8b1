// Parsing the base URL.
#include "base_url.hpp"

#include <charconv>

namespace offload::client_detail {
namespace {

result<base_url> invalid(std::string_view url, std::string_view why) {
  return make_error(errc::invalid_url, "invalid server URL '" + std::string{url} + "': " + std::string{why});
}

}  // namespace

result<base_url> base_url::parse(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (url.starts_with("https://"))
    return invalid(url, "TLS is not supported; use plain http:// (behind a TLS-terminating proxy if needed)");
  if (!url.starts_with(scheme)) return invalid(url, "must start with http://");
  auto rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  base_url parsed;
  if (slash != std::string_view::npos) {
    auto path = rest.substr(slash);
    while (path.ends_with('/'))
      path.remove_suffix(1);
    if (path.find_first_of("?#") != std::string_view::npos)
      return invalid(url, "no query or fragment allowed");
    parsed.prefix = std::string{path};
  }
  if (authority.find('@') != std::string_view::npos)
    return invalid(url, "credentials in the URL are not supported; use the bearer token option");
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {  // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return invalid(url, "unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':') || after.size() == 1) return invalid(url, "garbage after the IPv6 address");
      port = after.substr(1);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return invalid(url, "empty port");
  }
  if (host.empty()) return invalid(url, "no host");
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
      return invalid(url, "the port must be a number from 1 to 65535");
    parsed.port = std::string{port};
  }
  parsed.host = std::string{host};
  return parsed;
}

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const unsigned char c : text) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace offload::client_detail
