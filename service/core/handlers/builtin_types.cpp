// Registration of the built-in types.
#include "core/handlers/builtin_types.hpp"

#include "core/type_registry.hpp"

namespace offload::core {

void register_builtin_types(type_registry& registry) {
  registry.add(handlers::echo_type());
  registry.add(handlers::sum_type());
  registry.add(handlers::sha256_type());
  registry.add(handlers::primes_type());
  registry.add(handlers::sleep_type());
}

namespace handlers {

proto::error stopped_error() {
  return {proto::errc::cancelled, "stopped before completion"};
}

}  // namespace handlers
}  // namespace offload::core
