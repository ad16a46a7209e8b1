// How fast each lane finishes jobs, smoothed, and the `Retry-After` it suggests to a client whose
// submission found that lane's queue full.
#pragma once

#include <offload/proto/job_enums.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace offload::core {

/// Reactor-only. `finished` counts as jobs end; `sample` turns the counts into rates once per interval.
class completion_rate {
 public:
  /// Weight of the newest sample in the moving average.
  static constexpr double smoothing = 0.3;
  /// A lane that finished nothing lately is assumed to finish at least this many jobs per second, so an
  /// idle or stuck lane advises a long wait rather than an infinite one.
  static constexpr double floor_per_second = 0.5;

  void finished(proto::lane l) noexcept { ++counts_[index(l)]; }

  /// Folds the jobs finished since the last sample, over `interval`, into each lane's rate.
  void sample(std::chrono::duration<double> interval) noexcept {
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      const double rate = static_cast<double>(counts_[i]) / interval.count();
      rates_[i] = (1 - smoothing) * rates_[i] + smoothing * rate;
      counts_[i] = 0;
    }
  }

  /// Jobs per second, smoothed.
  double per_second(proto::lane l) const noexcept { return rates_[index(l)]; }

  /// How long until `queued` jobs ahead of a new one in lane `l` have run at its rate: 1 to 60 s.
  std::chrono::seconds retry_after(proto::lane l, std::size_t queued) const noexcept {
    const double rate = per_second(l) > floor_per_second ? per_second(l) : floor_per_second;
    const double seconds = static_cast<double>(queued) / rate;
    if (seconds <= 1) return std::chrono::seconds{1};
    if (seconds >= 60) return std::chrono::seconds{60};
    return std::chrono::seconds{static_cast<long>(seconds + 0.999)};
  }

 private:
  static std::size_t index(proto::lane l) noexcept { return l == proto::lane::thread ? 0 : 1; }

  std::array<std::uint64_t, 2> counts_{};
  std::array<double, 2> rates_{};
};

}  // namespace offload::core
