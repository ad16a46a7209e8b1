// One post per burst: the first call of a burst posts the drain, the others only join the queue.
#include "core/reactor_inbox.hpp"

#include <boost/asio/post.hpp>

namespace offload::core {

reactor_inbox::reactor_inbox(asio::any_io_executor reactor) : reactor_(std::move(reactor)) {}

void reactor_inbox::push(std::unique_ptr<call_base> c) {
  {
    const std::lock_guard lock{state_->mutex};
    state_->calls.push_back(std::move(c));
    if (state_->drain_posted) return;
    state_->drain_posted = true;
  }
  asio::post(reactor_, [s = state_] { drain(*s); });
}

void reactor_inbox::drain(state& s) {
  std::vector<std::unique_ptr<call_base>> calls;
  {
    const std::lock_guard lock{s.mutex};
    calls.swap(s.calls);
    s.drain_posted = false;
  }
  for (const auto& c : calls)
    c->run();
}

}  // namespace offload::core
