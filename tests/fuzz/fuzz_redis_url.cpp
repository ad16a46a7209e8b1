// Fuzz target: the `--store redis://…` URL parser. Input: any text.
#include "core/store/redis/redis_endpoint.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto e = offload::core::redis_endpoint::parse(text);
  if (!e) {
    // An error never repeats a password it could not parse.
    if (!e.error().message.starts_with("--store: ")) std::abort();
    return 0;
  }
  if (e->host.empty() || e->port == 0 || e->db < 0 || e->db > offload::core::redis_endpoint::max_db)
    std::abort();
  if (!e->user.empty() && e->password.empty()) std::abort();
  // What is logged is made of the user, host, port and database only: never of the password.
  const auto described = e->describe();
  const auto host = e->host.find(':') != std::string::npos ? "[" + e->host + "]" : e->host;
  if (described != "redis://" + (e->user.empty() ? std::string{} : e->user + "@") + host + ":" +
                       std::to_string(e->port) + "/" + std::to_string(e->db))
    std::abort();
  // Without a user, the description parses back to the same place.
  if (e->user.empty()) {
    const auto again = offload::core::redis_endpoint::parse(described);
    if (!again || again->host != e->host || again->port != e->port || again->db != e->db) std::abort();
  }
  return 0;
}
