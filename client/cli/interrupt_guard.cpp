// A self-pipe: the signal handler does the one async-signal-safe thing, a thread does the rest.
#include "interrupt_guard.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <unistd.h>

namespace offload::cli {
namespace {

volatile std::sig_atomic_t write_end = -1;

extern "C" void on_signal(int) {
  const int saved_errno = errno;
  const char byte = 1;
  if (write_end >= 0) [[maybe_unused]]
    auto n = ::write(write_end, &byte, 1);
  errno = saved_errno;
}

}  // namespace

struct interrupt_guard::saved {
  struct sigaction interrupt {};
  struct sigaction terminate {};
};

interrupt_guard::interrupt_guard(std::function<void()> on_interrupt) {
  if (::pipe2(signal_pipe_, O_CLOEXEC | O_NONBLOCK) != 0 || ::pipe2(stop_pipe_, O_CLOEXEC) != 0)
    throw std::runtime_error("cannot create a pipe");
  write_end = signal_pipe_[1];
  saved_ = std::make_unique<saved>();
  struct sigaction action {};
  action.sa_handler = on_signal;
  ::sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, &saved_->interrupt);
  ::sigaction(SIGTERM, &action, &saved_->terminate);
  waiter_ = std::jthread{[this, run = std::move(on_interrupt)] { wait_for_signal(run); }};
}

interrupt_guard::~interrupt_guard() {
  ::sigaction(SIGINT, &saved_->interrupt, nullptr);
  ::sigaction(SIGTERM, &saved_->terminate, nullptr);
  write_end = -1;
  const char byte = 0;
  [[maybe_unused]] auto n = ::write(stop_pipe_[1], &byte, 1);
  waiter_.join();
  for (const int fd : {signal_pipe_[0], signal_pipe_[1], stop_pipe_[0], stop_pipe_[1]})
    ::close(fd);
}

void interrupt_guard::wait_for_signal(const std::function<void()>& on_interrupt) {
  pollfd fds[2] = {{signal_pipe_[0], POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
  while (::poll(fds, 2, -1) < 0 && errno == EINTR) {
  }
  if (fds[1].revents != 0 || !(fds[0].revents & POLLIN)) return;
  on_interrupt();
  std::fflush(nullptr);
  std::_Exit(130);
}

}  // namespace offload::cli
