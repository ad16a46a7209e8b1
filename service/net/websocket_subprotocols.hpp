// WebSocket authentication for clients that cannot set an `Authorization` header (browsers, the WebSocket
// of Node ≥ 22): the token travels in `Sec-WebSocket-Protocol`, which no access log records, never in the
// URL. The client offers `offload.v1` and `offload.bearer.<token as unpadded base64url>`; the server
// answers `offload.v1` and never echoes the token.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace offload::net {

/// The subprotocol the server selects when a client offers it.
inline constexpr std::string_view websocket_subprotocol = "offload.v1";
/// The prefix of the offered subprotocol that carries the bearer token.
inline constexpr std::string_view websocket_bearer_prefix = "offload.bearer.";

/// What a `Sec-WebSocket-Protocol` request header (a comma-separated list) says.
struct websocket_subprotocols {
  /// `Bearer <token>` when the list carries a well-formed `offload.bearer.` entry (the first one counts),
  /// ready for `bearer_auth::allows`.
  std::optional<std::string> authorization;
  /// The list offers `offload.v1`: the handshake answer selects it.
  bool offers_v1 = false;

  static websocket_subprotocols parse(std::string_view header);
};

/// Unpadded base64url (RFC 4648 §5) decoding; nullopt for any other character, a stray `=`, or a length
/// no encoding produces.
std::optional<std::string> decode_base64url(std::string_view text);

}  // namespace offload::net
