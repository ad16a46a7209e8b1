// Bounded per-lane priority queues.
#include "core/scheduler.hpp"

namespace offload::core {

std::size_t scheduler::size() const noexcept {
  std::size_t n = 0;
  for (const auto& q : queues_)
    n += q.size();
  return n;
}

std::size_t scheduler::size(proto::lane l) const noexcept {
  std::size_t n = 0;
  for (std::size_t p = 0; p < slot_pool_count; ++p)
    if (lane_of(static_cast<slot_pool>(p)) == l) n += queues_[p].size();
  return n;
}

bool scheduler::push(std::shared_ptr<job> j) {
  if (full(lane_of(j->pool))) return false;
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
  return queue(j.pool).erase(key_of(j)) > 0;
}

}  // namespace offload::core
