// The job service: every state change of every job happens here, on the reactor.
#include "core/job_service.hpp"

#include "core/job_id.hpp"
#include "core/logger.hpp"
#include "core/store/job_codec.hpp"
#include "core/store/memory_repository.hpp"
#include "core/store/store_meter.hpp"

#include <offload/asio_support.hpp>
#include <offload/proto/json_fields.hpp>
#include <offload/proto/json_parse.hpp>
#include <offload/proto/timestamp.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace offload::core {
using proto::errc;
using proto::job_state;

namespace {

// How long the drain waits for lanes to hand back their slots after cancelling everything.
constexpr auto slot_release_limit = std::chrono::seconds{10};
// The latest progress of a job reaches the store at most this often.
constexpr auto progress_save_interval = std::chrono::milliseconds{250};

std::vector<std::unique_ptr<job_lane>> take_lanes(job_lanes lanes) {
  std::vector<std::unique_ptr<job_lane>> out;
  out.push_back(std::move(lanes.thread));
  out.push_back(std::move(lanes.worker));
  out.push_back(std::move(lanes.command));
  for (auto& l : lanes.external)
    out.push_back(std::move(l));
  return out;
}

}  // namespace

job_service::job_service(asio::any_io_executor reactor, service_config config, const type_registry& types,
                         job_lanes lanes, std::unique_ptr<job_repository> store)
    : reactor_(std::move(reactor)),
      config_(config),
      types_(types),
      store_(store ? std::move(store)
                   : std::make_unique<memory_repository>(config.retain_jobs, config.retain_for)),
      queue_(config.max_queued),
      delay_timer_(reactor_),
      random_(std::random_device{}()),
      lanes_(take_lanes(std::move(lanes))),
      busy_(lanes_.size(), 0),
      sweeper_(reactor_, *store_, config.sweep_interval, [this] { rates_.sample(config_.sweep_interval); }),
      drain_signal_(reactor_),
      shared_(store_->shared()),
      due_timer_(reactor_),
      lease_timer_(reactor_) {
  sweeper_.start();
}

job_service::~job_service() {
  join();
}

void job_service::attach_metrics(metrics_registry& metrics) {
  metrics_ = job_metrics{metrics, job_gauges{[this](proto::lane l) { return queue_.size(l); },
                                             [this](proto::lane l) { return running_in(l); },
                                             [this] { return store_->finished_count(); }}};
  using kind = metrics_registry::kind;
  if (const auto* meter = store_->meter()) {
    metrics.declare(
        "offload_store_commit_seconds",
        "How long the job store took to make a group of operations durable: an SQLite "
        "transaction, or a Redis script of submissions or of writes (from sending to the answer).",
        kind::histogram, {store_meter::bounds.begin(), store_meter::bounds.end()});
    metrics.declare("offload_store_operations_total",
                    "Operations the job store's commits carried (submissions and writes; with SQLite, reads "
                    "too): divided by the commits, the size of a group commit.",
                    kind::counter);
    metrics.declare(
        "offload_store_commit_failures_total",
        "Commits that failed (disk full, I/O error, Redis away or refusing): their writes are kept "
        "and tried again, their submissions are refused.",
        kind::counter);
    metrics.declare("offload_store_pending_operations",
                    "Operations handed to the job store and not yet committed, writes kept while it cannot "
                    "write included.",
                    kind::gauge);
    metrics.on_collect([meter](metrics_registry& m) {
      const auto s = meter->read();
      m.set_histogram("offload_store_commit_seconds", {}, s.commits_by_bucket, s.commit_seconds);
      m.set("offload_store_operations_total", {}, static_cast<double>(s.operations));
      m.set("offload_store_commit_failures_total", {}, static_cast<double>(s.failed_commits));
      m.set("offload_store_pending_operations", {}, static_cast<double>(s.pending));
    });
  }
  if (!shared_) return;
  metrics.declare(
      "offload_cluster_queued",
      "Jobs waiting in the shared queue (Redis) for a slot of any node, by lane (due ones; as read "
      "every third of a lease).",
      kind::gauge);
  metrics.declare("offload_cluster_nodes", "Nodes that renewed their heartbeat in Redis lately (live nodes).",
                  kind::gauge);
  metrics.declare("offload_cluster_jobs_taken_over_total",
                  "Jobs this node took over from a node that stopped renewing its lease.", kind::counter);
  metrics.declare("offload_cluster_jobs_lost_total",
                  "Jobs this node held and lost to another node: its lease passed (it stalled), or its end "
                  "was dropped while Redis was away (the job runs again).",
                  kind::counter);
  metrics.declare("offload_cluster_writes_refused_total",
                  "Writes about a job that Redis refused because another node had taken the job over.",
                  kind::counter);
  metrics.declare("offload_cluster_writes_dropped_total",
                  "Writes kept while Redis was away and dropped past the bound (64 MiB); a job whose end was "
                  "among them runs again.",
                  kind::counter);
  metrics.on_collect([this](metrics_registry& m) {
    m.set("offload_cluster_jobs_taken_over_total", {}, static_cast<double>(taken_over_));
    m.set("offload_cluster_jobs_lost_total", {}, static_cast<double>(lost_));
    m.set("offload_cluster_writes_refused_total", {}, static_cast<double>(shared_->fenced_writes()));
    m.set("offload_cluster_writes_dropped_total", {}, static_cast<double>(shared_->dropped_writes()));
    if (!cluster_) return;
    for (const auto l : {proto::lane::thread, proto::lane::process})
      m.set("offload_cluster_queued", metrics_registry::label_text({{"lane", to_string(l)}}),
            static_cast<double>(cluster_->queued[static_cast<std::size_t>(l)]));
    m.set("offload_cluster_nodes", {}, static_cast<double>(cluster_->nodes_alive));
  });
}

std::size_t job_service::running_in(proto::lane l) const noexcept {
  std::size_t n = 0;
  for (std::size_t p = 0; p < busy_.size(); ++p)
    if (core::lane_of(static_cast<slot_pool>(p)) == l) n += busy_[p];
  return n;
}

std::size_t job_service::busy_slots() const noexcept {
  return std::accumulate(busy_.begin(), busy_.end(), std::size_t{0});
}

bool job_service::lane_available(proto::lane l) const noexcept {
  for (std::size_t p = 0; p < lanes_.size(); ++p)
    if (lanes_[p] && core::lane_of(static_cast<slot_pool>(p)) == l) return true;
  return false;
}

