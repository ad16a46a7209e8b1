// A value per second of the steady clock over the last `N` seconds, in a ring: what the dashboard's charts
// and the readiness check read (jobs finished per second, the reactor's worst lag per second).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <vector>

namespace offload::core {

/// Reactor-only. A slot that holds an older second reads as `T{}`.
template <class T, std::size_t N>
class second_ring {
 public:
  using clock = std::chrono::steady_clock;

  second_ring() { second_of_slot_.fill(-1); }

  static long long second_of(clock::time_point t) noexcept {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  }

  /// The value of second `s`, reset to `T{}` first if its slot held an older second.
  T& at(long long s) noexcept {
    const auto slot = index(s);
    if (second_of_slot_[slot] != s) {
      second_of_slot_[slot] = s;
      values_[slot] = T{};
    }
    return values_[slot];
  }

  /// The value of second `s`: `T{}` when nothing was recorded in it, or it is more than `N` seconds old.
  T get(long long s) const noexcept {
    const auto slot = index(s);
    return second_of_slot_[slot] == s ? values_[slot] : T{};
  }

  /// The `count` (at most `N`) whole seconds before `now`'s, oldest first.
  std::vector<T> last(std::size_t count, clock::time_point now) const {
    const auto current = second_of(now);
    std::vector<T> out;
    out.reserve(count);
    for (auto s = current - static_cast<long long>(count); s < current; ++s)
      out.push_back(get(s));
    return out;
  }

 private:
  static std::size_t index(long long s) noexcept { return static_cast<std::size_t>(s) % N; }

  std::array<T, N> values_{};
  std::array<long long, N> second_of_slot_{};
};

}  // namespace offload::core
