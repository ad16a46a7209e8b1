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
  const auto text_again = offload::proto::dump_json(j);
  const auto again = offload::proto::parse_job_spec_text(text_again);
  if (!again || !(*again == *spec)) std::abort();
  // The member-by-member writer gives the same bytes.
  if (offload::proto::dump_job_spec(*spec) != text_again) std::abort();
  return 0;
}
