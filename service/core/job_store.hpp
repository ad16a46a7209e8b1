// Every job the server knows: live ones, and finished ones until retention evicts them.
#pragma once

#include "core/job.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace offload::core {

/// A listing query: `GET /v1/jobs?state=&type=&limit=&after=`.
struct job_filter {
  static constexpr std::size_t default_limit = 100;
  static constexpr std::size_t max_limit = 1000;

  std::optional<proto::job_state> state{};
  std::optional<std::string> type{};
  std::size_t limit = default_limit;
  /// Id of the last job of the previous page; the listing continues after it (it need not exist any more).
  std::optional<std::string> after{};
};

/// One page of a listing, oldest first; `next` is the cursor for the following page, if there is one.
struct job_page {
  std::vector<std::shared_ptr<const job>> jobs;
  std::optional<std::string> next;
};

/// Reactor-only index of jobs by id and by idempotency key, with retention of finished jobs.
class job_store {
 public:
  /// Finished jobs are kept until there are more than `max_finished`, or for `max_age`.
  job_store(std::size_t max_finished, std::chrono::seconds max_age);

  /// Creates and indexes a queued job with a fresh id.
  std::shared_ptr<job> create(proto::job_spec spec, proto::lane lane, slot_pool pool = slot_pool::thread);

  std::shared_ptr<job> find(std::string_view id) const;
  std::shared_ptr<job> find_by_idempotency_key(std::string_view key) const;

  /// Records that `j` reached its terminal state, making it eligible for eviction.
  void mark_finished(const job& j);
  /// Evicts finished jobs beyond the count bound or older than the age bound, at most `limit` of them.
  /// Returns how many.
  std::size_t evict(std::chrono::system_clock::time_point now,
                    std::size_t limit = std::numeric_limits<std::size_t>::max());

  job_page list(const job_filter& filter) const;
  /// Every job not yet in a terminal state, oldest first.
  std::vector<std::shared_ptr<job>> unfinished() const;

  std::size_t size() const noexcept { return jobs_.size(); }
  std::size_t finished_count() const noexcept { return finished_.size(); }

 private:
  struct finished_entry {
    std::chrono::system_clock::time_point at;
    std::uint64_t seq;
  };

  void erase(std::uint64_t seq);

  std::size_t max_finished_;
  std::chrono::seconds max_age_;
  std::uint64_t next_seq_ = 1;
  std::mt19937_64 random_;
  std::map<std::uint64_t, std::shared_ptr<job>> jobs_;
  std::unordered_map<std::string, std::uint64_t> by_key_;
  // In finishing order, so the oldest finished job is evicted first.
  std::deque<finished_entry> finished_;
};

}  // namespace offload::core
