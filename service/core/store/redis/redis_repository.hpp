// The job store of `--store redis://…`: every job in one Redis shared by several offloadd nodes. Beside the
// repository seam it is the cluster's queue: a node claims jobs it has a free slot for, holds each under a
// lease it renews, and every write about a claimed job is fenced by the claim's token, so a node that lost a
// job (its lease passed and another node took it over) can no longer change it.
#pragma once

#include "core/store/job_repository.hpp"
#include "core/store/redis/redis_connection.hpp"
#include "core/store/shared_queue.hpp"
#include "core/store/store_meter.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace offload::core {

/// A field of a job's hash in Redis and its value ('' for none).
using redis_field = std::pair<std::string_view, std::string>;

struct redis_options {
  redis_endpoint endpoint;
  /// This node's name in Redis (owner of the jobs it claims); unique per process.
  std::string node;
  /// How long a claimed job stays this node's without a renewal.
  std::chrono::milliseconds lease{10000};
  /// Retention of finished jobs: how many, and for how long.
  std::size_t retain_jobs = 100000;
  std::chrono::seconds retain_for{3600};
  /// Writes kept, in order, while Redis is unreachable; past this the oldest are dropped. The events and
  /// record of a dropped write go with the job's next write; a job whose end was dropped runs again on some
  /// node once its lease passes.
  std::uint64_t max_pending_write_bytes = 64ull << 20;
  /// How long start-up waits for Redis before it gives up.
  std::chrono::milliseconds connect_for{30000};
  redis_connection_options connection{};
};

class redis_repository final : public job_repository, public shared_queue {
 public:
  redis_repository(boost::asio::any_io_executor reactor, redis_options options);
  ~redis_repository() override;

  /// The sorted set that queues jobs of `type` in `lane`.
  static std::string queue_of(proto::lane lane, const std::string& type);

  /// Connects (and reconnects by itself from then on); completes once ready or after `limit`.
  boost::asio::awaitable<bool> async_connect(std::chrono::steady_clock::duration limit);

  boost::asio::awaitable<proto::result<recovered_jobs>> async_recover() override;
  std::shared_ptr<job> make(proto::job_spec spec, proto::lane lane, slot_pool pool) override;
  /// Stores and queues the job (claimable by every node from now on). An idempotency key already used by
  /// another job (possibly of another node, a moment ago) fails with `idempotency_conflict` (nothing is
  /// stored): the service then looks the key up and compares bodies.
  boost::asio::awaitable<std::optional<proto::error>> async_add(std::shared_ptr<job> j) override;
  void save(const job& j, std::span<const logged_event> appended, bool record) override;
  void finished(std::shared_ptr<job> j) override;
  /// Any job, in whatever state it is stored (running on another node, say).
  boost::asio::awaitable<std::shared_ptr<job>> async_find(std::string id) override;
  boost::asio::awaitable<std::shared_ptr<job>> async_find_by_key(std::string key) override;
  boost::asio::awaitable<proto::result<proto::job_page>> async_list(job_filter filter) override;
  boost::asio::awaitable<void> async_flush() override;
  std::size_t evict(time_point now, std::size_t limit) override;
  std::size_t finished_count() const noexcept override { return finished_; }
  std::optional<proto::error> health() const override;
  void close() override;
  bool durable() const noexcept override { return true; }
  std::string describe() const override { return options_.endpoint.describe(); }
  shared_queue* shared() noexcept override { return this; }
  const store_meter* meter() const noexcept override { return &meter_; }

