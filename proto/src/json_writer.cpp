// Direct JSON text, byte-compatible with dump_json.
#include <offload/proto/json_writer.hpp>

#include <array>
#include <charconv>

namespace offload::proto {

namespace {

// Text that JSON writes as it is: printable ASCII other than the quote and the backslash. Anything else
// (control characters, non-ASCII that may be invalid UTF-8) takes nlohmann's path, so that escapes and the
// replacement of invalid bytes are exactly dump_json's.
bool plain(std::string_view text) noexcept {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

void serialise(std::string& out, const nlohmann::json& v) {
  nlohmann::detail::serializer<nlohmann::json> s{nlohmann::detail::output_adapter<char, std::string>(out),
                                                 ' ', nlohmann::json::error_handler_t::replace};
  s.dump(v, false, false, 0);
}

template <typename Int>
void append_integer(std::string& out, Int n) {
  std::array<char, 24> digits{};
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), n).ptr;
  out.append(digits.data(), end);
}

}  // namespace

void json_writer::key(std::string_view name) {
  if (out_.back() != '{') out_ += ',';
  string(name);
  out_ += ':';
}

void json_writer::string(std::string_view text) {
  if (!plain(text)) {
    serialise(out_, nlohmann::json(std::string{text}));
    return;
  }
  out_ += '"';
  out_ += text;
  out_ += '"';
}

void json_writer::string(std::initializer_list<std::string_view> parts) {
  bool all_plain = true;
  for (const auto part : parts)
    all_plain = all_plain && plain(part);
  if (!all_plain) {
    std::string joined;
    for (const auto part : parts)
      joined += part;
    serialise(out_, nlohmann::json(std::move(joined)));
    return;
  }
  out_ += '"';
  for (const auto part : parts)
    out_ += part;
  out_ += '"';
}

void json_writer::number(std::int64_t n) {
  append_integer(out_, n);
}

void json_writer::number(std::uint64_t n) {
  append_integer(out_, n);
}

void json_writer::value(const nlohmann::json& v) {
  // The common leaves directly; anything else (and any string that needs escaping) through the serialiser.
  switch (v.type()) {
    case nlohmann::json::value_t::string:
      string(v.get_ref<const std::string&>());
      return;
    case nlohmann::json::value_t::number_integer:
      number(v.get<std::int64_t>());
      return;
    case nlohmann::json::value_t::number_unsigned:
      number(v.get<std::uint64_t>());
      return;
    default:
      serialise(out_, v);
  }
}

}  // namespace offload::proto
