// The job service: every state change of every job happens here, on the reactor.
#include "core/job_service.hpp"

#include "core/logger.hpp"

#include <offload/asio_support.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace offload::core {
using proto::errc;
using proto::job_state;

namespace {

// How long the drain waits for lanes to hand back their slots after cancelling everything.
constexpr auto slot_release_limit = std::chrono::seconds{10};

}  // namespace

job_service::job_service(asio::any_io_executor reactor, service_config config, const type_registry& types,
                         job_lanes lanes)
    : reactor_(std::move(reactor)),
      config_(config),
      types_(types),
      store_(config.retain_jobs, config.retain_for),
      queue_(config.max_queued),
      lanes_{std::move(lanes.thread), std::move(lanes.worker), std::move(lanes.command)},
      sweeper_(reactor_, store_, config.sweep_interval, [this] { rates_.sample(config_.sweep_interval); }),
      drain_signal_(reactor_) {
  sweeper_.start();
}

job_service::~job_service() {
  join();
}

void job_service::attach_metrics(metrics_registry& metrics) {
  metrics_ = job_metrics{metrics, job_gauges{[this](proto::lane l) { return queue_.size(l); },
                                             [this](proto::lane l) { return running_in(l); },
                                             [this] { return store_.finished_count(); }}};
}

std::size_t job_service::running_in(proto::lane l) const noexcept {
  if (l == proto::lane::thread) return busy_[index(slot_pool::thread)];
  return busy_[index(slot_pool::worker)] + busy_[index(slot_pool::command)];
}

bool job_service::lane_available(proto::lane l) const noexcept {
  if (l == proto::lane::thread) return lanes_[index(slot_pool::thread)] != nullptr;
  return lanes_[index(slot_pool::worker)] != nullptr || lanes_[index(slot_pool::command)] != nullptr;
}

slot_pool job_service::pool_for(const job_type& t, proto::lane l) noexcept {
  if (t.command) return slot_pool::command;
  return l == proto::lane::thread ? slot_pool::thread : slot_pool::worker;
}

std::vector<proto::lane> job_service::lanes_for(const job_type& t) const {
  std::vector<proto::lane> out;
  std::copy_if(t.lanes.begin(), t.lanes.end(), std::back_inserter(out),
               [&](proto::lane l) { return lanes_[index(pool_for(t, l))] != nullptr; });
  return out;
}

proto::result<submission> job_service::submit(proto::job_spec spec) {
  const auto admitted = admit(spec);
  if (!admitted) return admitted.error();
  auto replay = find_replay(spec);
  if (!replay) return replay.error();
  if (*replay) return submission{std::move(*replay), true};
  if (queue_.full(admitted->lane))
    return proto::error{errc::queue_full,
                        "the " + std::string{to_string(admitted->lane)} + " lane's queue holds " +
                            std::to_string(queue_.size(admitted->lane)) + " jobs, its limit; retry later"};
  auto j = enqueue(std::move(spec), *admitted);
  dispatch();
  return submission{std::move(j), false};
}

proto::result<job_service::admission> job_service::admit(const proto::job_spec& spec) const {
  if (draining_) return proto::error{errc::draining, "the server is shutting down and accepts no new jobs"};
  const job_type* type = types_.find(spec.type);
  if (!type)
    return proto::error{errc::unknown_type, "no job type named '" + spec.type + "'; see GET /v1/types"};
  const auto lanes = lanes_for(*type);
  const proto::lane lane = spec.lane.value_or(type->lanes.front());
  if (std::find(lanes.begin(), lanes.end(), lane) == lanes.end())
    return proto::error{errc::lane_unavailable, "type '" + spec.type + "' cannot run in the " +
                                                    std::string{to_string(lane)} + " lane here"};
  if (auto invalid = type->validate(spec.input)) {
    invalid->message = "input." + invalid->message;
    return *std::move(invalid);
  }
  return admission{type, lane};
}

