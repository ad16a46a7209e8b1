// Range-checked reads of JSON fields.
#include <offload/proto/json_fields.hpp>

#include <algorithm>
#include <cmath>

namespace offload::proto {

error invalid_field(std::string_view field, std::string_view what) {
  std::string message{field};
  message += ": ";
  message += what;
  return error{errc::invalid_input, std::move(message)};
}

result<std::optional<std::uint64_t>> read_optional_uint(const nlohmann::json& object, std::string_view field,
                                                        std::uint64_t min, std::uint64_t max) {
  const auto it = object.find(field);
  if (it == object.end()) return std::optional<std::uint64_t>{};
  const auto range = "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  std::uint64_t value = 0;
  if (it->is_number_unsigned()) {
    value = it->get<std::uint64_t>();
  } else if (it->is_number_integer()) {
    // Signed storage (JSON built in code rather than parsed): only the sign matters.
    const auto signed_value = it->get<std::int64_t>();
    if (signed_value < 0) return invalid_field(field, range);
    value = static_cast<std::uint64_t>(signed_value);
  } else if (it->is_number_float()) {
    const double d = it->get<double>();
    if (!std::isfinite(d) || d < 0 || d != std::floor(d) || d > 1.8e19) return invalid_field(field, range);
    value = static_cast<std::uint64_t>(d);
  } else {
    return invalid_field(field, range);
  }
  if (value < min || value > max) return invalid_field(field, range);
  return std::optional<std::uint64_t>{value};
}

result<std::uint64_t> read_uint(const nlohmann::json& object, std::string_view field, std::uint64_t min,
                                std::uint64_t max) {
  auto r = read_optional_uint(object, field, min, max);
  if (!r) return std::move(r).error();
  if (!r->has_value())
    return invalid_field(
        field, "is required (an integer from " + std::to_string(min) + " to " + std::to_string(max) + ")");
  return **r;
}

result<std::optional<std::string>> read_optional_string(const nlohmann::json& object, std::string_view field,
                                                        std::size_t max_bytes) {
  const auto it = object.find(field);
  if (it == object.end()) return std::optional<std::string>{};
  if (!it->is_string()) return invalid_field(field, "must be a string");
  auto value = it->get<std::string>();
  if (value.size() > max_bytes)
    return invalid_field(field, "must be at most " + std::to_string(max_bytes) + " bytes");
  return std::optional<std::string>{std::move(value)};
}

}  // namespace offload::proto
