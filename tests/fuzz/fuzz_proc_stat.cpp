// Fuzz target: the reader of /proc/PID/stat that gives a process's start time (also run in a command's child
// before it execs). Input: any text.
#include "core/process/process_identity.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto id = offload::core::process_identity::parse(42, text);
  // Found only after a closing parenthesis, for the pid it was asked about.
  if (id && (id->pid != 42 || text.find(')') == std::string_view::npos)) std::abort();
  return 0;
}
