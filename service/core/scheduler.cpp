// Bounded per-lane priority queues.
#include "core/scheduler.hpp"

namespace offload::core {

std::size_t scheduler::size() const noexcept {
  std::size_t n = delayed_.size();
  for (const auto& q : queues_)
    n += q.size();
  return n;
}

std::size_t scheduler::size(proto::lane l) const noexcept {
  std::size_t n = delayed_per_lane_[static_cast<std::size_t>(l)];
  for (std::size_t p = 0; p < queues_.size(); ++p)
    if (lane_of(static_cast<slot_pool>(p)) == l) n += queues_[p].size();
  return n;
}

scheduler::queue_type& scheduler::queue(slot_pool p) {
  const auto i = static_cast<std::size_t>(p);
  if (i >= queues_.size()) queues_.resize(i + 1);
  return queues_[i];
}

const scheduler::queue_type& scheduler::queue(slot_pool p) const noexcept {
  static const queue_type none;
  const auto i = static_cast<std::size_t>(p);
  return i < queues_.size() ? queues_[i] : none;
}

bool scheduler::push(std::shared_ptr<job> j, time_point now, bool over_bound) {
  if (!over_bound && full(lane_of(j->pool))) return false;
  if (j->not_before && *j->not_before > now) {
    ++delayed_per_lane_[static_cast<std::size_t>(lane_of(j->pool))];
    const std::pair key{*j->not_before, j->seq};
    delayed_.emplace(key, std::move(j));
    return true;
  }
  auto& q = queue(j->pool);
  const auto k = key_of(*j);
  q.emplace(k, std::move(j));
  return true;
}

std::shared_ptr<job> scheduler::pop(slot_pool p) {
  auto& q = queue(p);
  if (q.empty()) return nullptr;
  auto node = q.extract(q.begin());
  return std::move(node.mapped());
}

bool scheduler::remove(const job& j) {
  if (queue(j.pool).erase(key_of(j)) > 0) return true;
  if (!j.not_before || delayed_.erase({*j.not_before, j.seq}) == 0) return false;
  --delayed_per_lane_[static_cast<std::size_t>(lane_of(j.pool))];
  return true;
}

std::optional<scheduler::time_point> scheduler::next_due() const {
  if (delayed_.empty()) return std::nullopt;
  return delayed_.begin()->first.first;
}

std::size_t scheduler::release_due(time_point now) {
  std::size_t released = 0;
  while (!delayed_.empty() && delayed_.begin()->first.first <= now) {
    auto node = delayed_.extract(delayed_.begin());
    auto j = std::move(node.mapped());
    --delayed_per_lane_[static_cast<std::size_t>(lane_of(j->pool))];
    queue(j->pool).emplace(key_of(*j), std::move(j));
    ++released;
  }
  return released;
}

}  // namespace offload::core
