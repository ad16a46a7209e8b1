// Turns raw bytes from a child's stdout/stderr into `output` event payloads that are valid JSON:
// chunks are cut on UTF-8 character boundaries, and bytes that are not UTF-8 travel as base64.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace offload::core {

/// True if `bytes` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view bytes) noexcept;

/// Standard base64 with padding.
std::string base64_encode(std::string_view bytes);

/// One per stream of one child. Not thread-safe; lives on the reactor.
class output_chunker {
 public:
  explicit output_chunker(std::string stream) : stream_(std::move(stream)) {}

  /// The payload for the bytes read so far, holding back an incomplete trailing character;
  /// nothing when there is nothing complete to send.
  /// Payload: `{"stream":S,"data":TEXT}` or, for non-UTF-8 bytes, `{"stream":S,"data_base64":B64}`.
  std::optional<nlohmann::json> feed(std::string_view bytes);
  /// Whatever is held back, at end of stream.
  std::optional<nlohmann::json> flush();

 private:
  std::optional<nlohmann::json> payload(std::string_view bytes) const;

  std::string stream_;
  std::string pending_;
};

}  // namespace offload::core