slot_pool job_service::pool_for(const job_type& t, proto::lane l) noexcept {
  if (t.command) return slot_pool::command;
  if (t.external_pool) return external_slot_pool(*t.external_pool);
  return l == proto::lane::thread ? slot_pool::thread : slot_pool::worker;
}

bool job_service::has_pool(const job_type& t, proto::lane l) const noexcept {
  const auto p = index(pool_for(t, l));
  return p < lanes_.size() && lanes_[p] != nullptr;
}

bool job_service::runnable(const job& j) const noexcept {
  const job_type* type = types_.find(j.spec.type);
  return type && has_pool(*type, j.lane);
}

std::vector<proto::lane> job_service::lanes_for(const job_type& t) const {
  std::vector<proto::lane> out;
  std::copy_if(t.lanes.begin(), t.lanes.end(), std::back_inserter(out),
               [&](proto::lane l) { return has_pool(t, l); });
  return out;
}

asio::awaitable<proto::result<std::size_t>> job_service::async_recover() {
  auto recovered = co_await store_->async_recover();
  if (!recovered) co_return recovered.error();
  std::size_t interrupted = 0;
  std::size_t unrunnable = 0;
  for (auto& j : recovered->unfinished) {
    const bool was_running = j->state == job_state::running;
    j->stored = true;
    // The pool is the configuration's of this run (pools may have been added, removed or reordered).
    const job_type* type = types_.find(j->spec.type);
    if (!type || !has_pool(*type, j->lane)) {
      ++unrunnable;
      live_.emplace(j->seq, j);
      if (j->spec.idempotency_key) live_keys_[*j->spec.idempotency_key] = j;
      if (was_running) {
        ++running_;
        apply(*j, job_input::interrupt, std::nullopt,
              proto::error{errc::interrupted, "offloadd stopped while the job ran, and its type '" +
                                                  j->spec.type + "' is no longer served here"});
      } else {
        apply(*j, job_input::fail, std::nullopt,
              proto::error{errc::unknown_type,
                           "the job's type '" + j->spec.type + "' is no longer served by this server"});
      }
      continue;
    }
    j->pool = pool_for(*type, j->lane);
    if (!was_running) {
      adopt(std::move(j), true);
      continue;
    }
    // It ran when the previous run ended: its process is gone. Counted as running until the machine says
    // what becomes of it (a retry, or `failed` with `interrupted`).
    ++interrupted;
    const auto attempt = j->attempt;
    live_.emplace(j->seq, j);
    if (j->spec.idempotency_key) live_keys_[*j->spec.idempotency_key] = j;
    ++running_;
    apply(*j, job_input::interrupt, std::nullopt,
          proto::error{errc::interrupted,
                       "offloadd stopped while attempt " + std::to_string(attempt) + " of the job ran"});
  }
  if (!recovered->unfinished.empty())
    log(log_level::info, "jobs recovered",
        {{"unfinished", recovered->unfinished.size()},
         {"interrupted", interrupted},
         {"no_longer_served", unrunnable},
         {"store", store_->describe()}});
  if (shared_) start_cluster();
  dispatch();
  co_return recovered->unfinished.size();
}

asio::awaitable<proto::result<submission>> job_service::async_submit(proto::job_spec spec) {
  const auto admitted = admit(spec);
  if (!admitted) co_return admitted.error();
  auto replay = co_await async_find_replay(spec);
  if (!replay) co_return replay.error();
  if (*replay) co_return submission{std::move(*replay), true};
  const auto lane = static_cast<std::size_t>(admitted->lane);
  // With a shared store the bound is the cluster's queue (as last read), not this node's.
  const auto queued = cluster_ ? cluster_->queued[lane] : queue_.size(admitted->lane);
  if (queued + admitting_[lane] >= queue_.capacity())
    co_return proto::error{errc::queue_full, "the " + std::string{to_string(admitted->lane)} +
                                                 " lane's queue holds " + std::to_string(queued) +
                                                 " jobs, its limit; retry later"};
  auto j = create(std::move(spec), *admitted);
  const auto key = j->spec.idempotency_key;
  if (key) live_keys_[*key] = j;
  // Followed from before it is in the shared queue: another node may claim, run and end it before the add's
  // answer is back here, and the notice of that change must find the job followed.
  if (shared_ && !j->id.empty()) mirrors_[j->id] = j;
  // This node would claim the job at once (it has room for it, and its pool's queues were empty when it
  // last looked): its add may claim it, when nothing older or more urgent waits for the pool meanwhile.
  // That spares a trip through the queue. While the queues hold jobs, submissions go through them.
  const auto pool = index(j->pool);
  if (shared_ && !draining_ && !cluster_stopping_ && pool < claiming_at_add_.size() &&
      (dry_[pool] || drained_[pool]) && claim_room(pool, j->spec.type) > 0) {
    j->claim_at_add = true;
    // A free slot (not only room ahead of one): the job starts as soon as its add claims it.
    j->run_at_add = unclaimed_slots(pool) > 0;
    ++claiming_at_add_[pool];
  }
  ++admitting_[lane];
  const auto added_through = j->events.last_seq();
  auto failed = co_await store_->async_add(j);
  --admitting_[lane];
  if (std::exchange(j->claim_at_add, false)) --claiming_at_add_[pool];
  if (key) {
    if (auto it = live_keys_.find(*key); it != live_keys_.end() && it->second == j && (failed || shared_))
      live_keys_.erase(it);
  }
  if (failed && shared_) {
    if (auto it = mirrors_.find(j->id); it != mirrors_.end() && it->second.lock() == j) mirrors_.erase(it);
  }
  if (failed) {
    // Another node used the key a moment ago: the same body is a replay of its job, another is a conflict.
    if (shared_ && failed->code == errc::idempotency_conflict && j->spec.idempotency_key) {
      auto replay_again = co_await async_find_replay(j->spec);
      if (!replay_again) co_return replay_again.error();
      if (*replay_again) co_return submission{std::move(*replay_again), true};
    }
    co_return *std::move(failed);
  }
  j->stored = true;
  j->events.stored_through(added_through);
  ++submitted_;
  metrics_.submitted(*j);
  if (observer_) observer_(*j);
  if (shared_ && j->claim != 0) {
    // Claimed by its add: this node runs it.
    take_claimed(j);
    co_return submission{std::move(j), false};
  }
  if (shared_) {
    // In the shared queue now: whichever node has a free slot claims it (this one too). Followed here so
    // that a client waiting on it sees it end (unless it already ended, or runs here, meanwhile).
    if (!proto::is_terminal(j->state) && !live_by_id(j->id)) mirrors_[j->id] = j;
    moisten(shared_->queue_key(j->lane, j->spec.type));
    pull();
    co_return submission{std::move(j), false};
  }
  adopt(j, true);
  dispatch();
  co_return submission{std::move(j), false};
}

