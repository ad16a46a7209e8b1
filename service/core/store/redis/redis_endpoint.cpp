#include "core/store/redis/redis_endpoint.hpp"

#include <charconv>

namespace offload::core {
namespace {

proto::error bad(std::string_view why) {
  return {proto::errc::invalid_input,
          "--store: " + std::string{why} + " (expected redis://[user:password@]HOST[:PORT][/DB])"};
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Percent-decodes a user or password.
std::optional<std::string> decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_digit(text[i + 1]), low = hex_digit(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

template <class T>
bool parse_number(std::string_view text, T& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

bool host_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

}  // namespace

proto::result<redis_endpoint> redis_endpoint::parse(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  if (!url.starts_with(scheme)) return bad("a Redis store is a redis:// URL");
  auto rest = url.substr(scheme.size());
  redis_endpoint e;

  // The credentials end at the last '@' (a password may contain '@' only percent-encoded, but be lenient).
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const auto credentials = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = credentials.find(':');
    auto user = decode(credentials.substr(0, colon));
    if (!user) return bad("the user has a bad %-escape");
    e.user = std::move(*user);
    if (colon != std::string_view::npos) {
      auto password = decode(credentials.substr(colon + 1));
      if (!password) return bad("the password has a bad %-escape");
      e.password = std::move(*password);
    }
    if (e.password.empty() && !e.user.empty())
      return bad("a user needs a password (redis://user:password@host)");
  }

  const auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    const auto db = rest.substr(slash + 1);
    if (!db.empty() && (!parse_number(db, e.db) || e.db < 0 || e.db > max_db))
      return bad("the database must be a number from 0, got '" + std::string{db} + "'");
  }

  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address lacks its ']'");
    e.host = std::string{authority.substr(1, close - 1)};
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after the IPv6 address");
      port = after.substr(1);
      if (port.empty()) return bad("the port is empty");
    }
    if (e.host.empty() || e.host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
      return bad("'" + e.host + "' is not an IPv6 address");
  } else {
    const auto colon = authority.rfind(':');
    e.host = std::string{authority.substr(0, colon)};
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return bad("the port is empty");
    }
    if (e.host.empty()) return bad("the host is missing");
    for (const char c : e.host)
      if (!host_char(c)) return bad("the host '" + e.host + "' has a character a host name cannot have");
  }
  if (!port.empty()) {
    unsigned value = 0;
    if (!parse_number(port, value) || value == 0 || value > 65535)
      return bad("the port must be from 1 to 65535, got '" + std::string{port} + "'");
    e.port = static_cast<std::uint16_t>(value);
  }
  return e;
}

std::string redis_endpoint::describe() const {
  std::string out = "redis://";
  if (!user.empty()) out += user + "@";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ":" + std::to_string(port) + "/" + std::to_string(db);
  return out;
}

}  // namespace offload::core
