#include "net/websocket_subprotocols.hpp"

#include "net/header_list.hpp"

#include <array>
#include <cstdint>

namespace offload::net {
namespace {

constexpr std::array<std::int8_t, 256> base64url_values() {
  std::array<std::int8_t, 256> values{};
  for (auto& v : values)
    v = -1;
  constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (std::size_t i = 0; i < alphabet.size(); ++i)
    values[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  return values;
}

constexpr auto values = base64url_values();

}  // namespace

std::optional<std::string> decode_base64url(std::string_view text) {
  // 4n, 4n+2 or 4n+3 characters; 4n+1 cannot come from any input.
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t bits = 0;
  int held = 0;
  for (const char c : text) {
    const auto v = values[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    held += 6;
    if (held >= 8) {
      held -= 8;
      out.push_back(static_cast<char>((bits >> held) & 0xff));
    }
  }
  // The bits left over must be zero, as an encoder writes them: one encoding per token.
  if ((bits & ((1u << held) - 1)) != 0) return std::nullopt;
  return out;
}

websocket_subprotocols websocket_subprotocols::parse(std::string_view header) {
  websocket_subprotocols found;
  any_list_item(header, [&found](std::string_view item) {
    if (item == websocket_subprotocol) {
      found.offers_v1 = true;
    } else if (!found.authorization && item.starts_with(websocket_bearer_prefix)) {
      auto token = decode_base64url(item.substr(websocket_bearer_prefix.size()));
      if (token && !token->empty()) found.authorization = "Bearer " + *token;
    }
    return false;
  });
  return found;
}

}  // namespace offload::net