proto::result<job_service::admission> job_service::admit(const proto::job_spec& spec) const {
  if (draining_) return proto::error{errc::draining, "the server is shutting down and accepts no new jobs"};
  const job_type* type = types_.find(spec.type);
  if (!type)
    return proto::error{errc::unknown_type, "no job type named '" + spec.type + "'; see GET /v1/types"};
  const proto::lane lane = spec.lane.value_or(type->lanes.front());
  if (std::find(type->lanes.begin(), type->lanes.end(), lane) == type->lanes.end() || !has_pool(*type, lane))
    return proto::error{errc::lane_unavailable, "type '" + spec.type + "' cannot run in the " +
                                                    std::string{to_string(lane)} + " lane here"};
  if (auto invalid = type->validate(spec.input)) {
    invalid->message = "input." + invalid->message;
    return *std::move(invalid);
  }
  // The same bound as delay_ms: a job is not held back more than 30 days.
  if (spec.run_at &&
      *spec.run_at > job::clock::now() + std::chrono::milliseconds{proto::job_spec::max_delay_ms})
    return proto::invalid_field("run_at", "must be at most 30 days ahead (as delay_ms)");
  return admission{type, lane};
}

asio::awaitable<proto::result<std::shared_ptr<job>>> job_service::async_find_replay(
    const proto::job_spec& spec) {
  if (!spec.idempotency_key) co_return std::shared_ptr<job>{};
  const auto& key = *spec.idempotency_key;
  std::shared_ptr<job> existing;
  if (auto it = live_keys_.find(key); it != live_keys_.end()) {
    existing = it->second;
    if (!existing->stored) {
      // The first submission with this key is being stored: its fate decides this one's.
      co_await store_->async_flush();
      if (!existing->stored) existing = nullptr;
    }
  }
  if (!existing) {
    existing = co_await store_->async_find_by_key(key);
    // A submission with the key may have been accepted while the store looked.
    if (auto it = live_keys_.find(key); !existing && it != live_keys_.end() && it->second->stored)
      existing = it->second;
  }
  if (existing && existing->spec != spec)
    co_return proto::error{errc::idempotency_conflict, "idempotency_key was already used for job " +
                                                           existing->id + " with a different body"};
  co_return existing;
}

std::shared_ptr<job> job_service::create(proto::job_spec spec, const admission& a) {
  auto j = store_->make(std::move(spec), a.lane, pool_for(*a.type, a.lane));
  if (j->spec.delay_ms)
    j->not_before = j->created_at + std::chrono::milliseconds{*j->spec.delay_ms};
  else if (j->spec.run_at)
    j->not_before = *j->spec.run_at;
  // Member by member: an initializer list builds (and frees) a two-element array per member first.
  nlohmann::json data(nlohmann::json::value_t::object);
  data.emplace("lane", to_string(a.lane));
  data.emplace("priority", j->spec.priority);
  if (j->not_before) data.emplace("run_at", proto::format_timestamp(*j->not_before));
  j->events.append(proto::event_type::queued, std::move(data), j->created_at);
  return j;
}

void job_service::adopt(std::shared_ptr<job> j, bool over_bound) {
  if (j->spec.idempotency_key) live_keys_[*j->spec.idempotency_key] = j;
  live_.emplace(j->seq, j);
  if (log_enabled(log_level::debug))
    log(log_level::debug, "job queued", {{"job", j->id}, {"type", j->spec.type}});
  queue_.push(std::move(j), job::clock::now(), over_bound);
  arm_delay_timer();
}

std::shared_ptr<job> job_service::live_by_id(std::string_view id) const {
  if (const auto seq = job_id::seq_of(id)) {
    if (auto it = live_.find(*seq); it != live_.end() && it->second->id == id) return it->second;
  }
  return nullptr;
}

asio::awaitable<std::shared_ptr<const job>> job_service::async_find(std::string id) {
  if (auto j = live_by_id(id)) co_return j;
  if (shared_) {
    if (auto it = mirrors_.find(id); it != mirrors_.end())
      if (auto m = it->second.lock()) co_return m;
    auto stored = co_await store_->async_find(std::move(id));
    co_return stored ? follow(std::move(stored)) : nullptr;
  }
  co_return co_await store_->async_find(std::move(id));
}

asio::awaitable<proto::result<std::shared_ptr<const job>>> job_service::async_cancel(std::string id) {
  std::shared_ptr<job> j = live_by_id(id);
  if (!j && shared_) {
    auto stored = co_await store_->async_find(id);
    if (!stored) co_return proto::job_not_found(id);
    if (stored->state == job_state::queued) {
      // Taken out of the shared queue (if no node claimed it meanwhile) and cancelled here.
      auto taken = co_await shared_->async_take(id, shared_queue::take_reason::queued);
      if (!taken) co_return taken.error();
      if (*taken) {
        j = own(std::move(*taken));
        live_.emplace(j->seq, j);
      } else {
        stored = co_await store_->async_find(id);
        if (!stored) co_return proto::job_not_found(id);
      }
    }
    if (!j && !proto::is_terminal(stored->state)) {
      // It runs on another node: that node cancels it (and kills its process tree); the answer is the job
      // as it is once it ended there, or after a few seconds.
      auto followed = follow(std::move(stored));
      if (!followed->owner.empty()) shared_->request_cancel(followed->owner, followed->id);
      co_await async_wait_finished(followed, std::chrono::seconds{5});
      co_return std::shared_ptr<const job>{std::move(followed)};
    }
    if (!j) j = std::move(stored);
  }
  if (!j) {
    auto finished = co_await store_->async_find(id);
    if (!finished) co_return proto::job_not_found(id);
    j = std::move(finished);
  }
  if (proto::is_terminal(j->state))
    co_return proto::error{errc::already_finished,
                           "job " + j->id + " already finished as " + std::string{to_string(j->state)}};
  apply(*j, job_input::cancel, std::nullopt, proto::error{errc::cancelled, "cancelled by a client"});
  co_return std::shared_ptr<const job>{std::move(j)};
}

