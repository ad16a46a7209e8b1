// How offloadd's helper threads share the CPUs with the reactor.
#pragma once

namespace offload::core {

/// Makes the calling thread batch work (Linux `SCHED_BATCH`), `nice` added to its niceness: woken by the
/// reactor (a job handed to a pool thread, a write to the store thread), it does not preempt the reactor
/// on its CPU; it runs on a free CPU, when the reactor waits for I/O, or at the next scheduler tick. Its
/// share of a busy CPU is that of its niceness, as before. The lanes' threads and the store's threads run
/// so: under load the reactor is then rarely switched out before its turn ends. Failures are ignored (the
/// thread keeps the default policy): this is a tuning, not a guarantee.
void run_this_thread_as_batch_work(int nice = 0) noexcept;

}  // namespace offload::core
