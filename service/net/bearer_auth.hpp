// Bearer-token authentication: which paths need a token, and whether a request's token is one of ours.
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

  /// No tokens: authentication is off and every path is open.
  bearer_auth() = default;
  /// `protect_metrics`: `/metrics` needs a token too.
  bearer_auth(const std::vector<std::string>& tokens, bool protect_metrics);

  bool enabled() const noexcept { return !digests_.empty(); }

  /// Whether a request for raw target path `path` needs a token. Default-deny: only the exact paths
  /// `/healthz`, `/readyz` (and `/metrics` unless protected) are open.
  bool protects(std::string_view path) const noexcept;

  /// Whether the `Authorization` header value carries an accepted bearer token. Compares against every
  /// token without an early exit.
  bool allows(std::string_view authorization) const noexcept;

  /// Tokens from a file: one per line; blank lines and lines starting with `#` are skipped, surrounding
  /// whitespace trimmed. Throws `std::runtime_error` (without token text) when unreadable or empty.
  static std::vector<std::string> read_token_file(const std::string& path);

 private:
  std::vector<digest> digests_;
  bool protect_metrics_ = false;
};

}  // namespace offload::net
