// What a running handler may do besides computing: report progress, emit output, notice a stop request.
// The same interface serves the built-in types (in offloadd's thread lane and its `offloadd worker`
// children) and the handlers of a worker built on offload::worker.
#pragma once

#include <chrono>
#include <stop_token>
#include <string>
#include <string_view>

namespace offload {

/// Given to a handler for the duration of one job. Implementations are thread-safe where the lane needs it.
class handler_context {
 public:
  virtual ~handler_context() = default;

  /// Reports progress: `fraction` in [0, 1] and a short note. Cheap; call about every 10 %.
  virtual void progress(double fraction, std::string note) = 0;
  /// Emits a chunk of output, logged as an `output` event on the `stdout` stream.
  virtual void emit(std::string_view chunk) = 0;
  /// Set when the job is cancelled, times out or the server shuts down. (A worker process is stopped by
  /// a signal to its group instead; its token is never set.)
  virtual std::stop_token stop_token() const = 0;

  /// Whether the job should stop now; call it every 0.1–1 ms of work (it costs a clock read). It is also
  /// where a long computation gives way: at most once per `yield_interval` per thread, it first yields the
  /// CPU (`sched_yield`) to any thread waiting for it. A thread of offloadd's lanes, which run nicer than the
  /// reactor, would otherwise keep a woken reactor (or a client on the same machine) waiting for that CPU
  /// until its time slice ends, up to a scheduler tick of several milliseconds.
  bool stop_requested() const;

  /// The least time between two yields of one thread in `stop_requested`. Longer than the kernel's default
  /// migration cost (0.5 ms): threads that yield more often stay "cache-hot" to the scheduler, which then
  /// leaves two lane threads sharing one CPU while another CPU idles.
  static constexpr std::chrono::microseconds yield_interval{1000};
};

}  // namespace offload
