// What a running handler may do besides computing: report progress, emit output, notice a stop request.
// The same interface serves the built-in types (in offloadd's thread lane and its `offloadd worker`
// children) and the handlers of a worker built on offload::worker.
#pragma once

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

  bool stop_requested() const { return stop_token().stop_requested(); }
};

}  // namespace offload
