// Where jobs are kept: the seam between the job service and a store (memory, SQLite, later Redis).
#pragma once

#include "core/job.hpp"

#include <offload/proto/job_page.hpp>
#include <offload/proto/result.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace offload::core {

class shared_queue;
class store_meter;

/// A listing query: `GET /v1/jobs?state=&type=&limit=&after=`.
struct job_filter {
  static constexpr std::size_t default_limit = 100;
  static constexpr std::size_t max_limit = 1000;

  std::optional<proto::job_state> state{};
  std::optional<std::string> type{};
  std::size_t limit = default_limit;
  /// Id of the last job of the previous page; the listing continues after it (it need not exist any more).
  std::optional<std::string> after{};
  /// Newest first (`after` then continues with older jobs); oldest first otherwise.
  bool newest_first = false;
  /// With each succeeded job's `result` (a listing is summaries otherwise).
  bool with_results = false;
  /// A page stops growing once its jobs' estimated JSON size passes this (it always holds at least one
  /// job), so that one request cannot build, nor serialise on the reactor, an unbounded body; `next` says
  /// where to continue.
  static constexpr std::size_t max_page_bytes = 1024 * 1024;
  /// The estimate for one job in a page: a summary's fixed part plus its variable texts.
  static std::size_t estimated_bytes(std::size_t variable_bytes) noexcept { return 512 + variable_bytes; }
};

/// What a store hands back when the service starts: the jobs a previous run left unfinished, oldest first,
/// in the state they were stored in (`queued`, or `running` when that run ended while they ran).
struct recovered_jobs {
  std::vector<std::shared_ptr<job>> unfinished;
  /// Finished jobs still kept (for the retention gauge).
  std::size_t finished = 0;
};

/// The store of every job. Called on the reactor only, and never blocks it: a store that does I/O does it
/// elsewhere (a thread of its own, a non-blocking socket) and completes its awaitable operations back on the
/// reactor. Writes that need no answer (`save`, `finished`, `evict`) are write-behind: they are queued, in
/// order, behind every operation issued before them, so a read issued after a write sees it.
///
/// The service keeps unfinished jobs in memory itself; a store must be able to find finished ones (by id
/// and by idempotency key), list every job, and give back what was unfinished after a restart.
class job_repository {
 public:
  using time_point = std::chrono::system_clock::time_point;

  virtual ~job_repository() = default;

  /// Reads back what a previous run left. Called once, before anything else.
  virtual boost::asio::awaitable<proto::result<recovered_jobs>> async_recover() = 0;

  /// A new queued job with a fresh id, not yet stored.
  virtual std::shared_ptr<job> make(proto::job_spec spec, proto::lane lane, slot_pool pool) = 0;
  /// Stores a job from `make` with the events it has so far. Completes once the job is durable (it may then
  /// be acknowledged), or with `storage_unavailable` (it was not stored, and must not be acknowledged).
  virtual boost::asio::awaitable<std::optional<proto::error>> async_add(std::shared_ptr<job> j) = 0;
  /// Write-behind: `j`'s record changed (`record`) and/or `appended` were just added to its log.
  virtual void save(const job& j, std::span<const logged_event> appended, bool record) = 0;
  /// Write-behind: `j` reached its terminal state (already saved); it is retained from now on.
  virtual void finished(std::shared_ptr<job> j) = 0;

  /// A finished job by id, or null (unknown, evicted, or unreadable: a failed read is logged).
  virtual boost::asio::awaitable<std::shared_ptr<job>> async_find(std::string id) = 0;
  /// The finished job that used idempotency key `key`, or null.
  virtual boost::asio::awaitable<std::shared_ptr<job>> async_find_by_key(std::string key) = 0;
  /// A page of every stored job, oldest first. Unfinished jobs may be shown as last stored: the service
  /// replaces them with their live view.
  virtual boost::asio::awaitable<proto::result<proto::job_page>> async_list(job_filter filter) = 0;
  /// Completes once every write issued before it is durable, or has failed.
  virtual boost::asio::awaitable<void> async_flush() = 0;

  /// Applies retention (count and age of finished jobs) to at most `limit` jobs; returns how many it
  /// handled (`limit` means: call again).
  virtual std::size_t evict(time_point now, std::size_t limit) = 0;
  /// Finished jobs kept.
  virtual std::size_t finished_count() const noexcept = 0;
  /// `storage_unavailable` while writes fail (disk full, I/O error); null when the store is healthy.
  virtual std::optional<proto::error> health() const = 0;
  /// Writes what is still queued and releases the store. Call after the reactor stopped.
  virtual void close() = 0;
  /// Whether jobs outlive this process: a drain then leaves queued jobs for the next start.
  virtual bool durable() const noexcept = 0;
  /// `memory` or `sqlite:<path>`, for logs and stats.
  virtual std::string describe() const = 0;
  /// What the store's commits cost (for `/metrics`); null for a store that writes nothing (memory).
  virtual const store_meter* meter() const noexcept { return nullptr; }
  /// The queue shared with other nodes when the store is one (Redis); null when jobs are queued here.
  virtual shared_queue* shared() noexcept { return nullptr; }
};

}  // namespace offload::core
