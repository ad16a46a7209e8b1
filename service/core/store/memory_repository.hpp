// The job store of `--store memory`: every job in this process's memory, gone when it stops.
#pragma once

#include "core/store/job_repository.hpp"
#include "core/store/job_store.hpp"

namespace offload::core {

/// Keeps every job (unfinished and retained) in a `job_store`. Every operation completes at once.
class memory_repository final : public job_repository {
 public:
  /// Retains up to `max_finished` finished jobs holding up to `max_bytes` (`job_store::retained_bytes`),
  /// each for `max_age`.
  memory_repository(std::size_t max_finished, std::chrono::seconds max_age,
                    std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max())
      : store_(max_finished, max_age, max_bytes) {}

  boost::asio::awaitable<proto::result<recovered_jobs>> async_recover() override;
  std::shared_ptr<job> make(proto::job_spec spec, proto::lane lane, slot_pool pool) override;
  boost::asio::awaitable<std::optional<proto::error>> async_add(std::shared_ptr<job> j) override;
  void save(const job&, std::span<const logged_event>, bool) override {}
  void finished(std::shared_ptr<job> j) override;
  boost::asio::awaitable<std::shared_ptr<job>> async_find(std::string id) override;
  boost::asio::awaitable<std::shared_ptr<job>> async_find_by_key(std::string key) override;
  boost::asio::awaitable<proto::result<proto::job_page>> async_list(job_filter filter) override;
  boost::asio::awaitable<void> async_flush() override;
  std::size_t evict(time_point now, std::size_t limit) override { return store_.evict(now, limit); }
  std::size_t finished_count() const noexcept override { return store_.finished_count(); }
  std::optional<proto::error> health() const override { return std::nullopt; }
  void close() override {}
  bool durable() const noexcept override { return false; }
  std::string describe() const override { return "memory"; }

 private:
  job_store store_;
};

}  // namespace offload::core
