// Compile a JSON Schema subset into a tree of checks; validate inputs against it.
#include "core/input_schema.hpp"

#include <offload/proto/json_fields.hpp>

#include <cmath>
#include <map>
#include <set>
#include <string_view>
#include <vector>

namespace offload::core {

struct input_schema::node {
  // Bit per JSON type; 0 means any.
  unsigned types = 0;
  std::map<std::string, std::shared_ptr<const node>> properties;
  std::vector<std::string> required;
  // Unset: any additional property; null pointer with `additional_allowed == false`: none.
  bool additional_allowed = true;
  std::shared_ptr<const node> additional;
  std::shared_ptr<const node> items;
  std::optional<std::uint64_t> min_items, max_items, min_length, max_length;
  std::optional<double> minimum, maximum, exclusive_minimum, exclusive_maximum;
  std::optional<nlohmann::json> enumeration;  // an array
  std::optional<nlohmann::json> constant;
};

namespace {

using node = input_schema::node;

enum type_bit : unsigned {
  t_object = 1,
  t_array = 2,
  t_string = 4,
  t_number = 8,
  t_integer = 16,
  t_boolean = 32,
  t_null = 64,
};

const std::map<std::string_view, unsigned>& type_names() {
  static const std::map<std::string_view, unsigned> names{
      {"object", t_object},   {"array", t_array},     {"string", t_string}, {"number", t_number},
      {"integer", t_integer}, {"boolean", t_boolean}, {"null", t_null}};
  return names;
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string{key} : path + "." + std::string{key};
}

proto::error schema_error(const std::string& path, std::string_view what) {
  return proto::invalid_field(path.empty() ? std::string{"(schema)"} : path, what);
}

proto::result<std::uint64_t> count_keyword(const nlohmann::json& v, const std::string& path) {
  if (v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0))
    return v.get<std::uint64_t>();
  return schema_error(path, "must be a non-negative integer");
}

proto::result<double> number_keyword(const nlohmann::json& v, const std::string& path) {
  if (!v.is_number()) return schema_error(path, "must be a number");
  const double d = v.get<double>();
  if (!std::isfinite(d)) return schema_error(path, "must be a finite number");
  return d;
}

proto::result<std::shared_ptr<const node>> compile_node(const nlohmann::json& s, const std::string& path,
                                                        int depth) {
  if (depth > input_schema::max_depth)
    return schema_error(path, "nested deeper than " + std::to_string(input_schema::max_depth) + " levels");
  auto n = std::make_shared<node>();
  if (s.is_boolean()) {
    if (!s.get<bool>()) return schema_error(path, "`false` accepts nothing; leave the type out instead");
    return std::shared_ptr<const node>{std::move(n)};
  }
  if (!s.is_object()) return schema_error(path, "a schema must be an object or true");
  static const std::set<std::string_view> annotations{"title",   "description", "default", "examples",
                                                      "$schema", "$id",         "$comment"};
  for (const auto& [key, v] : s.items()) {
    const auto at = join(path, key);
    if (annotations.contains(key)) continue;
    if (key == "type") {
      const auto add = [&](const nlohmann::json& name) -> std::optional<proto::error> {
        const auto it =
            name.is_string() ? type_names().find(name.get_ref<const std::string&>()) : type_names().end();
        if (it == type_names().end())
          return schema_error(at, "must name object, array, string, number, integer, boolean or null");
        n->types |= it->second;
        return std::nullopt;
      };
      if (v.is_array()) {
        if (v.empty()) return schema_error(at, "must name at least one type");
        for (const auto& name : v)
          if (auto e = add(name)) return *e;
      } else if (auto e = add(v)) {
        return *e;
      }
    } else if (key == "properties") {
      if (!v.is_object()) return schema_error(at, "must be an object of schemas");
      for (const auto& [name, sub] : v.items()) {
        auto child = compile_node(sub, join(at, name), depth + 1);
        if (!child) return child.error();
        n->properties.emplace(name, std::move(*child));
      }
    } else if (key == "required") {
      if (!v.is_array()) return schema_error(at, "must be an array of property names");
      for (const auto& name : v) {
        if (!name.is_string()) return schema_error(at, "must be an array of property names");
        n->required.push_back(name.get<std::string>());
      }
    } else if (key == "additionalProperties") {
      if (v.is_boolean()) {
        n->additional_allowed = v.get<bool>();
      } else {
        auto child = compile_node(v, at, depth + 1);
        if (!child) return child.error();
        n->additional = std::move(*child);
      }
    } else if (key == "items") {
      auto child = compile_node(v, at, depth + 1);
      if (!child) return child.error();
      n->items = std::move(*child);
    } else if (key == "minItems" || key == "maxItems" || key == "minLength" || key == "maxLength") {
      auto c = count_keyword(v, at);
      if (!c) return c.error();
      (key == "minItems"    ? n->min_items
       : key == "maxItems"  ? n->max_items
       : key == "minLength" ? n->min_length
                            : n->max_length) = *c;
    } else if (key == "minimum" || key == "maximum" || key == "exclusiveMinimum" ||
               key == "exclusiveMaximum") {
      auto d = number_keyword(v, at);
      if (!d) return d.error();
      (key == "minimum"            ? n->minimum
       : key == "maximum"          ? n->maximum
       : key == "exclusiveMinimum" ? n->exclusive_minimum
                                   : n->exclusive_maximum) = *d;
    } else if (key == "enum") {
      if (!v.is_array() || v.empty()) return schema_error(at, "must be a non-empty array of values");
      n->enumeration = v;
    } else if (key == "const") {
      n->constant = v;
    } else {
      return schema_error(at, "is not a supported keyword (see README, \"Input schemas\")");
    }
  }
  for (const auto& name : n->required)
    if (!n->properties.contains(name) && !n->additional_allowed && !n->additional)
      return schema_error(join(path, "required"), "names '" + name + "', which additionalProperties forbids");
  return std::shared_ptr<const node>{std::move(n)};
}

unsigned type_of(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::object:
      return t_object;
    case nlohmann::json::value_t::array:
      return t_array;
    case nlohmann::json::value_t::string:
      return t_string;
    case nlohmann::json::value_t::boolean:
      return t_boolean;
    case nlohmann::json::value_t::null:
      return t_null;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return t_integer | t_number;
    case nlohmann::json::value_t::number_float: {
      const double d = v.get<double>();
      return std::isfinite(d) && d == std::floor(d) ? (t_integer | t_number) : t_number;
    }
    default:
      return 0;
  }
}

