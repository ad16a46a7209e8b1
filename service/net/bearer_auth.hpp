// Bearer-token authentication: whether a request's token is one of ours. Which routes need one is the
// route table's `is_public`.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace offload::net {

/// Holds SHA-256 digests of the accepted tokens (never the tokens) and checks `Authorization` headers in
/// time independent of where, or whether, a candidate differs from any of them.
class bearer_auth {
 public:
  using digest = std::array<unsigned char, 32>;

  /// No tokens: authentication is off and every request is allowed.
  bearer_auth() = default;
  explicit bearer_auth(const std::vector<std::string>& tokens);

  bool enabled() const noexcept { return !digests_.empty(); }

  /// Whether the `Authorization` header value carries an accepted bearer token (always, when
  /// authentication is off). Compares against every token without an early exit.
  bool allows(std::string_view authorization) const noexcept;

  /// Tokens from a file: one per line; blank lines and lines starting with `#` are skipped, surrounding
  /// whitespace trimmed. Throws `std::runtime_error` (without token text) when unreadable or empty.
  static std::vector<std::string> read_token_file(const std::string& path);

 private:
  std::vector<digest> digests_;
};

}  // namespace offload::net
