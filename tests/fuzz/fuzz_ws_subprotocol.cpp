// Fuzz target: the `Sec-WebSocket-Protocol` header of an upgrade request, which may carry a bearer token.
#include "net/websocket_subprotocols.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

std::string encode_base64url(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t bits = 0;
  int held = 0;
  for (const char c : bytes) {
    bits = (bits << 8) | static_cast<unsigned char>(c);
    held += 8;
    while (held >= 6) {
      held -= 6;
      out += alphabet[(bits >> held) & 63];
    }
  }
  if (held > 0) out += alphabet[(bits << (6 - held)) & 63];
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto offered = offload::net::websocket_subprotocols::parse(text);
  // A token is only ever taken from an `offload.bearer.` entry, and it is never empty.
  if (offered.authorization &&
      (text.find(offload::net::websocket_bearer_prefix) == std::string_view::npos ||
       offered.authorization->size() <= 7 || !offered.authorization->starts_with("Bearer ")))
    std::abort();
  // Decoding is exact: what decodes encodes back to the same text, and every encoding decodes back.
  if (const auto decoded = offload::net::decode_base64url(text);
      decoded && encode_base64url(*decoded) != text)
    std::abort();
  if (offload::net::decode_base64url(encode_base64url(text)) != std::string{text}) std::abort();
  return 0;
}
