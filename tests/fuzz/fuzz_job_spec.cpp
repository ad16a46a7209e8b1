// Fuzz target: a job submission body, as POST /v1/jobs parses it.
#include <offload/proto/job_spec.hpp>
#include <offload/proto/json_parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto spec = offload::proto::parse_job_spec_text(text);
  if (!spec) return 0;
  // A valid spec survives a round trip through its own JSON unchanged.
  nlohmann::json j;
  to_json(j, *spec);
  const auto again = offload::proto::parse_job_spec_text(offload::proto::dump_json(j));
  if (!again || !(*again == *spec)) std::abort();
  return 0;
}
