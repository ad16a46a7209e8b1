// offload::server's registration of a program's own types: what it refuses, with a message that says why.
#include <offload/server/server.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

namespace offload {
namespace {

proto::result<nlohmann::json> ok(const nlohmann::json&, handler_context&) {
  return nlohmann::json::object();
}

std::string refusal(server_type t) {
  server s;
  try {
    s.register_type(std::move(t));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(server_api_test, register_type_refuses_clashes_bad_names_missing_handlers_and_unsupported_schemas) {
  EXPECT_EQ(refusal({.name = "mine", .run = ok}), "(accepted)");
  EXPECT_EQ(refusal({.name = "sum", .run = ok}), "type 'sum' is already registered (a built-in or yours)");
  EXPECT_NE(refusal({.name = "Bad Name", .run = ok}).find("a type name must be 1 to 64 characters"),
            std::string::npos);
  EXPECT_EQ(refusal({.name = "mine"}), "type 'mine' has no handler");
  EXPECT_EQ(refusal({.name = "mine", .input_schema = {{"oneOf", nlohmann::json::array()}}, .run = ok}),
            R"(type 'mine': input_schema: oneOf: is not a supported keyword (see README, "Input schemas"))");
  server s;
  s.register_type({.name = "mine", .run = ok});
  EXPECT_THROW(s.register_type({.name = "mine", .run = ok}), std::invalid_argument);
}

}  // namespace
}  // namespace offload
