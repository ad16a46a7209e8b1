// An offloadd with a job type of its own: `reverse`, in the thread lane (and, with "lane":"process", in
// this program's own worker children), next to the built-in types and with all of offloadd's flags.
#include <offload/server/server.hpp>

#include <algorithm>
#include <string>

namespace {

offload::proto::result<nlohmann::json> reverse(const nlohmann::json& input, offload::handler_context& ctx) {
  auto text = input.at("text").get<std::string>();
  std::reverse(text.begin(), text.end());
  ctx.progress(1.0, "reversed");
  return nlohmann::json{{"text", text}};
}

}  // namespace

int main(int argc, char** argv) {
  offload::server server;
  auto schema = nlohmann::json{{"type", "object"},
                               {"additionalProperties", false},
                               {"required", {"text"}},
                               {"properties", {{"text", {{"type", "string"}, {"maxLength", 1000000}}}}}};
  server.register_type({.name = "reverse",
                        .description = "Reverses a string.",
                        .input_schema = std::move(schema),
                        .run = reverse});
  return server.main(argc, argv);
}
