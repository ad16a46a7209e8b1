// Job index, listing and retention.
#include "core/store/job_store.hpp"

#include "core/job_id.hpp"

#include <offload/proto/json_parse.hpp>

#include <algorithm>

namespace offload::core {
job_store::job_store(std::size_t max_finished, std::chrono::seconds max_age, std::uint64_t max_bytes)
    : max_finished_(max_finished),
      max_age_(max_age),
      max_bytes_(max_bytes),
      random_(std::random_device{}()) {}

std::uint64_t job_store::retained_bytes(const job& j) {
  // The result is counted with the frames: it is kept as text inside the terminal one.
  std::uint64_t bytes = 1024 + 2 * proto::approximate_json_size(j.spec.input);
  for (const auto& e : j.events.events())
    bytes += e.frame->size();
  return bytes;
}

std::shared_ptr<job> job_store::create(proto::job_spec spec, proto::lane lane, slot_pool pool) {
  auto j =
      new_job(next_seq_++, static_cast<std::uint32_t>(random_() & 0xffffffffu), std::move(spec), lane, pool);
  if (j->spec.idempotency_key) by_key_[*j->spec.idempotency_key] = j->seq;
  jobs_.emplace(j->seq, j);
  return j;
}

void job_store::add(std::shared_ptr<job> j) {
  erase(j->seq);
  if (j->spec.idempotency_key) by_key_[*j->spec.idempotency_key] = j->seq;
  jobs_.emplace(j->seq, std::move(j));
}

std::shared_ptr<job> job_store::find(std::string_view id) const {
  const auto seq = job_id::seq_of(id);
  if (!seq) return nullptr;
  const auto it = jobs_.find(*seq);
  // The random suffix must match too: a guessed seq alone finds nothing.
  if (it == jobs_.end() || it->second->id != id) return nullptr;
  return it->second;
}

std::shared_ptr<job> job_store::find_by_idempotency_key(std::string_view key) const {
  const auto it = by_key_.find(std::string{key});
  if (it == by_key_.end()) return nullptr;
  const auto j = jobs_.find(it->second);
  return j == jobs_.end() ? nullptr : j->second;
}

void job_store::mark_finished(const job& j) {
  const auto bytes = retained_bytes(j);
  finished_.push_back({j.finished_at.value_or(job::clock::now()), j.seq, bytes});
  finished_bytes_ += bytes;
}

std::size_t job_store::evict(std::chrono::system_clock::time_point now, std::size_t limit) {
  std::size_t evicted = 0;
  while (evicted < limit && !finished_.empty() &&
         (finished_.size() > max_finished_ || finished_bytes_ > max_bytes_ ||
          finished_.front().at + max_age_ <= now)) {
    erase(finished_.front().seq);
    finished_bytes_ -= finished_.front().bytes;
    finished_.pop_front();
    ++evicted;
  }
  return evicted;
}

void job_store::erase(std::uint64_t seq) {
  const auto it = jobs_.find(seq);
  if (it == jobs_.end()) return;
  if (const auto& key = it->second->spec.idempotency_key) {
    // The key may since have been taken by a newer job only if this one was evicted; check anyway.
    if (auto k = by_key_.find(*key); k != by_key_.end() && k->second == seq) by_key_.erase(k);
  }
  jobs_.erase(it);
}

job_page job_store::list(const job_filter& filter) const {
  job_page page;
  const auto limit = std::clamp<std::size_t>(filter.limit, 1, job_filter::max_limit);
  std::size_t bytes = 0;
  // Adds the job unless it does not match; false once the page is full (by count or by bytes) and a
  // further match exists.
  const auto take = [&](const std::shared_ptr<job>& j) {
    if (filter.state && j->state != *filter.state) return true;
    if (filter.type && j->spec.type != *filter.type) return true;
    // The terminal event's frame holds the result (or error) already serialised: its size is the estimate.
    const auto& events = j->events.events();
    const auto variable = filter.with_results && proto::is_terminal(j->state) && !events.empty()
                              ? events.back().frame->size()
                              : 0;
    const auto cost = job_filter::estimated_bytes(variable);
    if (page.jobs.size() == limit || (!page.jobs.empty() && bytes + cost > job_filter::max_page_bytes)) {
      page.next = page.jobs.back()->id;
      return false;
    }
    bytes += cost;
    page.jobs.push_back(j);
    return true;
  };
  const auto after = filter.after ? job_id::seq_of(*filter.after) : std::nullopt;
  if (filter.after && !after) return page;
  if (filter.newest_first) {
    for (auto it = std::make_reverse_iterator(after ? jobs_.lower_bound(*after) : jobs_.end());
         it != jobs_.rend(); ++it)
      if (!take(it->second)) break;
  } else {
    for (auto it = after ? jobs_.upper_bound(*after) : jobs_.begin(); it != jobs_.end(); ++it)
      if (!take(it->second)) break;
  }
  return page;
}

std::vector<std::shared_ptr<job>> job_store::unfinished() const {
  std::vector<std::shared_ptr<job>> out;
  for (const auto& [seq, j] : jobs_)
    if (!proto::is_terminal(j->state)) out.push_back(j);
  return out;
}

}  // namespace offload::core