proto::result<std::shared_ptr<job>> job_service::find_replay(const proto::job_spec& spec) const {
  if (!spec.idempotency_key) return std::shared_ptr<job>{};
  auto existing = store_.find_by_idempotency_key(*spec.idempotency_key);
  if (existing && existing->spec != spec)
    return proto::error{errc::idempotency_conflict, "idempotency_key was already used for job " +
                                                        existing->id + " with a different body"};
  return existing;
}

std::shared_ptr<job> job_service::enqueue(proto::job_spec spec, const admission& a) {
  auto j = store_.create(std::move(spec), a.lane, pool_for(*a.type, a.lane));
  j->events.append(proto::event_type::queued, {{"lane", to_string(a.lane)}, {"priority", j->spec.priority}},
                   j->created_at);
  queue_.push(j);
  ++submitted_;
  metrics_.submitted(*j);
  if (log_enabled(log_level::debug))
    log(log_level::debug, "job queued", {{"job", j->id}, {"type", j->spec.type}});
  return j;
}

std::shared_ptr<const job> job_service::find(std::string_view id) const {
  return store_.find(id);
}

proto::result<std::shared_ptr<const job>> job_service::cancel(std::string_view id) {
  auto j = store_.find(id);
  if (!j) return proto::job_not_found(id);
  if (proto::is_terminal(j->state))
    return proto::error{errc::already_finished,
                        "job " + j->id + " already finished as " + std::string{to_string(j->state)}};
  apply(*j, job_input::cancel, std::nullopt, proto::error{errc::cancelled, "cancelled by a client"});
  return std::shared_ptr<const job>{std::move(j)};
}

void job_service::dispatch() {
  for (const auto p : {slot_pool::thread, slot_pool::worker, slot_pool::command}) {
    const auto& lane = lanes_[index(p)];
    if (!lane) continue;
    while (busy_[index(p)] < lane->capacity()) {
      auto j = queue_.pop(p);
      if (!j) break;
      if (!apply(*j, job_input::start)) continue;  // cannot happen: cancelled jobs leave the queue at once
      ++busy_[index(p)];
      asio::co_spawn(reactor_, run(std::move(j), *lane), log_coroutine_failure("run"));
    }
  }
}

asio::awaitable<void> job_service::run(std::shared_ptr<job> j, job_lane& lane) {
  const std::weak_ptr<job> weak = j;

  // The deadline is the reactor's to enforce: the job is timed_out the moment it passes,
  // and whatever the lane returns later is discarded.
  const job_type& type = *types_.find(j->spec.type);
  std::optional<std::chrono::milliseconds> requested;
  if (j->spec.timeout_ms) requested = std::chrono::milliseconds{*j->spec.timeout_ms};
  const auto timeout = lane.timeout_for(type, requested);
  asio::steady_timer deadline{reactor_};
  if (timeout) {
    deadline.expires_after(*timeout);
    deadline.async_wait([this, weak, ms = timeout->count()](boost::system::error_code ec) {
      if (ec) return;
      if (auto job = weak.lock())
        apply(*job, job_input::time_out, std::nullopt,
              proto::error{errc::timed_out,
                           "the job ran longer than its timeout of " + std::to_string(ms) + " ms"});
    });
  }

  lane_request request{type, j->spec.input, j->id, j->stop.get_token(),
                       [this, weak](proto::event_type t, nlohmann::json data) {
                         if (auto job = weak.lock()) on_lane_event(*job, t, std::move(data));
                       }};
  lane_outcome outcome;
  try {
    outcome = co_await lane.async_run(std::move(request));
  } catch (const std::exception& e) {
    log(log_level::error, "lane failed", {{"job", j->id}, {"what", e.what()}});
    outcome = lane_outcome{job_input::fail, nullptr, proto::error{errc::internal, "internal error"}};
  }
  deadline.cancel();

  --busy_[index(j->pool)];
  apply(*j, outcome.input, std::move(outcome.result), std::move(outcome.error));
  wake_drain();
  dispatch();
}

