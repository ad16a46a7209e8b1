// Bounded per-lane priority queues.
#include "core/scheduler.hpp"

namespace offload::core {

bool scheduler::push(std::shared_ptr<job> j) {
  if (full()) return false;
  auto& q = queue(j->lane);
  const auto k = key_of(*j);
  q.emplace(k, std::move(j));
  return true;
}

std::shared_ptr<job> scheduler::pop(proto::lane l) {
  auto& q = queue(l);
  if (q.empty()) return nullptr;
  auto node = q.extract(q.begin());
  return std::move(node.mapped());
}

bool scheduler::remove(const job& j) {
  return queue(j.lane).erase(key_of(j)) > 0;
}

}  // namespace offload::core
