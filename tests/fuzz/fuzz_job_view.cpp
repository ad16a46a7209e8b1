// Fuzz target: the server's direct writer of job views (`dump_view`) against serialising the same view as a
// json value. Any view a client could be shown — read here from arbitrary JSON — must give the same bytes
// both ways, with its result as a value or as stored text.
#include <offload/proto/job_view.hpp>
#include <offload/proto/json_parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = offload::proto::parse_json(text);
  if (!parsed || !parsed->is_object()) return 0;
  offload::proto::job_view v;
  try {
    from_json(*parsed, v);
  } catch (const nlohmann::json::exception&) {
    return 0;
  }
  using offload::proto::dump_json;
  if (offload::proto::dump_view(v) != dump_json(nlohmann::json(v))) std::abort();
  if (v.result) {
    auto stored = v;
    stored.result_owner = std::make_shared<const std::string>(dump_json(*v.result));
    stored.result_text = *stored.result_owner;
    stored.result.reset();
    if (offload::proto::dump_view(stored) != dump_json(nlohmann::json(v))) std::abort();
  }
  return 0;
}