asio::awaitable<proto::result<proto::job_page>> job_service::async_list(job_filter filter) {
  auto page = co_await store_->async_list(std::move(filter));
  if (!page) co_return page;
  // The store may hold an older state of an unfinished job: show it as it is now.
  for (auto& v : page->jobs) {
    const auto seq = job_id::seq_of(v.id);
    if (!seq) continue;
    if (auto it = live_.find(*seq); it != live_.end()) v = it->second->view();
  }
  co_return page;
}

void job_service::dispatch() {
  // While a drain with a durable store runs, what is queued waits for the next start.
  if (hold_queue_) return;
  for (std::size_t i = 0; i < lanes_.size(); ++i) {
    const auto p = static_cast<slot_pool>(i);
    const auto& lane = lanes_[i];
    if (!lane) continue;
    while (busy_[index(p)] < lane->capacity()) {
      auto j = queue_.pop(p);
      if (!j) break;
      if (!apply(*j, job_input::start)) continue;  // cannot happen: cancelled jobs leave the queue at once
      ++busy_[index(p)];
      asio::co_spawn(reactor_, run(std::move(j), *lane), log_coroutine_failure("run"));
    }
  }
  if (shared_) pull();
}

asio::awaitable<void> job_service::run(std::shared_ptr<job> j, job_lane& lane) {
  const std::weak_ptr<job> weak = j;
  // What this run reports counts only while the job is still on this attempt: after a timeout the job may
  // already be queued (or running) again while this attempt's handler winds down.
  const auto attempt = j->attempt;

  // The deadline is the reactor's to enforce: the job is timed_out the moment it passes,
  // and whatever the lane returns later is discarded.
  const job_type& type = *types_.find(j->spec.type);
  std::optional<std::chrono::milliseconds> requested;
  if (j->spec.timeout_ms) requested = std::chrono::milliseconds{*j->spec.timeout_ms};
  const auto timeout = lane.timeout_for(type, requested);
  asio::steady_timer deadline{reactor_};
  if (timeout) {
    deadline.expires_after(*timeout);
    deadline.async_wait([this, weak, attempt, ms = timeout->count()](boost::system::error_code ec) {
      if (ec) return;
      if (auto job = weak.lock(); job && job->attempt == attempt && !stopped_ && !job->lost)
        apply(*job, job_input::time_out, std::nullopt,
              proto::error{errc::timed_out,
                           "the job ran longer than its timeout of " + std::to_string(ms) + " ms"});
    });
  }

  lane_request request{type, j->spec.input, j->id, j->stop.get_token(),
                       [this, weak, attempt](proto::event_type t, nlohmann::json data) {
                         if (auto job = weak.lock()) on_lane_event(*job, attempt, t, std::move(data));
                       }};
  lane_outcome outcome;
  const auto began = std::chrono::steady_clock::now();
  try {
    outcome = co_await lane.async_run(std::move(request));
  } catch (const std::exception& e) {
    log(log_level::error, "lane failed", {{"job", j->id}, {"what", e.what()}});
    outcome = lane_outcome{job_input::fail, nullptr, proto::error{errc::internal, "internal error"}};
  }
  deadline.cancel();
  // A result is kept (in memory, in the store, in the log) and sent whole: past the cap it fails the job.
  if (outcome.input == job_input::succeed) {
    if (const auto size = proto::approximate_json_size(outcome.result); size > config_.max_result_bytes)
      outcome =
          lane_outcome::failure(errc::result_too_large, "the result is about " + std::to_string(size) +
                                                            " bytes of JSON, more than --max-result-bytes (" +
                                                            std::to_string(config_.max_result_bytes) + ")");
  }

  --busy_[index(j->pool)];
  if (shared_) {
    claims_.ran(j->spec.type, std::chrono::steady_clock::now() - began);
  }
  if (j->attempt == attempt && !stopped_ && !j->lost)
    apply(*j, outcome.input, std::move(outcome.result), std::move(outcome.error));
  wake_drain();
  dispatch();
}

void job_service::on_lane_event(job& j, std::uint32_t attempt, proto::event_type type, nlohmann::json data) {
  // Events that arrive after the attempt ended (a late handler) are dropped: the terminal event is last.
  if (j.state != job_state::running || j.attempt != attempt || stopped_ || j.lost) return;
  bool record = false;
  if (type == proto::event_type::progress) {
    j.progress = proto::job_progress{data.value("fraction", 0.0), data.value("note", std::string{})};
    // The latest progress reaches the store at most every 250 ms; the terminal save carries the last one.
    const auto now = std::chrono::steady_clock::now();
    record = now - j.progress_saved >= progress_save_interval;
    if (record) j.progress_saved = now;
  }
  if (type == proto::event_type::output) {
    switch (j.output.charge(output_budget::cost_of(data), config_.max_log_bytes)) {
      case output_budget::decision::log:
        break;
      case output_budget::decision::truncate:
        // The log keeps what fits; one marker says the rest was dropped (the terminal event says so too).
        j.events.append(proto::event_type::output_truncated, {{"logged_bytes", j.output.logged()}});
        store_->save(j, std::span{&j.events.events().back(), 1}, true);
        return;
      case output_budget::decision::drop:
        return;
    }
  }
  j.events.append(type, std::move(data));
  store_->save(j, std::span{&j.events.events().back(), 1}, record);
}

bool job_service::apply(job& j, job_input in, std::optional<nlohmann::json> result,
                        std::optional<proto::error> error) {
  // While draining, retries are granted only when the store keeps them for the next start.
  // With a shared store another node may run the job even when this one cannot.
  const bool attempts_left =
      j.attempt < j.spec.attempts() && (!draining_ || store_->durable()) && (shared_ || runnable(j));
  const auto t = transition(j.state, in, attempts_left);
  if (!t) return false;
  const auto first_new = j.events.events().size();
  const auto before = j.state;
  bool observed = false;
  j.state = t->next;
  for (const auto action : t->actions()) {
    switch (action) {
      case job_action::leave_queue:
        queue_.remove(j);
        break;
      case job_action::start_running:
        j.started_at = job::clock::now();
        j.not_before.reset();
        // A retry's `started` says which attempt it is; the first attempt's carries nothing.
        j.events.append(proto::event_type::started,
                        j.attempt > 1 ? nlohmann::json{{"attempt", j.attempt}} : nlohmann::json::object(),
                        *j.started_at);
        ++running_;
        metrics_.started(j);
        break;
      case job_action::stop_running:
        --running_;
        break;
      case job_action::stop_handler:
        j.stop.request_stop();
        break;
      case job_action::record_outcome:
        record_outcome(j, std::move(result), std::move(error));
        break;
      case job_action::record_attempt:
        record_attempt(j, std::move(error));
        break;
      case job_action::persist:
        persist(j, first_new);
        break;
      case job_action::requeue:
        if (shared_) {
          // Back to the shared queue (the record and events were just saved): any node may run the next
          // attempt, and this one follows it from now on.
          shared_->requeue(j, {});
          if (j.spec.idempotency_key) {
            if (auto k = live_keys_.find(*j.spec.idempotency_key);
                k != live_keys_.end() && k->second.get() == &j)
              live_keys_.erase(k);
          }
          if (auto it = live_.find(j.seq); it != live_.end()) {
            mirrors_[j.id] = it->second;
            live_.erase(it);
          }
          j.claim = 0;
          j.owner.clear();
          break;
        }
        if (auto it = live_.find(j.seq); it != live_.end()) queue_.push(it->second, job::clock::now(), true);
        arm_delay_timer();
        break;
      case job_action::retire:
        // Told before the store may take (and drop) the job.
        if (observer_) observer_(j);
        observed = true;
        retire(j);
        break;
      case job_action::notify:
        wake_drain();
        break;
    }
  }
  if (observer_ && !observed && t->next != before) observer_(j);
  return true;
}

