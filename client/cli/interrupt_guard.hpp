// Ctrl-C while the CLI follows a job: instead of dying silently (and leaving the user to wonder whether
// the job died too), say what became of the job.
#pragma once

#include <functional>
#include <memory>
#include <thread>

namespace offload::cli {

/// While alive, SIGINT and SIGTERM run `on_interrupt` on a thread of its own (the handler itself only
/// writes a byte to a pipe), then the process exits with 130 after flushing stdio. The previous
/// handlers are restored on destruction. One guard at a time.
class interrupt_guard {
 public:
  explicit interrupt_guard(std::function<void()> on_interrupt);
  ~interrupt_guard();
  interrupt_guard(const interrupt_guard&) = delete;
  interrupt_guard& operator=(const interrupt_guard&) = delete;

 private:
  void wait_for_signal(const std::function<void()>& on_interrupt);

  int signal_pipe_[2] = {-1, -1};
  int stop_pipe_[2] = {-1, -1};
  struct saved;
  std::unique_ptr<saved> saved_;
  std::jthread waiter_;
};

}  // namespace offload::cli
