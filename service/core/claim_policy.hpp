// How many jobs a node's slot pool claims from the shared queue, and when: its free slots, and for types of
// short jobs a little more (claimed ahead of a slot, waiting here for one), so that its slots are not idle
// while a claim goes to Redis and back.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <unordered_map>

namespace offload::core {

/// Reactor-only. `ran` learns how long each type's jobs take here; the rest answers for one pool of
/// `capacity` slots of which `taken` are spoken for (running, claimed and waiting here, or being claimed by
/// their add).
class claim_policy {
 public:
  /// A job claimed ahead waits here about this long at most for its slot (by the recent run times of its
  /// type), so another node with a free slot would not have started it much sooner.
  static constexpr std::chrono::microseconds ahead_budget{2000};
  /// At most this many jobs per slot are claimed ahead, however short they are.
  static constexpr std::size_t max_ahead_per_slot = 64;
  /// Weight of the newest run time in each type's moving average.
  static constexpr double smoothing = 0.2;

  /// A job of `type` took `took` here, from its hand-off to the lane to its outcome.
  void ran(const std::string& type, std::chrono::duration<double, std::micro> took) {
    const auto [average, first] = run_us_.try_emplace(type, took.count());
    if (!first) average->second = (1 - smoothing) * average->second + smoothing * took.count();
  }

  /// How many jobs of `type` a pool claims beyond its free slots: `ahead_budget` of work per slot, up to
  /// `max_ahead_per_slot`; none for a type whose jobs take longer than the budget, or before one ran here.
  std::size_t ahead(const std::string& type, std::size_t capacity) const noexcept {
    const auto it = run_us_.find(type);
    if (it == run_us_.end()) return 0;
    const auto per_slot = std::floor(static_cast<double>(ahead_budget.count()) / std::max(it->second, 1.0));
    return std::min(max_ahead_per_slot, static_cast<std::size_t>(per_slot)) * capacity;
  }

  /// How many more jobs of `type` the pool takes now: its free slots and `ahead(type)`, less those taken.
  std::size_t room(const std::string& type, std::size_t capacity, std::size_t taken) const noexcept {
    const auto most = capacity + ahead(type, capacity);
    return most > taken ? most - taken : 0;
  }

  /// Whether the pool claims now: it has a free slot nothing taken waits for, or half of the room of one of
  /// its types that it claims ahead for is free again. That second claim goes out while the other half is
  /// still to run, and is back before the slots run dry (claiming only once a slot is free would leave it
  /// idle for each round trip, and the jobs' execution fall behind their submissions).
  bool due(std::span<const std::string> types, std::size_t capacity, std::size_t taken) const noexcept {
    if (taken < capacity) return true;
    return std::any_of(types.begin(), types.end(), [&](const std::string& type) {
      const auto more = ahead(type, capacity);
      return more > 0 && 2 * room(type, capacity, taken) >= capacity + more;
    });
  }

 private:
  // By type: a moving average of how long its jobs took here (µs).
  std::unordered_map<std::string, double> run_us_;
};

}  // namespace offload::core