void job_service::persist(const job& j, std::size_t first_new) {
  const auto& events = j.events.events();
  store_->save(j, std::span{events}.subspan(first_new), true);
}

void job_service::record_outcome(job& j, std::optional<nlohmann::json> result,
                                 std::optional<proto::error> error) {
  j.finished_at = job::clock::now();
  nlohmann::json data = nlohmann::json::object();
  if (j.state == job_state::succeeded) {
    if (j.progress) j.progress = proto::job_progress{1.0, "done"};
    // Moved into the frame, serialised once there, and read back from it: the job keeps no second copy.
    data["result"] = result ? std::move(*result) : nlohmann::json(nullptr);
  } else {
    j.error = error ? std::move(*error) : proto::error{errc::internal, "internal error"};
    data["error"] = *j.error;
    if (!j.earlier_errors.empty()) data["error"]["attempts"] = j.earlier_errors;
  }
  if (j.output.truncated()) data["output_truncated"] = true;
  const auto& logged = j.events.append(proto::terminal_event(j.state), std::move(data), *j.finished_at);
  if (j.state == job_state::succeeded) j.result = job_result::from_frame(logged.frame);
}

std::chrono::milliseconds job_service::backoff(const job& j, std::uint32_t next) {
  // base · 2^(next-2), capped, then "equal jitter": between half and all of it, so that jobs that failed
  // together do not all come back at once.
  const double base = static_cast<double>(j.spec.backoff_ms());
  const double cap = static_cast<double>(proto::job_spec::max_retry_backoff_ms);
  const double full = std::min(cap, base * std::pow(2.0, static_cast<double>(next) - 2.0));
  const double jitter = std::uniform_real_distribution<double>{0.5, 1.0}(random_);
  return std::chrono::milliseconds{static_cast<std::int64_t>(full * jitter)};
}

void job_service::record_attempt(job& j, std::optional<proto::error> error) {
  auto e = error ? std::move(*error) : proto::error{errc::internal, "internal error"};
  const auto ended = j.attempt;
  j.attempt += 1;
  const auto now = job::clock::now();
  j.not_before = now + backoff(j, j.attempt);
  j.started_at.reset();
  j.progress.reset();
  // A fresh stop source: the one of the attempt that ended may already have been asked to stop.
  j.stop = std::stop_source{};
  j.events.append(proto::event_type::retrying,
                  {{"attempt", ended}, {"error", e}, {"retry_at", proto::format_timestamp(*j.not_before)}},
                  now);
  log(log_level::info, "job retrying",
      {{"job", j.id}, {"attempt", ended}, {"code", to_string(e.code)}, {"message", e.message}});
  j.earlier_errors.push_back(std::move(e));
}

void job_service::log_outcome(const job& j) {
  // Jobs that did not succeed are what an operator looks for: once each at info; successes at debug.
  const auto level = j.state == job_state::succeeded ? log_level::debug : log_level::info;
  if (!log_enabled(level)) return;
  const auto ms = [](job::clock::duration d) {
    return std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  nlohmann::json fields{{"job", j.id},
                        {"type", j.spec.type},
                        {"lane", to_string(j.lane)},
                        {"state", to_string(j.state)},
                        {"attempt", j.attempt}};
  if (j.finished_at) {
    fields["total_ms"] = ms(*j.finished_at - j.created_at);
    if (j.started_at) fields["run_ms"] = ms(*j.finished_at - *j.started_at);
  }
  if (j.error) {
    fields["code"] = to_string(j.error->code);
    // The message may carry a command's stderr tail: the first few hundred bytes, cut between characters.
    constexpr std::size_t max_message = 300;
    auto message = std::string_view{j.error->message};
    if (message.size() > max_message) {
      auto end = max_message;
      while (end > 0 && (static_cast<unsigned char>(message[end]) & 0xC0) == 0x80)
        --end;
      message = message.substr(0, end);
    }
    fields["message"] = message;
  }
  log(level, "job finished", fields);
}

void job_service::retire(job& j) {
  ++finished_;
  rates_.finished(j.lane);
  history_.finished(j.state, std::chrono::steady_clock::now());
  metrics_.finished(j);
  log_outcome(j);
  if (j.spec.idempotency_key) {
    if (auto it = live_keys_.find(*j.spec.idempotency_key); it != live_keys_.end() && it->second.get() == &j)
      live_keys_.erase(it);
  }
  auto it = live_.find(j.seq);
  if (it == live_.end()) return;
  auto owned = std::move(it->second);
  live_.erase(it);
  store_->finished(std::move(owned));
}

void job_service::arm_delay_timer() {
  const auto due = queue_.next_due();
  if (!due || (delay_armed_for_ && *delay_armed_for_ <= *due)) return;
  delay_armed_for_ = due;
  // Wall-clock instants, waited for on the steady clock: the remaining time, re-checked on wake-up.
  const auto wait = std::max(*due - job::clock::now(), job::clock::duration::zero());
  delay_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait));
  delay_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    delay_armed_for_.reset();
    queue_.release_due(job::clock::now());
    arm_delay_timer();
    dispatch();
  });
}

asio::awaitable<void> job_service::async_wait_finished(std::shared_ptr<const job> j,
                                                       std::chrono::steady_clock::duration limit) {
  // Finished once its end is published: stored, with a durable store (a crash cannot take it back).
  if (proto::is_terminal(j->state) && j->events.all_published()) co_return;
  asio::steady_timer timer{reactor_, limit};
  const auto subscription = j->events.subscribe([&timer](const logged_event& e) {
    if (proto::is_terminal(e.type)) timer.cancel();
  });
  co_await timer.async_wait(use_tuple);
}

