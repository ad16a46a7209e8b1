// The `watch` subscriptions of `/v1/ws` (the dashboard's live feed): the server's statistics once a second,
// and batches of job-state changes at most every 250 ms. Each message is serialised once and shared by every
// socket that watches; a socket costs a callback, and its own send queue bounds what it may fall behind.
#pragma once

#include "core/job.hpp"
#include "net/net.hpp"

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace offload::net {

/// Reactor-only.
class watch_hub {
 public:
  using frame = std::shared_ptr<const std::string>;
  /// Queues a frame on a watching socket.
  using sink = std::function<void(const frame&)>;

  /// What a watcher receives.
  struct topics {
    /// `{"op":"stats","stats":{…}}` (the body of `GET /v1/stats`) at once, then every `stats_interval`.
    bool stats = false;
    /// `{"op":"jobs","jobs":[summaries…],"dropped":N}` when jobs were accepted or changed state.
    bool jobs = false;
  };

  static constexpr std::chrono::milliseconds jobs_interval{250};
  static constexpr std::chrono::milliseconds stats_interval{1000};
  /// Jobs one batch reports; the changes of further jobs in the same interval are only counted
  /// (`dropped`), and a client that sees them lists the jobs again.
  static constexpr std::size_t max_jobs_per_batch = 200;

  explicit watch_hub(asio::any_io_executor reactor) : timer_(std::move(reactor)) {}

  /// Where statistics come from (the body of `GET /v1/stats`); without one, `stats` is refused.
  void set_stats_source(std::function<nlohmann::json()> source) { stats_source_ = std::move(source); }
  bool has_stats() const noexcept { return static_cast<bool>(stats_source_); }

  /// Adds a watcher that receives nothing yet; returns its id.
  std::uint64_t add(sink send);
  /// Sets what watcher `id` receives; one that starts watching stats gets the current ones at once.
  void set_topics(std::uint64_t id, topics what);
  void remove(std::uint64_t id);

  /// A job was accepted or changed state (the job service's observer).
  void job_changed(const core::job& j);

  /// Shutdown: no more messages.
  void stop();

 private:
  struct watcher {
    sink send;
    topics what;
  };

  void arm();
  void tick();
  frame stats_frame() const;
  void broadcast(const frame& f, bool topics::*topic);

  asio::steady_timer timer_;
  bool armed_ = false;
  bool stopped_ = false;
  unsigned ticks_ = 0;
  std::function<nlohmann::json()> stats_source_;
  std::map<std::uint64_t, watcher> watchers_;
  std::uint64_t next_id_ = 0;
  std::size_t stats_watchers_ = 0;
  std::size_t jobs_watchers_ = 0;
  // This interval's changed jobs, each once with its newest state, in the order they first changed.
  std::vector<nlohmann::json> changed_;
  std::unordered_map<std::string, std::size_t> changed_at_;
  std::uint64_t dropped_ = 0;
};

}  // namespace offload::net