  // The shared queue.
  const std::string& node() const noexcept override { return options_.node; }
  std::chrono::milliseconds lease() const noexcept override { return options_.lease; }
  std::chrono::milliseconds reconnect_bound() const noexcept override {
    return options_.connection.max_backoff;
  }
  std::string queue_key(proto::lane lane, const std::string& type) const override {
    return queue_of(lane, type);
  }
  void set_events(shared_queue_events events) override { events_ = std::move(events); }
  void set_pool_queues(std::vector<std::vector<std::string>> queues) override {
    pool_queues_ = std::move(queues);
  }
  boost::asio::awaitable<proto::result<claim_result>> async_claim(std::vector<std::string> queues,
                                                                  std::size_t limit,
                                                                  std::vector<std::size_t> at_most,
                                                                  std::size_t to_run) override;
  boost::asio::awaitable<proto::result<std::shared_ptr<job>>> async_take(std::string id,
                                                                         take_reason why) override;
  boost::asio::awaitable<proto::result<std::vector<std::string>>> async_expired(std::size_t limit) override;
  boost::asio::awaitable<proto::result<std::vector<std::string>>> async_renew(
      std::vector<std::pair<std::string, std::uint64_t>> owned) override;
  void requeue(const job& j, std::span<const logged_event> appended) override;
  void request_cancel(const std::string& owner, const std::string& id) override;
  boost::asio::awaitable<std::shared_ptr<job>> async_read(std::string id, std::uint64_t after) override;
  boost::asio::awaitable<proto::result<cluster_stats>> async_heartbeat(
      std::vector<std::pair<proto::lane, std::string>> queues) override;

  std::uint64_t fenced_writes() const noexcept override { return fenced_; }
  std::uint64_t dropped_writes() const noexcept override { return dropped_; }

  const redis_connection& connection() const noexcept { return *connection_; }
  /// Scripts of writes sent and not answered yet.
  std::size_t write_batches_in_flight() const noexcept { return writing_; }

 private:
  /// A job's part of the batched `add` script, and its submitter, waiting for the answer: whether it was
  /// stored, and whether it was claimed for this node.
  struct pending_add {
    /// Id, seq, idempotency key, not_before.
    redis_args args;
    /// The slot pool to claim it for, if any.
    std::optional<std::size_t> pool;
    /// Fields and events.
    redis_args segment;
    std::function<void(std::optional<proto::error>, bool)> done;
  };
  /// A job's part of the batched `write` script. The writes of one job in one batch become one (the last
  /// record, every event in order) as long as the earlier ones only saved.
  struct pending_write {
    std::uint64_t seq = 0;
    std::uint64_t claim = 0;
    /// `save`, `finish` or `requeue`.
    const char* action = "save";
    std::string id;
    /// The record's fields; none when only events were added.
    std::vector<redis_field> fields;
    std::vector<logged_event> events;
    /// Publishes the events to the job's subscribers once Redis has them.
    event_log::stored_mark stored;
    std::size_t bytes = 0;
    /// How many of the job's writes this one stands for (merged writes count each).
    std::size_t writes = 1;
  };

  /// Queues a fenced write of `j` (`save`, `finish` or `requeue`).
  void write(const job& j, const char* action, bool record, std::span<const logged_event> appended);
  /// Adds and writes of one reactor turn go to Redis together, at the end of the turn: one script for many
  /// jobs (group commit), in the order they were made.
  void schedule_flush();
  void flush();
  void send_adds();
  /// Whether the writes waiting now may go: none in flight, or one and enough waiting for a second batch.
  bool may_send_writes() const noexcept;
  void send_writes(std::map<std::uint64_t, pending_write> writes);
  /// Sends the writes kept while Redis was away, in their order.
  void resend();
  /// Reserves the next block of seqs.
  void refill_seqs();
  /// Warns (once per value) when Redis keeps more memory per job event stream than its events need.
  void check_stream_node_size();
  /// Keeps a job this node added until one of its own claims takes it (or the bounds push it out).
  void hold(const std::shared_ptr<job>& j);
  /// The held job `id`, no longer held; null when it is not held.
  std::shared_ptr<job> unhold(std::string_view id);
  /// `writes` writes of job `seq` were answered (or dropped): once none is left, a finished job kept for
  /// its readers goes.
  void settled(std::uint64_t seq, std::size_t writes);
  /// Remembers `j`'s record as Redis has it (just claimed or taken): later writes send what changed.
  void remember_record(const job& j);
  /// Remembers the fields of job `seq` as Redis now has them (bounded: past the bound all are forgotten).
  void remember_fields(std::uint64_t seq, std::vector<redis_field> fields);
  /// Write `n`, dropped past `max_pending_write_bytes`: what it carried for a job that goes on here is
  /// kept for the job's next write; that of a job that left this node goes.
  void keep_dropped(std::uint64_t n, pending_write& dropped);
  /// Puts what the job's dropped writes before `n` carried into write `n` (under the same claim): their
  /// events ahead of its own, their record where `w` has none.
  void carry_dropped(std::uint64_t n, pending_write& w);
  std::shared_ptr<job> read_job(const redis_reply& fields, const redis_reply* events) const;

