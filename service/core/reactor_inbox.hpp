// Calls from other threads to the reactor, batched: however many arrive while the reactor is busy, it is
// woken once and runs them all in one turn, in the order they came.
#pragma once

#include <offload/asio_support.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace offload::core {

class reactor_inbox {
 public:
  explicit reactor_inbox(asio::any_io_executor reactor);

  /// Runs `fn()` on the reactor, after every call queued before it. Any thread. A call still queued when
  /// the reactor stops running is destroyed with the inbox or with the reactor, whichever goes last.
  template <class Fn>
  void post(Fn fn) {
    push(std::make_unique<call<Fn>>(std::move(fn)));
  }

 private:
  struct call_base {
    virtual ~call_base() = default;
    virtual void run() = 0;
  };
  template <class Fn>
  struct call final : call_base {
    explicit call(Fn f) : fn(std::move(f)) {}
    void run() override { std::move(fn)(); }
    Fn fn;
  };
  // Shared with the posted drain, so a drain that runs after the inbox is gone finds its calls.
  struct state {
    std::mutex mutex;
    std::vector<std::unique_ptr<call_base>> calls;
    bool drain_posted = false;
  };

  void push(std::unique_ptr<call_base> c);
  static void drain(state& s);

  asio::any_io_executor reactor_;
  std::shared_ptr<state> state_ = std::make_shared<state>();
};

}  // namespace offload::core