std::string describe_types(unsigned types) {
  std::string out;
  for (const auto& [name, bit] : type_names()) {
    if (!(types & bit)) continue;
    if (!out.empty()) out += " or ";
    if (name == "integer" || name == "array" || name == "object")
      out += "an ";
    else if (name != "null")
      out += "a ";
    out += name;
  }
  return out;
}

std::size_t code_points(const std::string& s) {
  std::size_t n = 0;
  for (const unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string format_number(double d) {
  if (d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  return nlohmann::json(d).dump();
}

std::optional<proto::error> check(const node& n, const nlohmann::json& v, const std::string& path) {
  const auto fail = [&](const std::string& what) {
    return proto::invalid_field(path.empty() ? std::string{"(input)"} : path, what);
  };
  if (n.types && !(type_of(v) & n.types)) return fail("must be " + describe_types(n.types));
  if (n.constant && v != *n.constant) return fail("must be " + n.constant->dump());
  if (n.enumeration) {
    bool found = false;
    for (const auto& option : *n.enumeration)
      found = found || option == v;
    if (!found) return fail("must be one of " + n.enumeration->dump());
  }
  if (v.is_number()) {
    const double d = v.get<double>();
    if (n.minimum && d < *n.minimum) return fail("must be at least " + format_number(*n.minimum));
    if (n.maximum && d > *n.maximum) return fail("must be at most " + format_number(*n.maximum));
    if (n.exclusive_minimum && d <= *n.exclusive_minimum)
      return fail("must be more than " + format_number(*n.exclusive_minimum));
    if (n.exclusive_maximum && d >= *n.exclusive_maximum)
      return fail("must be less than " + format_number(*n.exclusive_maximum));
  }
  if (v.is_string()) {
    const auto len = code_points(v.get_ref<const std::string&>());
    if (n.min_length && len < *n.min_length)
      return fail("must be at least " + std::to_string(*n.min_length) + " characters long");
    if (n.max_length && len > *n.max_length)
      return fail("must be at most " + std::to_string(*n.max_length) + " characters long");
  }
  if (v.is_array()) {
    if (n.min_items && v.size() < *n.min_items)
      return fail("must have at least " + std::to_string(*n.min_items) + " items");
    if (n.max_items && v.size() > *n.max_items)
      return fail("must have at most " + std::to_string(*n.max_items) + " items");
    if (n.items) {
      for (std::size_t i = 0; i < v.size(); ++i)
        if (auto e = check(*n.items, v[i], path + "[" + std::to_string(i) + "]")) return e;
    }
  }
  if (v.is_object()) {
    for (const auto& name : n.required)
      if (!v.contains(name)) return proto::invalid_field(join(path, name), "is required");
    for (const auto& [name, value] : v.items()) {
      const auto at = join(path, name);
      if (const auto it = n.properties.find(name); it != n.properties.end()) {
        if (auto e = check(*it->second, value, at)) return e;
      } else if (n.additional) {
        if (auto e = check(*n.additional, value, at)) return e;
      } else if (!n.additional_allowed) {
        std::vector<std::string_view> known;
        known.reserve(n.properties.size());
        for (const auto& property : n.properties)
          known.push_back(property.first);
        return proto::invalid_field(at, proto::unknown_field_message(known));
      }
    }
  }
  return std::nullopt;
}

}  // namespace

proto::result<input_schema> input_schema::compile(const nlohmann::json& schema) {
  auto root = compile_node(schema, "", 0);
  if (!root) return root.error();
  return input_schema{schema, std::move(*root)};
}

std::optional<proto::error> input_schema::validate(const nlohmann::json& input) const {
  return check(*root_, input, "");
}

}  // namespace offload::core
