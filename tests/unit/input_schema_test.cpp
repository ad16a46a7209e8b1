// The input schemas of operator-defined worker types, and the `workers` config section.
#include "core/input_schema.hpp"

#include "core/process/worker_spec.hpp"

#include <gtest/gtest.h>

namespace offload::core {
namespace {

using nlohmann::json;

std::string compile_error(const json& schema) {
  auto compiled = input_schema::compile(schema);
  return compiled ? std::string{"(compiled)"} : compiled.error().message;
}

std::string verdict(const json& schema, const json& input) {
  auto compiled = input_schema::compile(schema);
  if (!compiled) return "(schema: " + compiled.error().message + ")";
  auto problem = compiled->validate(input);
  return problem ? problem->message : "ok";
}

TEST(input_schema_test, names_the_field_and_the_rule_an_input_breaks) {
  const json schema = {{"type", "object"},
                       {"additionalProperties", false},
                       {"required", {"size", "name"}},
                       {"properties",
                        {{"size", {{"type", "integer"}, {"minimum", 1}, {"maximum", 4096}}},
                         {"name", {{"type", "string"}, {"minLength", 1}, {"maxLength", 3}}},
                         {"mode", {{"enum", {"fast", "good"}}}},
                         {"tags", {{"type", "array"}, {"items", {{"type", "string"}}}, {"maxItems", 2}}},
                         {"ratio", {{"type", "number"}, {"exclusiveMinimum", 0}, {"exclusiveMaximum", 1}}}}}};
  EXPECT_EQ(verdict(schema, {{"size", 10}, {"name", "é€"}}), "ok") << "lengths count code points";
  EXPECT_EQ(verdict(schema, {{"size", 10.0}, {"name", "a"}}), "ok") << "10.0 is an integer";
  EXPECT_EQ(verdict(schema, {{"name", "a"}}), "size: is required");
  EXPECT_EQ(verdict(schema, {{"size", 1.5}, {"name", "a"}}), "size: must be an integer");
  EXPECT_EQ(verdict(schema, {{"size", 5000}, {"name", "a"}}), "size: must be at most 4096");
  EXPECT_EQ(verdict(schema, {{"size", 0}, {"name", "a"}}), "size: must be at least 1");
  EXPECT_EQ(verdict(schema, {{"size", 1}, {"name", "abcd"}}), "name: must be at most 3 characters long");
  EXPECT_EQ(verdict(schema, {{"size", 1}, {"name", ""}}), "name: must be at least 1 characters long");
  EXPECT_EQ(verdict(schema, {{"size", 1}, {"name", "a"}, {"mode", "slow"}}),
            R"(mode: must be one of ["fast","good"])");
  EXPECT_EQ(verdict(schema, {{"size", 1}, {"name", "a"}, {"tags", {"x", 2}}}), "tags[1]: must be a string");
  EXPECT_EQ(verdict(schema, {{"size", 1}, {"name", "a"}, {"tags", {"x", "y", "z"}}}),
            "tags: must have at most 2 items");
  EXPECT_EQ(verdict(schema, {{"size", 1}, {"name", "a"}, {"ratio", 1}}), "ratio: must be less than 1");
  EXPECT_EQ(verdict(schema, {{"size", 1}, {"name", "a"}, {"ratio", 0}}), "ratio: must be more than 0");
  EXPECT_EQ(verdict(schema, {{"size", 1}, {"name", "a"}, {"colour", "red"}}), "colour: unknown field (known: mode, name, ratio, size, tags)");
  EXPECT_EQ(verdict({{"type", {"string", "null"}}}, 3), "(input): must be null or a string");
  EXPECT_EQ(verdict({{"properties", {{"a", {{"const", 2}}}}}}, {{"a", 3}}), "a: must be 2");
  EXPECT_EQ(verdict({{"additionalProperties", {{"type", "boolean"}}}}, {{"x", {{"y", 1}}}}),
            "x: must be a boolean");
  EXPECT_EQ(verdict(true, {{"anything", 1}}), "ok");
}

TEST(input_schema_test, refuses_what_it_would_not_check) {
  EXPECT_EQ(compile_error({{"type", "objekt"}}),
            "type: must name object, array, string, number, integer, boolean or null");
  EXPECT_EQ(compile_error({{"pattern", "^a"}}),
            R"(pattern: is not a supported keyword (see README, "Input schemas"))");
  EXPECT_EQ(compile_error({{"properties", {{"a", {{"minimum", "1"}}}}}}),
            "properties.a.minimum: must be a number");
  EXPECT_EQ(compile_error({{"maxLength", -1}}), "maxLength: must be a non-negative integer");
  EXPECT_EQ(compile_error({{"enum", json::array()}}), "enum: must be a non-empty array of values");
  EXPECT_EQ(compile_error(false), "(schema): `false` accepts nothing; leave the type out instead");
  EXPECT_EQ(compile_error({{"additionalProperties", false}, {"required", {"a"}}}),
            "required: names 'a', which additionalProperties forbids");
  EXPECT_EQ(compile_error({{"title", "t"}, {"description", "d"}, {"$schema", "x"}, {"default", 1}}),
            "(compiled)");
  json deep = {{"type", "object"}};
  for (int i = 0; i < 40; ++i)
    deep = {{"properties", {{"a", deep}}}};
  EXPECT_NE(compile_error(deep).find("nested deeper than 32 levels"), std::string::npos);
}

TEST(worker_config_test, reads_pools_and_their_types_with_defaults) {
  const json config = {
      {"commands", json::object()},
      {"workers",
       {{"img",
         {{"argv", {"/bin/true", "--serve"}},
          {"types",
           {{"thumb", {{"description", "Thumbnails."}, {"input_schema", {{"type", "object"}}}}},
            {"blur", json::object()}}},
          {"input_schema", {{"required", {"url"}}, {"properties", {{"url", {{"type", "string"}}}}}}},
          {"pool", 3},
          {"env", {{"HOME", "/tmp"}}},
          {"limits", {{"address_space_mb", 512}}},
          {"timeout_ms", 5000}}},
        {"plain", {{"argv", {"/bin/true"}}, {"types", {"p"}}}}}}};
  const auto pools = parse_worker_config(config);
  ASSERT_TRUE(pools) << pools.error().message;
  ASSERT_EQ(pools->size(), 2u);
  const auto& img = pools->front();
  EXPECT_EQ(img.name, "img");
  EXPECT_EQ(img.argv, (std::vector<std::string>{"/bin/true", "--serve"}));
  EXPECT_EQ(img.pool, 3u);
  EXPECT_EQ(img.max_jobs, 10000u);
  EXPECT_EQ(img.timeout_ms, 5000u);
  EXPECT_EQ(img.env.at("HOME"), "/tmp");
  EXPECT_EQ(img.limits.address_space_mb, 512u);
  ASSERT_EQ(img.types.size(), 2u);
  // Object keys come sorted: blur, then thumb. Blur takes the pool's schema, thumb its own.
  const auto blur = worker_job_type(img.types[0], 0);
  const auto thumb = worker_job_type(img.types[1], 0);
  EXPECT_EQ(blur.name, "blur");
  EXPECT_EQ(blur.validate(json::object())->message, "url: is required");
  EXPECT_EQ(thumb.description, "Thumbnails.");
  EXPECT_FALSE(thumb.validate(json::object()));
  EXPECT_EQ(thumb.external_pool, 0u);
  EXPECT_EQ(thumb.lanes, std::vector{proto::lane::process});
  const auto& plain = pools->back();
  EXPECT_EQ(plain.pool, 1u);
  EXPECT_EQ(worker_job_type(plain.types[0], 1).input_schema, (json{{"type", "object"}}));
}

}  // namespace
}  // namespace offload::core
