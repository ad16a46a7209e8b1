// The set of job types this server runs, looked up by name at submission and by the lanes.
#pragma once

#include "core/job_type.hpp"

#include <map>
#include <string>
#include <string_view>

namespace offload::core {

/// Filled once at start-up, read-only afterwards (so lanes may read it from any thread).
class type_registry {
 public:
  /// Registers a type; a second type of the same name throws `std::invalid_argument`.
  void add(job_type type);
  const job_type* find(std::string_view name) const;
  const std::map<std::string, job_type, std::less<>>& all() const noexcept { return types_; }

 private:
  std::map<std::string, job_type, std::less<>> types_;
};

/// Registers `echo`, `sum`, `sha256`, `primes` and `sleep`.
void register_builtin_types(type_registry& registry);

}  // namespace offload::core
