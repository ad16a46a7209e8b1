// UTF-8 boundary handling and base64 for child output.
#include "core/process/output_chunker.hpp"

namespace offload::core {
namespace {

// Length of a UTF-8 sequence from its lead byte, or 0 for a byte that cannot lead.
std::size_t sequence_length(unsigned char lead) noexcept {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

// Bytes at the end of `bytes` that begin a character not yet complete (0 to 3).
std::size_t incomplete_tail(std::string_view bytes) noexcept {
  const std::size_t n = bytes.size();
  for (std::size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(bytes[n - back]);
    if ((c & 0xc0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const auto len = sequence_length(c);
    return len > back ? back : 0;
  }
  return 0;
}

}  // namespace

bool is_valid_utf8(std::string_view bytes) noexcept {
  for (std::size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    const auto len = sequence_length(c);
    if (len == 0 || i + len > bytes.size()) return false;
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(bytes[i + k]) & 0xc0) != 0x80) return false;
    if (len >= 3) {
      const auto c1 = static_cast<unsigned char>(bytes[i + 1]);
      if (c == 0xe0 && c1 < 0xa0) return false;   // overlong
      if (c == 0xed && c1 >= 0xa0) return false;  // surrogates
      if (c == 0xf0 && c1 < 0x90) return false;   // overlong
      if (c == 0xf4 && c1 >= 0x90) return false;  // above U+10FFFF
    }
    i += len;
  }
  return true;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto v = (static_cast<unsigned char>(bytes[i]) << 16) |
                   (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    out += {alphabet[(v >> 18) & 63], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], alphabet[v & 63]};
  }
  if (const auto rest = bytes.size() - i; rest > 0) {
    auto v = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) v |= static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<nlohmann::json> output_chunker::payload(std::string_view bytes) const {
  if (bytes.empty()) return std::nullopt;
  if (is_valid_utf8(bytes)) return nlohmann::json{{"stream", stream_}, {"data", std::string{bytes}}};
  return nlohmann::json{{"stream", stream_}, {"data_base64", base64_encode(bytes)}};
}

std::optional<nlohmann::json> output_chunker::feed(std::string_view bytes) {
  pending_.append(bytes);
  const auto keep = incomplete_tail(pending_);
  auto out = payload(std::string_view{pending_}.substr(0, pending_.size() - keep));
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::optional<nlohmann::json> output_chunker::flush() {
  return payload(std::exchange(pending_, {}));
}

}  // namespace offload::core
