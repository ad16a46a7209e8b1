// An in-memory index of jobs by id and idempotency key, with retention of finished jobs: the whole store of
// the memory repository, and the cache of recently finished jobs of the SQLite one.
#pragma once

#include "core/job.hpp"
#include "core/store/job_repository.hpp"

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

/// One page of a listing, oldest first; `next` is the cursor for the following page, if there is one.
struct job_page {
  std::vector<std::shared_ptr<const job>> jobs;
  std::optional<std::string> next;
};

/// Reactor-only index of jobs by id and by idempotency key, with retention of finished jobs.
class job_store {
 public:
  /// Finished jobs are kept until there are more than `max_finished`, or more than `max_bytes` of them
  /// (`retained_bytes`), or for `max_age`.
  job_store(std::size_t max_finished, std::chrono::seconds max_age,
            std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max());

  /// What a finished job is reckoned to hold in memory: its event frames, its input and result as parsed
  /// JSON (about twice their text), and 1 KiB for the rest.
  static std::uint64_t retained_bytes(const job& j);

  /// Creates and indexes a queued job with a fresh id.
  std::shared_ptr<job> create(proto::job_spec spec, proto::lane lane, slot_pool pool = slot_pool::thread);
  /// Indexes a job made elsewhere (read back from disk); replaces one with the same seq.
  void add(std::shared_ptr<job> j);

  std::shared_ptr<job> find(std::string_view id) const;
  std::shared_ptr<job> find_by_idempotency_key(std::string_view key) const;

  /// Records that `j` reached its terminal state, making it eligible for eviction.
  void mark_finished(const job& j);
  /// Evicts finished jobs beyond the count bound or older than the age bound, at most `limit` of them.
  /// Returns how many.
  std::size_t evict(std::chrono::system_clock::time_point now,
                    std::size_t limit = std::numeric_limits<std::size_t>::max());

  job_page list(const job_filter& filter) const;
  /// Forgets one job (deleted elsewhere); its place in the retention order is skipped when reached.
  void remove(std::uint64_t seq) { erase(seq); }
  /// Every job not yet in a terminal state, oldest first.
  std::vector<std::shared_ptr<job>> unfinished() const;

  std::size_t size() const noexcept { return jobs_.size(); }
  std::size_t finished_count() const noexcept { return finished_.size(); }
  std::uint64_t finished_bytes() const noexcept { return finished_bytes_; }
  std::size_t max_finished() const noexcept { return max_finished_; }
  std::chrono::seconds max_age() const noexcept { return max_age_; }

 private:
  struct finished_entry {
    std::chrono::system_clock::time_point at;
    std::uint64_t seq;
    std::uint64_t bytes;
  };

  void erase(std::uint64_t seq);

  std::size_t max_finished_;
  std::chrono::seconds max_age_;
  std::uint64_t max_bytes_;
  std::uint64_t finished_bytes_ = 0;
  std::uint64_t next_seq_ = 1;
  std::mt19937_64 random_;
  std::map<std::uint64_t, std::shared_ptr<job>> jobs_;
  std::unordered_map<std::string, std::uint64_t> by_key_;
  // In finishing order, so the oldest finished job is evicted first.
  std::deque<finished_entry> finished_;
};

}  // namespace offload::core
