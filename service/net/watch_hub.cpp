// The watchers' feed.
#include "net/watch_hub.hpp"

#include <offload/proto/json_parse.hpp>

namespace offload::net {

std::uint64_t watch_hub::add(sink send) {
  const auto id = next_id_++;
  watchers_.emplace(id, watcher{std::move(send), {}});
  return id;
}

void watch_hub::set_topics(std::uint64_t id, topics what) {
  const auto it = watchers_.find(id);
  if (it == watchers_.end() || stopped_) return;
  auto& w = it->second;
  if (what.stats && !stats_source_) what.stats = false;
  stats_watchers_ += static_cast<std::size_t>(what.stats) - static_cast<std::size_t>(w.what.stats);
  jobs_watchers_ += static_cast<std::size_t>(what.jobs) - static_cast<std::size_t>(w.what.jobs);
  const bool starts_stats = what.stats && !w.what.stats;
  w.what = what;
  if (jobs_watchers_ == 0) {
    changed_.clear();
    changed_at_.clear();
    dropped_ = 0;
  }
  if (starts_stats) w.send(stats_frame());
  arm();
}

void watch_hub::remove(std::uint64_t id) {
  set_topics(id, {});
  watchers_.erase(id);
}

void watch_hub::job_changed(const core::job& j) {
  if (jobs_watchers_ == 0) return;
  if (const auto it = changed_at_.find(j.id); it != changed_at_.end()) {
    changed_[it->second] = j.view(false);
    return;
  }
  if (changed_.size() >= max_jobs_per_batch) {
    ++dropped_;
    return;
  }
  changed_at_.emplace(j.id, changed_.size());
  changed_.push_back(j.view(false));
}

void watch_hub::stop() {
  stopped_ = true;
  timer_.cancel();
}

// One timer for both topics, running only while someone watches.
void watch_hub::arm() {
  if (armed_ || stopped_ || (stats_watchers_ == 0 && jobs_watchers_ == 0)) return;
  armed_ = true;
  timer_.expires_after(jobs_interval);
  // `this` is touched only when the wait completed: a cancelled one (stop, shutdown) returns at once.
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    armed_ = false;
    tick();
    arm();
  });
}

void watch_hub::tick() {
  if (!changed_.empty() || dropped_ > 0) {
    nlohmann::json message{{"op", "jobs"}, {"jobs", std::move(changed_)}};
    if (dropped_ > 0) message["dropped"] = dropped_;
    changed_.clear();
    changed_at_.clear();
    dropped_ = 0;
    broadcast(std::make_shared<const std::string>(proto::dump_json(message)), &topics::jobs);
  }
  constexpr unsigned ticks_per_stats = stats_interval / jobs_interval;
  if (++ticks_ % ticks_per_stats == 0 && stats_watchers_ > 0) broadcast(stats_frame(), &topics::stats);
}

watch_hub::frame watch_hub::stats_frame() const {
  const nlohmann::json message{{"op", "stats"}, {"stats", stats_source_()}};
  return std::make_shared<const std::string>(proto::dump_json(message));
}

void watch_hub::broadcast(const frame& f, bool topics::*topic) {
  // A sink may close its socket, which removes its watcher: walk a copy of the ids.
  std::vector<std::uint64_t> ids;
  ids.reserve(watchers_.size());
  for (const auto& [id, w] : watchers_)
    if (w.what.*topic) ids.push_back(id);
  for (const auto id : ids)
    if (const auto it = watchers_.find(id); it != watchers_.end()) it->second.send(f);
}

}  // namespace offload::net