  boost::asio::any_io_executor reactor_;
  redis_options options_;
  std::unique_ptr<redis_connection> connection_;
  std::mt19937_64 random_;
  // Seqs reserved with INCRBY: [next_seq_, end_seq_).
  std::uint64_t next_seq_ = 0, end_seq_ = 0;
  bool refilling_ = false;
  std::size_t finished_ = 0;
  bool evicting_ = false;
  // Jobs this node added that no claim of its own took yet, by seq: when one of its claims takes one that
  // nobody claimed before, Redis answers with the fencing token alone (the job is as it was added) instead
  // of the whole record and log, and this node need not parse them. Bounded; the oldest go first.
  struct held_job {
    std::shared_ptr<job> j;
    std::uint64_t bytes = 0;
  };
  std::map<std::uint64_t, held_job> held_;
  std::uint64_t held_bytes_ = 0;
  // Every job this node added with a seq at or past this one, and that no node claimed yet, is in `held_`
  // (seqs grow with each submission: the bounds push out the lowest).
  std::uint64_t held_from_ = std::uint64_t{1} << 53;
  // The record fields of each job this node owns as Redis has them once its writes so far are applied, by
  // seq: a write sends only the fields that changed (a job that starts and ends changes 3 or 4 of 10).
  // Forgotten when the job leaves this node; a job without an entry sends every field.
  std::unordered_map<std::uint64_t, std::vector<redis_field>> records_;
  static constexpr std::size_t max_records = 65536;
  static constexpr std::size_t max_held_jobs = 8192;
  static constexpr std::uint64_t max_held_bytes = std::uint64_t{16} << 20;
  // Adds and writes of this reactor turn, until `flush` sends them.
  std::deque<pending_add> adds_;
  std::map<std::uint64_t, pending_write> writes_;
  bool flush_scheduled_ = false;
  // Batches sent and not answered yet.
  std::size_t adding_ = 0, writing_ = 0;
  // Writes in order: a number each; those that failed for want of a connection wait here, by number.
  std::uint64_t next_write_ = 0;
  std::map<std::uint64_t, pending_write> unsent_;
  std::uint64_t unsent_bytes_ = 0;
  std::uint64_t fenced_ = 0, dropped_ = 0;
  // A commit here is a script of submissions or of writes, from its sending to Redis's answer.
  store_meter meter_;
  // By job seq: what this node's dropped writes (past the bound while Redis was away) of a job that goes on
  // here carried, under that claim, until the job's next write is sent with it: Redis's log of the job then
  // has no gap (it skips events it already has), and its record is as of that write. The frames are shared
  // with the job's log.
  struct kept_write {
    std::uint64_t claim = 0;
    /// The number of the last one: it goes with a later write (not one sent before it and sent again).
    std::uint64_t last = 0;
    /// The last dropped record (every field: while Redis is away a write sends them all); none if none.
    std::vector<redis_field> fields;
    std::vector<logged_event> events;
    event_log::stored_mark stored;
  };
  std::unordered_map<std::uint64_t, kept_write> kept_from_dropped_;
  // Writes of each job (by seq) not answered yet, and the jobs that finished here with such writes: until
  // Redis has a job's end, this node answers for it from memory, so that a client that saw the job end
  // here and asks this node again does not read an older state from Redis (read your writes).
  std::unordered_map<std::uint64_t, std::size_t> outstanding_;
  std::unordered_map<std::uint64_t, std::shared_ptr<job>> settling_;
  shared_queue_events events_;
  // By slot pool: the queues an add checks before it claims a job of that pool.
  std::vector<std::vector<std::string>> pool_queues_;
  // Follows the channels of the cluster (a subscribed connection runs no other command).
  std::unique_ptr<redis_connection> subscriber_;
  bool was_ready_ = false;
  std::int64_t warned_stream_node_bytes_ = -1;
  std::shared_ptr<void> lifetime_ = std::make_shared<int>(0);
};

}  // namespace offload::core
