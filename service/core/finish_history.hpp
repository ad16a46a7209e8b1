// How many jobs ended per second, by terminal state, over the last minutes: the throughput chart of the
// dashboard (`GET /v1/stats`).
#pragma once

#include "core/second_ring.hpp"

#include <offload/proto/job_enums.hpp>

#include <array>
#include <cstdint>
#include <vector>

namespace offload::core {

/// Reactor-only.
class finish_history {
 public:
  /// How far back it remembers.
  static constexpr std::size_t seconds = 120;
  /// The terminal states, in the order of `counts`.
  static constexpr std::array<proto::job_state, 4> states{
      proto::job_state::succeeded, proto::job_state::failed, proto::job_state::cancelled,
      proto::job_state::timed_out};
  /// Jobs that ended in one second, by state (in the order of `states`).
  using counts = std::array<std::uint32_t, states.size()>;

  /// A job ended in `state` (terminal) at `now`.
  void finished(proto::job_state state, second_ring<counts, seconds>::clock::time_point now) noexcept {
    for (std::size_t i = 0; i < states.size(); ++i)
      if (states[i] == state) ++ring_.at(ring_.second_of(now))[i];
  }

  /// The last `seconds` whole seconds before `now`, oldest first.
  std::vector<counts> last(second_ring<counts, seconds>::clock::time_point now) const {
    return ring_.last(seconds, now);
  }

 private:
  second_ring<counts, seconds> ring_;
};

}  // namespace offload::core
