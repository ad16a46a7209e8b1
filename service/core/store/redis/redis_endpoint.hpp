// Where the Redis store is: `redis://[user:password@]HOST[:PORT][/DB]`, parsed once at start-up.
#pragma once

#include <offload/proto/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace offload::core {

/// A Redis server and how to log in to it. The password is never part of `describe()`.
struct redis_endpoint {
  static constexpr std::uint16_t default_port = 6379;
  /// Redis's default build has 16 databases; a server may have more, so only the sign and size are checked.
  static constexpr long max_db = 1'000'000;

  /// A host name, an IPv4 address, or an IPv6 address without its brackets.
  std::string host;
  std::uint16_t port = default_port;
  /// ACL user (Redis 6+); empty for the `default` user.
  std::string user;
  /// Empty when the server needs none.
  std::string password;
  long db = 0;

  /// Parses `redis://[user:password@]HOST[:PORT][/DB]` (user and password percent-decoded; IPv6 hosts in
  /// brackets). The error says what is wrong without repeating the password.
  static proto::result<redis_endpoint> parse(std::string_view url);
  /// `redis://HOST:PORT/DB` (with `user@` when there is one): for logs, stats and errors.
  std::string describe() const;
};

}  // namespace offload::core
