// handler_context::stop_requested: the stop check, and where a long computation gives way.
#include <offload/worker/handler_context.hpp>

#include <sched.h>

namespace offload {

bool handler_context::stop_requested() const {
  // Per thread, not per context: a lane thread runs one job after another, each with a context of its own.
  thread_local std::chrono::steady_clock::time_point last_yield{};
  const auto now = std::chrono::steady_clock::now();
  if (now - last_yield >= yield_interval) {
    last_yield = now;
    sched_yield();
  }
  return stop_token().stop_requested();
}

}  // namespace offload