proto::lane job_service::lane_of(const proto::job_spec& spec) const {
  if (spec.lane) return *spec.lane;
  const job_type* type = types_.find(spec.type);
  return type ? type->lanes.front() : proto::lane::thread;
}

std::chrono::seconds job_service::retry_after(proto::lane l) const {
  return rates_.retry_after(l, queue_.size(l));
}

void job_service::wake_drain() {
  if (draining_) drain_signal_.cancel();
}

asio::awaitable<void> job_service::async_drain(std::chrono::steady_clock::duration grace) {
  draining_ = true;
  const auto wait_until = [this](auto done,
                                 std::chrono::steady_clock::time_point deadline) -> asio::awaitable<void> {
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      drain_signal_.expires_at(deadline);
      co_await drain_signal_.async_wait(use_tuple);
    }
  };

  if (shared_) {
    // Claimed jobs that have not started go back to the shared queue at once, for the other nodes.
    hold_queue_ = true;
    std::vector<std::shared_ptr<job>> waiting;
    for (const auto& [seq, j] : live_)
      if (j->state == job_state::queued) waiting.push_back(j);
    for (const auto& j : waiting) {
      queue_.remove(*j);
      shared_->requeue(*j, {});
      live_.erase(j->seq);
    }
    co_await wait_until([this] { return running_ == 0; }, std::chrono::steady_clock::now() + grace);
    // What still runs is an interrupted attempt: retried by another node right away (or failed when it has
    // no attempt left), rather than waiting for its lease to pass. Its handler here is asked to stop (its
    // process tree killed), so that the attempt does not go on beside the next one, nor hold up the exit.
    std::vector<std::shared_ptr<job>> running;
    for (const auto& [seq, j] : live_)
      if (j->state == job_state::running) running.push_back(j);
    if (!running.empty()) log(log_level::warn, "interrupting jobs at shutdown", {{"count", running.size()}});
    for (const auto& j : running)
      apply(*j, job_input::interrupt, std::nullopt,
            proto::error{errc::interrupted, "the node running the job shut down"});
    stopped_ = true;
  } else if (store_->durable()) {
    // Queued jobs stay in the store and run after the next start; running ones get the grace period.
    hold_queue_ = true;
    co_await wait_until([this] { return running_ == 0; }, std::chrono::steady_clock::now() + grace);
    // What still runs is stopped without an outcome: the store keeps it `running`, and the next start
    // treats it as interrupted (retried if it has attempts left).
    stopped_ = true;
    if (running_ > 0) log(log_level::warn, "interrupting jobs at shutdown", {{"count", running_}});
    for (const auto& [seq, j] : live_)
      if (j->state == job_state::running) j->stop.request_stop();
  } else {
    // Queued jobs keep being dispatched during the grace period: every accepted job gets its chance.
    co_await wait_until([this] { return queue_.size() == 0 && running_ == 0; },
                        std::chrono::steady_clock::now() + grace);
    std::vector<std::shared_ptr<job>> left;
    for (const auto& [seq, j] : live_)
      left.push_back(j);
    if (!left.empty()) log(log_level::warn, "cancelling jobs at shutdown", {{"count", left.size()}});
    for (const auto& j : left) {
      apply(*j, job_input::cancel, std::nullopt,
            proto::error{errc::shutdown, "the server shut down before the job finished"});
    }
  }
  co_await wait_until([this] { return busy_slots() == 0; },
                      std::chrono::steady_clock::now() + slot_release_limit);
  // Every write issued so far reaches the store before the reactor stops.
  co_await store_->async_flush();
  sweeper_.stop();
}

void job_service::join() {
  sweeper_.stop();
  cluster_stopping_ = true;
  due_timer_.cancel();
  lease_timer_.cancel();
  // The reactor no longer runs (or never will again): stop whatever a lane still runs so the join ends.
  for (const auto& [seq, j] : live_)
    j->stop.request_stop();
  for (auto& lane : lanes_)
    if (lane) lane->join();
  store_->close();
}

service_stats job_service::stats() const {
  return service_stats{queue_.size(), running_, store_->finished_count(), submitted_, finished_};
}

std::vector<pool_stats> job_service::pools() const {
  std::vector<pool_stats> out;
  for (std::size_t p = 0; p < lanes_.size(); ++p) {
    if (!lanes_[p]) continue;
    const auto pool = static_cast<slot_pool>(p);
    out.push_back(pool_stats{pool, queue_.size(pool), busy_[p], lanes_[p]->capacity()});
  }
  return out;
}

// Cluster mode.

void job_service::start_cluster() {
  // The queues each pool claims from: those of every type it runs, in every lane that maps to it.
  pool_queues_.assign(lanes_.size(), {});
  claiming_.assign(lanes_.size(), false);
  claiming_at_add_.assign(lanes_.size(), 0);
  dry_.assign(lanes_.size(), false);
  drained_.assign(lanes_.size(), false);
  pool_types_.assign(lanes_.size(), {});
  for (const auto& [name, type] : types_.all()) {
    for (const auto l : lanes_for(type)) {
      const auto p = index(pool_for(type, l));
      if (p >= pool_queues_.size()) continue;
      pool_queues_[p].push_back(shared_->queue_key(l, name));
      pool_types_[p].push_back(name);
      queue_pool_[pool_queues_[p].back()] = p;
    }
  }
  shared_queue_events events;
  events.on_wake = [this](std::string_view queue) {
    moisten(queue);
    pull();
  };
  events.on_job_changed = [this](std::string_view id) {
    auto it = mirrors_.find(std::string{id});
    if (it == mirrors_.end()) return;
    if (it->second.expired()) {
      mirrors_.erase(it);
      return;
    }
    refresh_soon(it->first);
  };
  events.on_cancel_request = [this](std::string_view id) {
    if (!live_by_id(id)) return;
    auto cancel = [](job_service& self, std::string job) -> asio::awaitable<void> {
      co_await self.async_cancel(std::move(job));
    };
    asio::co_spawn(reactor_, cancel(*this, std::string{id}), log_coroutine_failure("remote cancel"));
  };
  events.on_lost = [this](std::string_view id, std::shared_ptr<job> ended) { lose(id, std::move(ended)); };
  events.on_reconnected = [this] {
    // Leases may have passed while the store was away, for every node alike: this node renews its own at
    // once and takes over nobody's until every live node has reconnected (the others' longest back-off)
    // and had a lease to renew theirs.
    reap_after_ = std::chrono::steady_clock::now() + shared_->reconnect_bound() + shared_->lease();
    lease_timer_.cancel();
    moisten();
    // Messages sent while the store was away are lost: read every followed job again, claim what waits.
    for (auto it = mirrors_.begin(); it != mirrors_.end();) {
      if (it->second.expired()) {
        it = mirrors_.erase(it);
        continue;
      }
      if (!refreshing_.contains(it->first)) {
        refreshing_[it->first] = false;
        asio::co_spawn(reactor_, refresh(it->first), log_coroutine_failure("refresh"));
      }
      ++it;
    }
    pull();
  };
  shared_->set_events(std::move(events));
  shared_->set_pool_queues(pool_queues_);
  asio::co_spawn(reactor_, lease_loop(), log_coroutine_failure("lease loop"));
  pull();
}

