// A job store that is also the queue of several offloadd nodes (Redis): jobs are claimed from it when a node
// has a free slot, held under leases the node renews, and every write about a claimed job is fenced by the
// claim's token. The job service uses it, when its store has one, instead of its local queue.
#pragma once

#include "core/job.hpp"

#include <offload/proto/result.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace offload::core {

/// What a claim gives: the jobs this node now owns (`job::claim` holds each token), most urgent first, or,
/// when nothing was claimable, when the next delayed job is due.
struct claim_result {
  std::vector<std::shared_ptr<job>> claimed;
  std::optional<job::clock::time_point> next_due;
};

/// Queue depths and nodes of the whole cluster, refreshed by `async_heartbeat`.
struct cluster_stats {
  /// Jobs queued (due or delayed) per lane, in `proto::lane` order.
  std::array<std::size_t, 2> queued{};
  std::size_t nodes_alive = 0;
};

/// What a node learns from the others, through the store. Every callback runs on the reactor.
struct shared_queue_events {
  /// A job became claimable in `queue`.
  std::function<void(std::string_view queue)> on_wake;
  /// Job `id` has new events or a new record (another node changed it).
  std::function<void(std::string_view id)> on_job_changed;
  /// Another node asks this one to cancel job `id` (it runs here).
  std::function<void(std::string_view id)> on_cancel_request;
  /// This node no longer holds job `id`: its lease passed and another node took it over, or (Redis away too
  /// long) its last write was dropped and it will run again. `ended` is the job when this node had ended it
  /// and its end was refused or dropped (null otherwise).
  std::function<void(std::string_view id, std::shared_ptr<job> ended)> on_lost;
  /// The store is reachable again after an outage: whatever was missed meanwhile must be looked at again.
  std::function<void()> on_reconnected;
};

class shared_queue {
 public:
  enum class take_reason { expired, queued };

  virtual ~shared_queue() = default;

  /// This node's name in the store.
  virtual const std::string& node() const noexcept = 0;
  virtual std::chrono::milliseconds lease() const noexcept = 0;
  /// The longest a live node takes to reconnect once the store is reachable again (its longest back-off).
  virtual std::chrono::milliseconds reconnect_bound() const noexcept = 0;
  /// The queue that holds jobs of `type` in `lane`.
  virtual std::string queue_key(proto::lane lane, const std::string& type) const = 0;
  virtual void set_events(shared_queue_events events) = 0;
  /// The queues of each of this node's slot pools (by `slot_pool` index, as claims name them): an add
  /// claims a job marked `claim_at_add` only while every queue of its pool is empty.
  virtual void set_pool_queues(std::vector<std::vector<std::string>> queues) = 0;

  /// Claims up to `limit` of the most urgent jobs among `queues` (highest priority, then oldest submission)
  /// in one step, and at most `at_most[i]` from `queues[i]` (no such bound when `at_most` is empty); fewer
  /// when the queues hold fewer. The first `to_run` of them (free slots) are claimed to start at once: should
  /// this node stop before the store has such a job's start, the node that takes it over counts the
  /// attempt as begun (`job::may_have_begun`). The others wait here for a slot (claimed ahead).
  virtual boost::asio::awaitable<proto::result<claim_result>> async_claim(std::vector<std::string> queues,
                                                                          std::size_t limit,
                                                                          std::vector<std::size_t> at_most,
                                                                          std::size_t to_run) = 0;
  /// Takes over job `id` when its lease passed (`expired`; this node runs it at once, and
  /// `job::may_have_begun` says whether the attempt of the node that held it may have begun) or while it is
  /// queued (`queued`, to cancel it); null when it is not (or no longer) so.
  virtual boost::asio::awaitable<proto::result<std::shared_ptr<job>>> async_take(std::string id,
                                                                                 take_reason why) = 0;
  /// Claimed jobs whose lease passed (at most `limit`).
  virtual boost::asio::awaitable<proto::result<std::vector<std::string>>> async_expired(
      std::size_t limit) = 0;
  /// Extends the leases of `owned` (id, token); the ids this node no longer owns.
  virtual boost::asio::awaitable<proto::result<std::vector<std::string>>> async_renew(
      std::vector<std::pair<std::string, std::uint64_t>> owned) = 0;
  /// Write-behind, fenced: `j` goes back to the shared queue with its record and `appended` events.
  virtual void requeue(const job& j, std::span<const logged_event> appended) = 0;
  /// Asks node `owner` to cancel job `id`.
  virtual void request_cancel(const std::string& owner, const std::string& id) = 0;
  /// The job's owner node (empty when none) and its record and events after `after`; null when unknown.
  virtual boost::asio::awaitable<std::shared_ptr<job>> async_read(std::string id, std::uint64_t after) = 0;
  /// Says this node is alive, and reads the cluster's queue depths for `queues` (by lane) and live nodes.
  virtual boost::asio::awaitable<proto::result<cluster_stats>> async_heartbeat(
      std::vector<std::pair<proto::lane, std::string>> queues) = 0;
  /// Since start: writes about this node's jobs that the store refused (another node had taken the job
  /// over), and writes dropped because the store stayed away too long.
  virtual std::uint64_t fenced_writes() const noexcept = 0;
  virtual std::uint64_t dropped_writes() const noexcept = 0;
};

}  // namespace offload::core
