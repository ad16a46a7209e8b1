// A job type written in C++ and run by offloadd as a warm worker pool. Build it against an installed
// Offload (find_package(offload) → offload::worker), then name it in offloadd's config:
//   {"workers": {"squares": {"argv": ["/path/to/square_worker"], "types": ["square"], "pool": 2}}}
#include <offload/worker/worker.hpp>

#include <cstdint>

namespace {

offload::proto::result<nlohmann::json> square(const nlohmann::json& input, offload::handler_context& ctx) {
  const auto n = input.at("n").get<std::int64_t>();
  ctx.progress(0.5, "squaring " + std::to_string(n));
  ctx.emit("computed in a C++ worker\n");
  return nlohmann::json{{"square", n * n}};
}

std::optional<offload::proto::error> needs_small_integer_n(const nlohmann::json& input) {
  const auto n = input.find("n");
  if (n == input.end() || !n->is_number_integer() || n->get<std::int64_t>() < -3'000'000'000 ||
      n->get<std::int64_t>() > 3'000'000'000)
    return offload::proto::error{offload::proto::errc::invalid_input, "n: must be an integer within ±3e9"};
  return std::nullopt;
}

}  // namespace

int main() {
  offload::worker::registry types;
  types.add({.name = "square", .run = square, .validate = needs_small_integer_n});
  return offload::worker::run(types);
}
