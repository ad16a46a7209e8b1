// The servers a test starts die with it when it aborts.
#pragma once

#include <sys/types.h>

namespace offload::test {

/// Registers a child the harness started (offloadd, redis-server) to be sent SIGKILL if this test process
/// aborts: a failed `assert` (nlohmann::json's on a missing key, say) or `std::terminate`. Without this, the
/// child lives on holding the test's stderr open, and ctest reports a timeout minutes later instead of the
/// abort at once. Async-signal-safe; at most 256 children are guarded at a time (more are not guarded).
void guard_child(pid_t pid) noexcept;

/// Forgets `pid`, once it has been reaped (its number may be reused from then on).
void unguard_child(pid_t pid) noexcept;

}  // namespace offload::test
