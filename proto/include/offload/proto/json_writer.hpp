// Writing JSON text directly into a string, for the shapes the server sends most (job views, event frames):
// the same bytes `dump_json` makes of the equivalent `nlohmann::json`, without building that value first.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace offload::proto {

/// Appends compact JSON to `out`. Objects only nest through `begin_object`/`end_object`; any other value
/// (arrays, numbers with a fraction, whole documents) goes through `value`, which uses nlohmann's serialiser
/// with `dump_json`'s settings. The caller writes an object's members in nlohmann's order (keys sorted
/// bytewise), so that the text equals `dump_json` of the same object; tests compare the two.
class json_writer {
 public:
  explicit json_writer(std::string& out) noexcept : out_(out) {}

  void begin_object() { out_ += '{'; }
  void end_object() { out_ += '}'; }
  /// A member's name (and the comma before it when it is not the object's first).
  void key(std::string_view name);
  /// A string, escaped as `dump_json` escapes it (invalid UTF-8 becomes U+FFFD).
  void string(std::string_view text);
  /// The concatenation of `parts` as one string.
  void string(std::initializer_list<std::string_view> parts);
  void number(std::int64_t n);
  void number(std::uint64_t n);
  void number(int n) { number(static_cast<std::int64_t>(n)); }
  void number(std::uint32_t n) { number(static_cast<std::uint64_t>(n)); }
  void value(const nlohmann::json& v);
  /// JSON text that is already serialised compactly (a stored result, say), written as it is.
  void raw(std::string_view text) { out_ += text; }

 private:
  std::string& out_;
};

}  // namespace offload::proto
