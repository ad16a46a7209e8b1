// Fuzz target: a client message on the multiplexed WebSocket.
#include "net/ws_request.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parsed =
      offload::net::parse_ws_request(std::string_view(reinterpret_cast<const char*>(data), size));
  // Every refusal says why.
  if (const auto* refused = std::get_if<offload::net::ws_request_error>(&parsed);
      refused && refused->error.message.empty())
    std::abort();
  return 0;
}