std::size_t job_service::taken_slots(std::size_t p) const noexcept {
  return busy_[p] + queue_.size(static_cast<slot_pool>(p)) + claiming_at_add_[p];
}

std::size_t job_service::unclaimed_slots(std::size_t p) const noexcept {
  if (!lanes_[p]) return 0;
  const auto taken = taken_slots(p);
  const auto capacity = lanes_[p]->capacity();
  return taken < capacity ? capacity - taken : 0;
}

std::size_t job_service::claim_room(std::size_t p, const std::string& type) const noexcept {
  return lanes_[p] ? claims_.room(type, lanes_[p]->capacity(), taken_slots(p)) : 0;
}

bool job_service::claim_due(std::size_t p) const noexcept {
  return lanes_[p] && claims_.due(pool_types_[p], lanes_[p]->capacity(), taken_slots(p));
}

void job_service::moisten(std::optional<std::string_view> queue) {
  if (!queue) {
    std::fill(dry_.begin(), dry_.end(), false);
    std::fill(drained_.begin(), drained_.end(), false);
    return;
  }
  if (auto it = queue_pool_.find(std::string{*queue}); it != queue_pool_.end())
    dry_[it->second] = drained_[it->second] = false;
}

void job_service::pull() {
  if (!shared_ || draining_ || cluster_stopping_ || pool_queues_.empty()) return;
  for (std::size_t p = 0; p < lanes_.size(); ++p) {
    if (claiming_[p] || dry_[p] || pool_queues_[p].empty() || !claim_due(p)) continue;
    claiming_[p] = true;
    asio::co_spawn(reactor_, claim_loop(p), log_coroutine_failure("claim"));
  }
}

asio::awaitable<void> job_service::claim_loop(std::size_t p) {
  // One claim at a time per pool, as long as it is due one (claim_due) and the shared queue has work for it.
  while (!draining_ && !cluster_stopping_ && claim_due(p)) {
    // Free slots for every type; beyond them, jobs claimed ahead for types of short jobs.
    std::vector<std::size_t> at_most;
    std::size_t wanted = 0;
    for (const auto& type : pool_types_[p]) {
      at_most.push_back(claim_room(p, type));
      wanted = std::max(wanted, at_most.back());
    }
    if (wanted == 0) break;
    // The first ones fill the free slots and start at once; the rest (short jobs) wait here for a slot.
    auto claimed = co_await shared_->async_claim(pool_queues_[p], wanted, at_most, unclaimed_slots(p));
    if (!claimed) break;  // the store is away: its return (on_reconnected) pulls again
    if (claimed->next_due) arm_due_timer(*claimed->next_due);
    const bool emptied = claimed->claimed.size() < wanted;
    // Nothing at all from queues it could take from: this pool waits for a wake-up for one of its queues (a
    // busy pool that got fewer than it asked keeps claiming as its slots free up). A queue it could not take
    // from (its slots were full, its jobs are not short) may hold jobs: not dry then.
    if (claimed->claimed.empty() && std::find(at_most.begin(), at_most.end(), 0) == at_most.end())
      dry_[p] = true;
    // Every queue gave fewer than it could: all were empty once these were taken.
    drained_[p] = true;
    for (std::size_t i = 0; i < at_most.size(); ++i) {
      const auto& type = pool_types_[p][i];
      const auto got = std::count_if(claimed->claimed.begin(), claimed->claimed.end(),
                                     [&type](const auto& j) { return j->spec.type == type; });
      if (static_cast<std::size_t>(got) >= at_most[i]) drained_[p] = false;
    }
    for (auto& j : claimed->claimed)
      take_claimed(std::move(j));
    // Fewer than asked: the queues are empty for now; a wake-up or a due time starts the next round.
    if (emptied) break;
  }
  claiming_[p] = false;
}

std::shared_ptr<job> job_service::own(std::shared_ptr<job> j) {
  if (auto it = mirrors_.find(j->id); it != mirrors_.end()) {
    // A client follows this job here: the object it holds becomes the job this node runs.
    if (auto m = it->second.lock()) {
      // Events this node logged in a run it lost, which Redis refused, make way for those Redis has.
      if (m->lost) m->events.drop_unpublished();
      for (const auto& e : j->events.events())
        if (e.seq > m->events.last_seq()) m->events.append_logged(e.seq, e.type, e.frame);
      stored_record::of(*j).apply_to(*m);
      // What the claim or take said of this node's hold on it.
      m->claim = j->claim;
      m->may_have_begun = j->may_have_begun;
      j = std::move(m);
    }
    mirrors_.erase(it);
  }
  j->stored = true;
  j->owner = shared_->node();
  // A followed job this node once lost (and asked to stop) runs again here with a fresh stop source.
  if (j->lost) j->stop = std::stop_source{};
  j->lost = false;
  if (const job_type* type = types_.find(j->spec.type)) j->pool = pool_for(*type, j->lane);
  return j;
}

void job_service::take_claimed(std::shared_ptr<job> j) {
  j = own(std::move(j));
  if (draining_ || cluster_stopping_) {
    shared_->requeue(*j, {});
    return;
  }
  adopt(std::move(j), true);
  dispatch();
}

