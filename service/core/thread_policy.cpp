#include "core/thread_policy.hpp"

#include <sched.h>
#include <unistd.h>

namespace offload::core {

void run_this_thread_as_batch_work(int nice) noexcept {
  // On Linux both apply to the calling thread only (pid 0 is the caller's thread id).
  const sched_param param{};
  ::sched_setscheduler(0, SCHED_BATCH, &param);
  if (nice > 0) ::nice(nice);
}

}  // namespace offload::core
