// Fuzz target: one line of the worker protocol, in both directions.
#include <offload/proto/worker_message.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  if (const auto event = offload::proto::decode_worker_event(line)) {
    // What decodes re-encodes to one line that decodes again.
    const auto encoded = offload::proto::encode_line(*event);
    if (encoded.empty() || encoded.back() != '\n' || encoded.find('\n') != encoded.size() - 1) std::abort();
    if (!offload::proto::decode_worker_event(std::string_view(encoded).substr(0, encoded.size() - 1)))
      std::abort();
  }
  if (const auto request = offload::proto::decode_worker_request(line)) {
    const auto encoded = offload::proto::encode_line(*request);
    if (!offload::proto::decode_worker_request(std::string_view(encoded).substr(0, encoded.size() - 1)))
      std::abort();
  }
  return 0;
}
