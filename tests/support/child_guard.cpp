#include "support/child_guard.hpp"

#include <array>
#include <atomic>
#include <csignal>

namespace offload::test {
namespace {

std::array<std::atomic<pid_t>, 256> guarded{};
struct sigaction previous_abort {};

// Kills every guarded child, then lets the abort go on as it would have (the previous handler, or the
// default action: a core dump).
extern "C" void kill_guarded_children(int sig) {
  for (auto& slot : guarded)
    if (const pid_t pid = slot.load(std::memory_order_relaxed); pid > 0) ::kill(pid, SIGKILL);
  ::sigaction(SIGABRT, &previous_abort, nullptr);
  ::raise(sig);
}

bool install() noexcept {
  struct sigaction action {};
  action.sa_handler = kill_guarded_children;
  sigemptyset(&action.sa_mask);
  return ::sigaction(SIGABRT, &action, &previous_abort) == 0;
}

}  // namespace

void guard_child(pid_t pid) noexcept {
  [[maybe_unused]] static const bool installed = install();
  for (auto& slot : guarded) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pid)) return;
  }
}

void unguard_child(pid_t pid) noexcept {
  for (auto& slot : guarded) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

}  // namespace offload::test
