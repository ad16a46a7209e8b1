// Names the calling thread, so that `top -H`, `ps -L`, /proc/PID/task/*/comm, perf and gdb tell offloadd's
// threads apart (the reactor keeps the process name).
#pragma once

#include <string>

namespace offload::core {

/// At most 15 bytes are kept (the kernel's limit); failures are ignored: a name is a convenience.
void name_this_thread(const std::string& name) noexcept;

}  // namespace offload::core