void job_service::take_over(std::shared_ptr<job> j) {
  ++taken_over_;
  j = own(std::move(j));
  const auto attempt = j->attempt;
  if (j->state != job_state::running && !j->may_have_begun) {
    // Claimed ahead of a slot by a node that went away before it started the job: it runs here.
    take_claimed(std::move(j));
    return;
  }
  live_.emplace(j->seq, j);
  if (j->state != job_state::running) {
    // Claimed to start at once by a node that stopped before Redis had the start: the attempt may have run
    // there (its start was on its way), so it counts, as one that Redis saw start would.
    log(log_level::warn, "took over a job whose node claimed it to run and stopped renewing its lease",
        {{"job", j->id}, {"attempt", attempt}});
    apply(*j, job_input::interrupt, std::nullopt,
          proto::error{errc::interrupted, "the node that claimed attempt " + std::to_string(attempt) +
                                              " of the job to run it stopped (its lease passed) before "
                                              "its start was stored; it may have begun"});
    return;
  }
  ++running_;
  log(log_level::warn, "took over a job whose node stopped renewing its lease",
      {{"job", j->id}, {"attempt", attempt}});
  apply(*j, job_input::interrupt, std::nullopt,
        proto::error{errc::interrupted, "the node running attempt " + std::to_string(attempt) +
                                            " of the job stopped (its lease passed)"});
}

void job_service::lose(std::string_view id, std::shared_ptr<job> ended) {
  auto j = live_by_id(id);
  if (!j && ended && !ended->lost) {
    // Ended here, but the end never reached Redis (refused: another node had taken the job over; or dropped
    // while Redis was away): a client following it here (or waiting for it) sees how it goes on.
    log(log_level::warn, "lost a job whose end here did not reach the store; following it as it goes on",
        {{"job", ended->id}});
    ++lost_;
    ended->lost = true;
    mirrors_[ended->id] = ended;
    refresh_soon(ended->id);
    return;
  }
  if (!j || j->lost) return;
  log(log_level::warn, "lost a job to another node (its lease passed)", {{"job", j->id}});
  ++lost_;
  j->lost = true;
  j->claim = 0;
  if (j->state == job_state::running) {
    --running_;
    j->stop.request_stop();
  } else {
    queue_.remove(*j);
  }
  if (j->spec.idempotency_key) {
    if (auto k = live_keys_.find(*j->spec.idempotency_key); k != live_keys_.end() && k->second == j)
      live_keys_.erase(k);
  }
  live_.erase(j->seq);
  // Followed from now on as another node's job (a waiting client sees how it ends there), read at once:
  // what that node logged takes the place of what this attempt logged since.
  mirrors_[j->id] = j;
  refresh_soon(j->id);
  wake_drain();
}

asio::awaitable<void> job_service::lease_loop() {
  const auto period = std::max(shared_->lease() / 3, std::chrono::milliseconds{50});
  std::vector<std::pair<proto::lane, std::string>> queues;
  for (std::size_t p = 0; p < pool_queues_.size(); ++p)
    for (const auto& q : pool_queues_[p])
      queues.emplace_back(core::lane_of(static_cast<slot_pool>(p)), q);
  while (!cluster_stopping_) {
    // Renew what this node holds; whatever it no longer holds stops here.
    std::vector<std::pair<std::string, std::uint64_t>> owned;
    for (const auto& [seq, j] : live_)
      if (j->claim != 0) owned.emplace_back(j->id, j->claim);
    if (!owned.empty()) {
      auto lost = co_await shared_->async_renew(std::move(owned));
      if (lost)
        for (const auto& id : *lost)
          lose(id);
    }
    // Take over the jobs of nodes that stopped renewing.
    if (!draining_ && !cluster_stopping_ && std::chrono::steady_clock::now() >= reap_after_) {
      auto expired = co_await shared_->async_expired(32);
      if (expired) {
        for (auto& id : *expired) {
          auto taken = co_await shared_->async_take(std::move(id), shared_queue::take_reason::expired);
          if (taken && *taken && !cluster_stopping_) take_over(std::move(*taken));
        }
      }
    }
    if (auto stats = co_await shared_->async_heartbeat(queues)) cluster_ = *stats;
    // A wake-up lost with the subscriber is caught here: at most a third of a lease late.
    moisten();
    pull();
    if (cluster_stopping_) break;
    lease_timer_.expires_after(period);
    co_await lease_timer_.async_wait(use_tuple);
  }
}

std::shared_ptr<job> job_service::follow(std::shared_ptr<job> j) {
  if (!shared_ || proto::is_terminal(j->state)) return j;
  if (auto live = live_by_id(j->id)) return live;
  auto& slot = mirrors_[j->id];
  if (auto m = slot.lock()) return m;
  slot = j;
  // A change made between the read that gave `j` and now was announced to nobody here: read once more.
  refresh_soon(j->id);
  return j;
}

void job_service::refresh_soon(const std::string& id) {
  if (auto r = refreshing_.find(id); r != refreshing_.end()) {
    r->second = true;  // read again once the read in flight is done
    return;
  }
  refreshing_[id] = false;
  asio::co_spawn(reactor_, refresh(id), log_coroutine_failure("refresh"));
}

asio::awaitable<void> job_service::refresh(std::string id) {
  for (;;) {
    auto m = mirrors_.contains(id) ? mirrors_[id].lock() : nullptr;
    if (!m || live_by_id(id)) break;
    // After the published events: a job this node lost may have logged more that Redis refused.
    auto fresh = co_await shared_->async_read(id, m->events.published_seq());
    if (fresh && !live_by_id(id)) {
      // The record first, so that a listener woken by the terminal event sees the job's end state.
      stored_record::of(*fresh).apply_to(*m);
      m->owner = fresh->owner;
      if (m->state == job_state::succeeded && !fresh->events.events().empty())
        m->result = job_result::from_frame(fresh->events.events().back().frame);
      else if (m->state != job_state::succeeded)
        m->result.reset();  // a result of this node's refused end
      // What this node logged in a run it lost (Redis refused it) makes way for the other node's events.
      if (m->lost) m->events.drop_unpublished();
      for (const auto& e : fresh->events.events())
        if (e.seq > m->events.last_seq()) m->events.append_logged(e.seq, e.type, e.frame);
      if (proto::is_terminal(m->state)) mirrors_.erase(id);
    }
    auto again = refreshing_.find(id);
    if (again == refreshing_.end() || !again->second) break;
    again->second = false;
  }
  refreshing_.erase(id);
}

void job_service::arm_due_timer(job::clock::time_point due) {
  if (due_armed_for_ && *due_armed_for_ <= due) return;
  due_armed_for_ = due;
  const auto wait = std::max(due - job::clock::now(), job::clock::duration::zero());
  due_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait));
  due_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    due_armed_for_.reset();
    moisten();
    pull();
  });
}

}  // namespace offload::core
