// `key=value` parsing for `offload submit`.
#include "input_builder.hpp"

#include <offload/proto/json_parse.hpp>

#include <algorithm>

namespace offload::cli {
namespace {

bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

// The key of `key=…` / `key:=…` and where its value starts, if the argument has that shape.
std::optional<std::pair<std::string_view, std::size_t>> split(std::string_view argument) {
  const auto eq = argument.find('=');
  if (eq == std::string_view::npos || eq == 0) return std::nullopt;
  auto key = argument.substr(0, eq);
  if (key.ends_with(':')) key.remove_suffix(1);
  if (key.empty() || !std::all_of(key.begin(), key.end(), key_char)) return std::nullopt;
  return std::pair{key, eq + 1};
}

// A JSON number in the JSON grammar (so "1e3" and "-0.5" count, "0x10", "+1" and "1." do not).
bool json_number(std::string_view text) {
  std::size_t i = 0;
  const auto digits = [&] {
    const auto start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9')
      ++i;
    return i > start;
  };
  if (i < text.size() && text[i] == '-') ++i;
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == text.size();
}

}  // namespace

bool is_input_field(std::string_view argument) {
  return split(argument).has_value();
}

std::optional<std::string> add_input_field(nlohmann::json& input, std::string_view argument) {
  const auto parts = split(argument);
  if (!parts) return "expected key=value or key:=JSON, got '" + std::string{argument} + "'";
  const auto [key, value_at] = *parts;
  const auto value = argument.substr(value_at);
  const bool raw = argument[value_at - 2] == ':';
  if (raw) {
    auto parsed = proto::parse_json(value);
    if (!parsed) return "the value of " + std::string{key} + ":= is not JSON: " + parsed.error().message;
    input[std::string{key}] = std::move(*parsed);
  } else if (value == "true" || value == "false") {
    input[std::string{key}] = value == "true";
  } else if (value == "null") {
    input[std::string{key}] = nullptr;
  } else if (json_number(value)) {
    // Shaped like a number, but it may not fit one (1e400): say so, never throw.
    auto number = proto::parse_json(value);
    if (!number)
      return "the value of " + std::string{key} + " (" + std::string{value} +
             ") is a number out of range; to send it as text, write " + std::string{key} + ":='\"" +
             std::string{value} + "\"'";
    input[std::string{key}] = std::move(*number);
  } else {
    input[std::string{key}] = std::string{value};
  }
  return std::nullopt;
}

}  // namespace offload::cli
