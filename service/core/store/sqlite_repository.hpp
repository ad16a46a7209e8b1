// The job store of `--store sqlite` (the default): every job in an embedded SQLite database, written by a
// thread of its own in group commits, so that jobs survive a crash of the process and, with `--sync full`,
// of the machine.
#pragma once

#include "core/store/job_repository.hpp"
#include "core/store/job_store.hpp"
#include "core/store/store_meter.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

struct sqlite3;

namespace offload::core {

class sqlite_connection;

struct sqlite_options {
  /// Holds `offload.db` (with its `-wal` and `-shm` files) and `offload.lock`; created when missing.
  std::filesystem::path dir = "offload-data";
  /// `synchronous=FULL` (a commit survives power loss) instead of `NORMAL` (it survives a crash of the
  /// process; the last commits may be lost if the machine loses power).
  bool full_sync = false;
  /// Retention of finished jobs, on disk: how many, for how long, and how many bytes of specs and logs.
  std::size_t retain_jobs = 100000;
  std::chrono::seconds retain_for{3600};
  std::uint64_t retain_bytes = 8ull << 30;
  /// Finished jobs also kept in memory, for `GET`s and replays right after they end.
  std::size_t cache_jobs = 1024;
  /// ... holding at most this much (`job_store::retained_bytes`): a few large results cannot fill memory.
  std::uint64_t cache_bytes = 64ull << 20;
};

/// One database file, owned by one offloadd (an exclusive lock on `offload.lock`). The reactor never
/// touches the disk: every operation is queued to the store thread, which runs whatever is queued in one
/// transaction (a group commit) and then completes the operations back on the reactor. A failed
/// transaction (disk full, I/O error) makes the store unhealthy: new jobs are refused, writes for jobs
/// already acknowledged are kept and retried every second until they succeed.
class sqlite_repository final : public job_repository {
 public:
  static constexpr const char* database_file = "offload.db";
  static constexpr const char* lock_file = "offload.lock";

  /// Creates the directory, takes the lock, opens (or creates) the database and starts the store thread.
  /// The error names the path and what is wrong: not creatable or writable, locked by another offloadd,
  /// not an Offload database (a foreign or corrupt file is never overwritten).
  static proto::result<std::unique_ptr<sqlite_repository>> open(boost::asio::any_io_executor reactor,
                                                                sqlite_options options);
  ~sqlite_repository() override;

  boost::asio::awaitable<proto::result<recovered_jobs>> async_recover() override;
  std::shared_ptr<job> make(proto::job_spec spec, proto::lane lane, slot_pool pool) override;
  boost::asio::awaitable<std::optional<proto::error>> async_add(std::shared_ptr<job> j) override;
  void save(const job& j, std::span<const logged_event> appended, bool record) override;
  void finished(std::shared_ptr<job> j) override;
  boost::asio::awaitable<std::shared_ptr<job>> async_find(std::string id) override;
  boost::asio::awaitable<std::shared_ptr<job>> async_find_by_key(std::string key) override;
  boost::asio::awaitable<proto::result<proto::job_page>> async_list(job_filter filter) override;
  boost::asio::awaitable<void> async_flush() override;
  std::size_t evict(time_point now, std::size_t limit) override;
  std::size_t finished_count() const noexcept override { return finished_; }
  std::optional<proto::error> health() const override;
  void close() override;
  bool durable() const noexcept override { return true; }
  std::string describe() const override;
  const store_meter* meter() const noexcept override { return &meter_; }

  /// One operation for the store thread (public for the implementation's helpers only).
  struct operation;

 private:
  template <class R>
  struct initiation;
  struct eviction;

  sqlite_repository(boost::asio::any_io_executor reactor, sqlite_options options, int lock_fd,
                    std::unique_ptr<sqlite_connection> db);

  /// Runs `fn(connection)` on the store thread, in order with every other operation; completes on the
  /// reactor with its value, or with `failed(error)` when its transaction failed.
  template <class R, class Fn, class Fail>
  boost::asio::awaitable<R> call(bool adds_a_job, Fn fn, Fail failed);
  void enqueue(std::unique_ptr<operation> op);
  /// Moves the reactor's outbox to the store thread's queue.
  void hand_over();
  void thread_main();
  /// Runs one batch in one transaction. Returns the writes to try again (the transaction failed).
  std::vector<std::unique_ptr<operation>> run_batch(std::vector<std::unique_ptr<operation>> batch);
  /// Completes a batch's operations and hands what they answer to the reactor, in order, in one post.
  void deliver(std::vector<std::unique_ptr<operation>> batch, const std::optional<proto::error>& failure);
  /// Queues a retention pass on disk.
  void schedule_eviction(time_point now, bool sweep);
  /// Caches a finished job read from disk, or returns the cached copy.
  std::shared_ptr<job> cached(std::shared_ptr<job> j);

  boost::asio::any_io_executor reactor_;
  sqlite_options options_;
  std::string path_;
  int lock_fd_;
  std::unique_ptr<sqlite_connection> db_;

  // Reactor side.
  job_store cache_;
  std::uint64_t next_seq_ = 1;
  std::mt19937_64 random_;
  std::size_t finished_ = 0;
  // Finished jobs that queued evictions are expected to delete; whether a sweep's eviction is in flight.
  std::size_t evicting_count_ = 0;
  bool sweeping_ = false;
  // Expires with the repository: what it posted to the reactor checks it before touching the repository.
  std::shared_ptr<void> lifetime_ = std::make_shared<int>(0);
  // Operations queued during the current turn of the reactor, and whether their hand-over is posted.
  std::vector<std::unique_ptr<operation>> outbox_;
  bool outbox_posted_ = false;

  // Shared with the store thread.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<operation>> pending_;
  // Pending operations that somebody awaits (everything but write-behind).
  std::size_t pending_awaited_ = 0;
  bool closing_ = false;
  std::string failure_;
  std::atomic<bool> healthy_{true};
  store_meter meter_;
  std::thread thread_;

  // The checkpointer: woken by a commit each time the log has grown by `checkpoint_pages` (each
  // checkpoint syncs the database file: once per step, not once per commit).
  static constexpr int checkpoint_pages = 4000;
  // Past this many pages of log (16 MiB with the 1 KiB pages of a database this build created, 64 MiB with
  // SQLite's default 4 KiB), a checkpoint restarts the log.
  static constexpr int restart_pages = 16384;
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int pages);
  void checkpoint_main();
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wake_;
  std::atomic<bool> checkpoint_wanted_{false};
  // Store thread only (the hook runs on its connection): the log size that wakes the checkpointer next.
  int checkpoint_at_ = checkpoint_pages;
  int log_pages_ = 0;
  bool checkpoint_closing_ = false;
  std::thread checkpointer_;
};

}  // namespace offload::core
