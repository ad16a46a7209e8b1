// Parsing untrusted JSON: a linear pre-scan bounds nesting before nlohmann's recursive parser runs.
#include <offload/proto/json_parse.hpp>

#include <string>

namespace offload::proto {
namespace {

// The deepest bracket nesting outside string literals, stopping early once past `limit`.
std::size_t nesting_depth(std::string_view text, std::size_t limit) noexcept {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > deepest && (deepest = depth) > limit) return deepest;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

}  // namespace

result<nlohmann::json> parse_json(std::string_view text, std::size_t max_depth) {
  if (nesting_depth(text, max_depth) > max_depth)
    return error{errc::invalid_json, "JSON nests deeper than " + std::to_string(max_depth) + " levels"};
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return error{errc::invalid_json, "malformed JSON at byte " + std::to_string(e.byte)};
  } catch (const nlohmann::json::out_of_range&) {
    // A number outside double's range, such as 1e400.
    return error{errc::invalid_json, "a number in the JSON is out of range"};
  } catch (const nlohmann::json::exception& e) {
    return error{errc::invalid_json, std::string{"malformed JSON: "} + e.what()};
  }
}

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::size_t approximate_json_size(const nlohmann::json& value) noexcept {
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      std::size_t n = 2 + (value.empty() ? 0 : value.size() - 1);
      for (const auto& [key, member] : value.items())
        n += key.size() + 3 + approximate_json_size(member);
      return n;
    }
    case nlohmann::json::value_t::array: {
      std::size_t n = 2 + (value.empty() ? 0 : value.size() - 1);
      for (const auto& element : value)
        n += approximate_json_size(element);
      return n;
    }
    case nlohmann::json::value_t::string:
      return value.get_ref<const std::string&>().size() + 2;
    case nlohmann::json::value_t::boolean:
      return value.get<bool>() ? 4 : 5;
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return 4;
    default:
      return 12;
  }
}

}  // namespace offload::proto
