// Fuzz target: the `offload submit` input builder (`key=value`, `key:=JSON`), which must never throw.
#include "input_builder.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view argument(reinterpret_cast<const char*>(data), size);
  nlohmann::json input = nlohmann::json::object();
  try {
    const auto problem = offload::cli::add_input_field(input, argument);
    // Accepted or refused, the builder says which: a field was added exactly when there is no problem.
    if (!problem && input.size() != 1) std::abort();
    if (problem && !input.empty()) std::abort();
  } catch (...) {
    std::abort();  // a CLI argument must never end in an exception
  }
  return 0;
}
