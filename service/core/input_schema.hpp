// Operator-given JSON Schemas of job inputs: compiled once from the config, applied at every submission.
// A deliberate subset of JSON Schema (draft 2020-12 keywords): every keyword outside it is refused when
// the config is read, so a schema never silently checks less than its author meant.
#pragma once

#include <offload/proto/error.hpp>
#include <offload/proto/result.hpp>

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>

namespace offload::core {

class input_schema {
 public:
  /// Nesting deeper than this is refused (schemas are written by people; inputs are bounded by it too).
  static constexpr int max_depth = 32;

  /// Compiles `schema`. Supported: `type` (a name or a list: object, array, string, number, integer,
  /// boolean, null), `properties`, `required`, `additionalProperties` (a boolean or a schema), `items`,
  /// `minItems`, `maxItems`, `minLength`, `maxLength` (in code points), `minimum`, `maximum`,
  /// `exclusiveMinimum`, `exclusiveMaximum`, `enum`, `const`; annotations (`title`, `description`,
  /// `default`, `examples`, `$schema`, `$id`, `$comment`) are allowed and ignored. `true` accepts
  /// anything. The error (`invalid_input`) names the path inside the schema, e.g.
  /// `properties.size.minimum: must be a number`.
  static proto::result<input_schema> compile(const nlohmann::json& schema);

  /// Nothing when `input` conforms; otherwise `invalid_input` naming the field, e.g.
  /// `size: must be at most 4096` or `tags[2]: must be a string` (the service prefixes `input.`).
  std::optional<proto::error> validate(const nlohmann::json& input) const;

  /// The schema as given (for `GET /v1/types`).
  const nlohmann::json& source() const noexcept { return source_; }

  struct node;

 private:
  input_schema(nlohmann::json source, std::shared_ptr<const node> root)
      : source_(std::move(source)), root_(std::move(root)) {}

  nlohmann::json source_;
  std::shared_ptr<const node> root_;
};

}  // namespace offload::core