void job_service::on_lane_event(job& j, proto::event_type type, nlohmann::json data) {
  // Events that arrive after the job ended (a late handler) are dropped: the terminal event is last.
  if (j.state != job_state::running) return;
  if (type == proto::event_type::progress)
    j.progress = proto::job_progress{data.value("fraction", 0.0), data.value("note", std::string{})};
  if (type == proto::event_type::output) {
    switch (j.output.charge(output_budget::size_of(data), config_.max_log_bytes)) {
      case output_budget::decision::log:
        break;
      case output_budget::decision::truncate:
        // The log keeps what fits; one marker says the rest was dropped (the terminal event says so too).
        j.events.append(proto::event_type::output_truncated, {{"logged_bytes", j.output.logged()}});
        return;
      case output_budget::decision::drop:
        return;
    }
  }
  j.events.append(type, std::move(data));
}

bool job_service::apply(job& j, job_input in, std::optional<nlohmann::json> result,
                        std::optional<proto::error> error) {
  const auto t = transition(j.state, in);
  if (!t) return false;
  j.state = t->next;
  for (const auto action : t->actions()) {
    switch (action) {
      case job_action::leave_queue:
        queue_.remove(j);
        break;
      case job_action::start_running:
        j.started_at = job::clock::now();
        j.events.append(proto::event_type::started, nlohmann::json::object(), *j.started_at);
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
      case job_action::retire:
        retire(j);
        break;
      case job_action::notify:
        wake_drain();
        break;
    }
  }
  return true;
}

void job_service::record_outcome(job& j, std::optional<nlohmann::json> result,
                                 std::optional<proto::error> error) {
  j.finished_at = job::clock::now();
  nlohmann::json data = nlohmann::json::object();
  if (j.state == job_state::succeeded) {
    j.result = result ? std::move(*result) : nlohmann::json(nullptr);
    if (j.progress) j.progress = proto::job_progress{1.0, "done"};
    data["result"] = *j.result;
  } else {
    j.error = error ? std::move(*error) : proto::error{errc::internal, "internal error"};
    data["error"] = *j.error;
  }
  if (j.output.truncated()) data["output_truncated"] = true;
  j.events.append(proto::terminal_event(j.state), std::move(data), *j.finished_at);
}

void job_service::retire(const job& j) {
  ++finished_;
  rates_.finished(j.lane);
  metrics_.finished(j);
  store_.mark_finished(j);
  if (log_enabled(log_level::debug))
    log(log_level::debug, "job finished", {{"job", j.id}, {"state", to_string(j.state)}});
  // Count-based retention runs at once; age-based retention in the sweeper.
  store_.evict(job::clock::now());
}

asio::awaitable<void> job_service::async_wait_finished(std::shared_ptr<const job> j,
                                                       std::chrono::steady_clock::duration limit) {
  if (proto::is_terminal(j->state)) co_return;
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

  // Queued jobs keep being dispatched during the grace period: every accepted job gets its chance.
  co_await wait_until([this] { return queue_.size() == 0 && running_ == 0; },
                      std::chrono::steady_clock::now() + grace);

  const auto left = store_.unfinished();
  if (!left.empty()) log(log_level::warn, "cancelling jobs at shutdown", {{"count", left.size()}});
  for (const auto& j : left) {
    apply(*j, job_input::cancel, std::nullopt,
          proto::error{errc::shutdown, "the server shut down before the job finished"});
  }
  co_await wait_until([this] { return busy_slots() == 0; },
                      std::chrono::steady_clock::now() + slot_release_limit);
  sweeper_.stop();
}

void job_service::join() {
  sweeper_.stop();
  // The reactor no longer runs (or never will again): stop whatever a lane still runs so the join ends.
  for (const auto& j : store_.unfinished())
    j->stop.request_stop();
  for (auto& lane : lanes_)
    if (lane) lane->join();
}

service_stats job_service::stats() const {
  return service_stats{queue_.size(), running_, store_.finished_count(), submitted_, finished_};
}

}  // namespace offload::core
