// Type registry.
#include "core/type_registry.hpp"

#include <stdexcept>

namespace offload::core {

void type_registry::add(job_type type) {
  if (types_.contains(type.name)) throw std::invalid_argument("job type registered twice: " + type.name);
  auto name = type.name;
  types_.emplace(std::move(name), std::move(type));
}

const job_type* type_registry::find(std::string_view name) const {
  const auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

}  // namespace offload::core
