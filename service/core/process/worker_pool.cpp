// Warm worker processes speaking JSON lines.
#include "core/process/worker_pool.hpp"

#include "core/logger.hpp"
#include "core/process/child_process.hpp"

#include <offload/asio_support.hpp>
#include <offload/proto/worker_message.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <csignal>
#include <optional>

namespace offload::core {
using namespace asio::experimental::awaitable_operators;
using proto::errc;

namespace {

constexpr auto max_backoff = std::chrono::seconds{30};

}  // namespace

struct worker_pool::worker {
  worker(std::unique_ptr<child_process> c, const asio::any_io_executor& ex, std::string pool_name)
      : child(std::move(c)),
        pool(std::move(pool_name)),
        exit_signal(ex, asio::steady_timer::time_point::max()) {}

  std::unique_ptr<child_process> child;
  std::string pool;
  // Bytes read from stdout beyond the last full line.
  std::string buffer;
  std::size_t jobs = 0;
  // Past `max_jobs`, a replacement is starting; the worker serves on until it is ready.
  bool replacing = false;
  // Its replacement took over its place in the pool: it retires once idle, without freeing a place.
  bool replaced = false;
  // Retired: its place in the pool is free (a replacement that comes later does not take it over).
  bool retired = false;
  // Set by the watcher, which waits for the exit of every worker from its start, busy or idle.
  std::optional<exit_status> status;
  asio::steady_timer exit_signal;

  asio::awaitable<exit_status> async_exit() {
    while (!status)
      co_await exit_signal.async_wait(use_tuple);
    co_return *status;
  }

  // The next line of stdout, without its newline; `protocol_error` when oversize, `crashed` on EOF.
  asio::awaitable<proto::result<std::string>> async_read_line() {
    auto [ec, n] = co_await asio::async_read_until(
        child->stdout_pipe(), asio::dynamic_buffer(buffer, proto::max_worker_line_bytes + 1), '\n',
        use_tuple);
    if (ec == asio::error::not_found)
      co_return proto::error{
          errc::protocol_error,
          "worker protocol: a line longer than " + std::to_string(proto::max_worker_line_bytes) + " bytes"};
    if (ec) co_return proto::error{errc::crashed, "worker stdout closed"};
    std::string line = buffer.substr(0, n - 1);
    buffer.erase(0, n);
    co_return line;
  }
};

std::optional<std::string> worker_pool::check_ready(const proto::worker_event& ready) const {
  if (ready.protocol && *ready.protocol != proto::worker_protocol_version)
    return "the worker speaks protocol version " + std::to_string(*ready.protocol) + ", offloadd speaks " +
           std::to_string(proto::worker_protocol_version);
  if (!ready.types || settings_.types.empty()) return std::nullopt;
  for (const auto& t : settings_.types)
    if (std::find(ready.types->begin(), ready.types->end(), t) == ready.types->end())
      return "the config says the pool serves '" + t + "', the worker's ready line does not list it";
  return std::nullopt;
}

worker_pool::worker_pool(asio::any_io_executor reactor, worker_pool_settings settings)
    : reactor_(std::move(reactor)),
      settings_(std::move(settings)),
      worker_available_(reactor_, asio::steady_timer::time_point::max()) {}

worker_pool::~worker_pool() {
  join();
}

void worker_pool::start() {
  asio::co_spawn(reactor_, async_warm_up(), log_coroutine_failure("warm-up"));
}

void worker_pool::join() {
  stopped_ = true;
  worker_available_.cancel();
  spawner_.join();
  // Called with the reactor stopped: kill idle workers; destroying them reaps the dying processes.
  for (auto& w : idle_)
    w->child->signal_group(SIGKILL);
  idle_.clear();
}

std::optional<std::chrono::milliseconds> worker_pool::timeout_for(
    const job_type&, std::optional<std::chrono::milliseconds> requested) const {
  if (!settings_.timeout) return requested;
  return requested ? std::min(*requested, *settings_.timeout) : *settings_.timeout;
}

std::optional<std::string> worker_pool::trouble() const {
  if (mismatch_) return *mismatch_;
  if (start_failures_ > 0)
    return "its workers fail at start-up (" + std::to_string(start_failures_) +
           " times in a row; last: " + last_failure_ + ")";
  return std::nullopt;
}

asio::awaitable<void> worker_pool::async_warm_up() {
  while (!stopped_ && !mismatch_ && live_ < capacity() && start_failures_ < crash_loop_threshold) {
    if (std::chrono::steady_clock::now() < backoff_until_) {
      asio::steady_timer wait{reactor_, backoff_until_};
      co_await wait.async_wait(use_tuple);
      continue;
    }
    ++live_;
    auto w = co_await async_start_worker();
    if (!w) {
      worker_gone();
      continue;
    }
    release(std::move(*w));
  }
}

void worker_pool::note_start_failure(const std::string& why) {
  ++start_failures_;
  last_failure_ = why;
  // Capped exponential back-off: 200 ms, 400 ms, … (from `start_backoff`) up to 30 s between start attempts.
  const auto delay = std::min<std::chrono::milliseconds>(
      settings_.start_backoff * (1u << std::min(start_failures_, 10u)), max_backoff);
  backoff_until_ = std::chrono::steady_clock::now() + delay;
  log(log_level::warn, "worker failed to start",
      {{"pool", settings_.name},
       {"why", why},
       {"consecutive_failures", start_failures_},
       {"retry_in_ms", delay.count()}});
}

asio::awaitable<proto::result<worker_pool::worker_ptr>> worker_pool::async_start_worker() {
  child_options options;
  options.executable = settings_.program;
  options.args = settings_.args;
  options.env = settings_.env;
  options.limits = settings_.limits;
  options.nice = settings_.nice;
  options.cgroups = settings_.cgroups;
  auto spawned = co_await child_process::async_spawn(reactor_, spawner_.get_executor(), std::move(options));
  if (!spawned) {
    note_start_failure(spawned.error().message);
    co_return proto::error{errc::worker_unavailable, "cannot start a worker of pool " + settings_.name +
                                                         ": " + spawned.error().message};
  }
  auto w = std::make_shared<worker>(std::move(spawned).value(), reactor_, settings_.name);
  ++restarts_;
  asio::co_spawn(reactor_, watch(w), log_coroutine_failure("watch"));

  // Worker stderr goes to our log; draining it also keeps a chatty worker from blocking on a full pipe.
  asio::co_spawn(reactor_, drain_stderr(w), log_coroutine_failure("stderr"));

  asio::steady_timer timer{reactor_, settings_.ready_timeout};
  auto first = co_await (w->async_read_line() || timer.async_wait(use_tuple));
  std::string why;
  if (first.index() == 1) {
    why = "no ready line within " + std::to_string(settings_.ready_timeout.count()) + " ms";
  } else if (auto& line = std::get<0>(first); !line) {
    why = line.error().message;
  } else if (auto event = proto::decode_worker_event(*line);
             !event || event->kind != proto::worker_event_kind::ready) {
    why = "the first line was not {\"event\":\"ready\"}";
  } else if (auto mismatch = check_ready(*event)) {
    // Not a crash: the worker and the config disagree, and restarting will not change that.
    mismatch_ = *mismatch;
    log(log_level::error, "worker pool stopped: its worker disagrees with the config",
        {{"pool", settings_.name}, {"why", *mismatch}});
    w->child->signal_group(SIGKILL);
    co_await w->async_exit();
    worker_available_.cancel();
    co_return proto::error{errc::worker_unavailable,
                           "worker pool " + settings_.name + " is stopped: " + *mismatch};
  }
  if (!why.empty()) {
    w->child->signal_group(SIGKILL);
    const auto status = co_await w->async_exit();
    note_start_failure(why + " (" + status.describe() + ")");
    co_return proto::error{errc::worker_unavailable,
                           "a worker of pool " + settings_.name + " failed to start: " + why};
  }
  start_failures_ = 0;
  co_return w;
}

asio::awaitable<proto::result<worker_pool::worker_ptr>> worker_pool::async_acquire(
    const std::stop_token& stop) {
  while (!idle_.empty()) {
    auto w = std::move(idle_.back());
    idle_.pop_back();
    // The watcher removes workers that die while idle, once the reactor has seen the exit; this is the last
    // check before a job is at stake: a worker killed a moment ago must not take a job down with it, and a
    // stopped one (SIGSTOP) would take it and never answer.
    if (!w->status) {
      const auto now = w->child->look();
      if (now == child_process::state::running) co_return w;
      if (now == child_process::state::stopped)
        log(log_level::warn, "idle worker is stopped; replacing it",
            {{"pool", settings_.name}, {"pid", w->child->pid()}});
    }
    retire(std::move(w));
  }
  // All live workers are busy or still starting: wait for one rather than exceed capacity(). The
  // service never runs more than capacity() jobs here, so a starting worker is one this job can have.
  while (idle_.empty() && live_ >= capacity() && !stop.stop_requested() && !stopped_) {
    const std::stop_callback wake{stop, [this] { worker_available_.cancel(); }};
    co_await worker_available_.async_wait(use_tuple);
  }
  if (!idle_.empty()) co_return co_await async_acquire(stop);
  if (stop.stop_requested() || stopped_)
    co_return proto::error{errc::cancelled, "stopped before a worker was ready"};
  if (mismatch_)
    co_return proto::error{errc::worker_unavailable,
                           "worker pool " + settings_.name + " is stopped: " + *mismatch_};
  if (start_failures_ >= crash_loop_threshold && std::chrono::steady_clock::now() < backoff_until_)
    co_return proto::error{errc::worker_unavailable,
                           "workers of pool " + settings_.name + " keep failing at start-up (" +
                               std::to_string(start_failures_) + " times in a row; last: " + last_failure_ +
                               "); the pool is backing off"};
  if (std::chrono::steady_clock::now() < backoff_until_) {
    // A cancel (or timeout) ends the wait: the job must not hold its slot for the rest of the back-off.
    asio::steady_timer wait{reactor_, backoff_until_};
    const std::stop_callback wake{stop, [&wait] { wait.cancel(); }};
    co_await wait.async_wait(use_tuple);
    if (stop.stop_requested() || stopped_)
      co_return proto::error{errc::cancelled, "stopped before a worker was ready"};
  }
  ++live_;
  auto w = co_await async_start_worker();
  if (!w) {
    worker_gone();
    // Keep trying in the background (with the back-off), so the pool's health is known without jobs.
    if (!stopped_ && !mismatch_) asio::co_spawn(reactor_, async_warm_up(), log_coroutine_failure("warm-up"));
  }
  co_return w;
}

asio::awaitable<lane_outcome> worker_pool::async_run(lane_request request) {
  auto acquired = co_await async_acquire(request.stop);
  if (!acquired) co_return lane_outcome{job_input::fail, nullptr, acquired.error()};
  worker_ptr w = std::move(acquired).value();
  auto outcome = co_await async_run_on(*w, request);
  if (w->replaced) {
    --outgoing_;
    discard(std::move(w));
  } else if (w->status || request.stop.stop_requested()) {
    retire(std::move(w));
  } else {
    if (++w->jobs >= settings_.max_jobs) replace(w);
    release(std::move(w));
  }
  co_return outcome;
}

void worker_pool::replace(const worker_ptr& w) {
  // A worker is replaced while it serves on, so the pool keeps its size through a recycle: both workers of a
  // pool of two reach `max_jobs` together under an even load, and replacing them one after the other left
  // the pool without a worker for an interpreter's start-up (a Node worker's ~130 ms: every job waited).
  // After a start-up failure the worker serves on, and the next job's end tries again after the back-off.
  if (w->replacing || stopped_ || mismatch_ || std::chrono::steady_clock::now() < backoff_until_) return;
  w->replacing = true;
  asio::co_spawn(reactor_, async_replace(w), log_coroutine_failure("replace"));
}

asio::awaitable<void> worker_pool::async_replace(worker_ptr old) {
  auto fresh = co_await async_start_worker();
  old->replacing = false;
  if (!fresh) co_return;
  if (old->retired || old->status || stopped_) {
    // The old worker is gone meanwhile and its place was freed: the new one fills it if nothing else has.
    if (!stopped_ && live_ < capacity()) {
      ++live_;
      release(std::move(fresh).value());
    } else {
      discard(std::move(fresh).value());
    }
    co_return;
  }
  // The new worker takes the old one's place; the old one goes now if idle, else when its job ends.
  old->replaced = true;
  if (const auto it = std::find(idle_.begin(), idle_.end(), old); it != idle_.end()) {
    idle_.erase(it);
    discard(std::move(old));
  } else {
    ++outgoing_;
  }
  release(std::move(fresh).value());
}

asio::awaitable<lane_outcome> worker_pool::async_run_on(worker& w, lane_request& request) {
  const auto grace = settings_.kill_grace;
  child_process& child = *w.child;
  // Cancel and timeout kill the worker's whole group; the worker is then replaced.
  const std::stop_callback on_stop{request.stop, [&child, grace] { child.terminate_group(grace); }};

  const auto line = proto::encode_line(proto::worker_request{request.type.name, request.input});
  auto [write_ec, written] = co_await asio::async_write(child.stdin_pipe(), asio::buffer(line), use_tuple);
  (void)written;
  for (;;) {
    // Not `write_ec ? result{error{…}} : co_await …`: a braced temporary beside co_await (rule 1).
    proto::result<std::string> next{proto::error{errc::crashed, "worker stdin closed"}};
    if (!write_ec) next = co_await w.async_read_line();
    if (next) {
      auto event = proto::decode_worker_event(*next);
      if (event) {
        switch (event->kind) {
          case proto::worker_event_kind::progress:
            request.on_event(proto::event_type::progress,
                             {{"fraction", event->fraction}, {"note", event->note}});
            continue;
          case proto::worker_event_kind::output:
            request.on_event(proto::event_type::output, {{"stream", "stdout"}, {"data", event->data}});
            continue;
          case proto::worker_event_kind::result:
            co_return lane_outcome{job_input::succeed, std::move(event->result), std::nullopt};
          case proto::worker_event_kind::error:
            co_return lane_outcome{job_input::fail, nullptr, std::move(event->error)};
          case proto::worker_event_kind::ready:
            break;
        }
        next = proto::error{errc::protocol_error, "worker protocol: unexpected ready line during a job"};
      } else {
        next = std::move(event).error();
      }
    }
    // Garbage, an oversize line, or a dead worker: this job fails and the worker goes.
    const auto error = std::move(next).error();
    if (error.code == errc::protocol_error) child.signal_group(SIGKILL);
    const auto status = co_await w.async_exit();
    // A worker killed for a cancel or a timeout did not crash.
    if (!request.stop.stop_requested()) ++crashes_;
    if (error.code == errc::protocol_error) co_return lane_outcome{job_input::crash, nullptr, error};
    if (status.memory_limit)
      co_return lane_outcome::failure(
          errc::memory_limit, "the worker running the job went over its memory limit (limits.memory_mb = " +
                                  std::to_string(settings_.limits.memory_mb.value_or(0)) +
                                  " MiB) and was killed");
    if (status.signal != 0)
      co_return lane_outcome{
          job_input::crash, nullptr,
          proto::error{errc::crashed, "the worker running the job died from " + status.describe()}};
    co_return lane_outcome::failure(
        errc::handler_error, "the worker running the job exited with code " + std::to_string(status.code));
  }
}

// Coroutine functions rather than lambdas handed to co_spawn (rule 2 of offload/asio_support.hpp).
asio::awaitable<void> worker_pool::drain_stderr(worker_ptr w) {
  std::array<char, 4096> buf;
  for (;;) {
    auto [ec, n] = co_await w->child->stderr_pipe().async_read_some(asio::buffer(buf), use_tuple);
    if (n > 0)
      log(log_level::warn, "worker stderr",
          {{"pool", w->pool}, {"pid", w->child->pid()}, {"text", std::string{buf.data(), n}}});
    if (ec) co_return;
  }
}

// Closing stdin asks the worker to exit; one that does not go within the grace period is killed.
asio::awaitable<void> worker_pool::reap(worker_ptr w, std::chrono::milliseconds grace) {
  boost::system::error_code ignored;
  w->child->stdin_pipe().close(ignored);
  if (w->status) co_return;
  asio::steady_timer timer{co_await asio::this_coro::executor, grace};
  co_await timer.async_wait(use_tuple);
  // Still there after the grace period: kill it; the watcher reaps it.
  if (!w->status) w->child->signal_group(SIGKILL);
}

// Waits for a worker's exit from the moment it starts, so that one dying while idle is reaped at once
// and taken out of the pool, instead of lingering as a zombie until a job picks it.
asio::awaitable<void> worker_pool::watch(worker_ptr w) {
  const auto status = co_await w->child->async_wait();
  w->status = status;
  w->exit_signal.cancel();
  if (const auto it = std::find(idle_.begin(), idle_.end(), w); it != idle_.end()) {
    idle_.erase(it);
    log(log_level::warn, "idle worker died",
        {{"pool", settings_.name}, {"pid", w->child->pid()}, {"how", status.describe()}});
    ++crashes_;
    worker_gone();
    if (!stopped_) asio::co_spawn(reactor_, async_warm_up(), log_coroutine_failure("warm-up"));
  }
}

void worker_pool::release(worker_ptr w) {
  if (stopped_) return retire(std::move(w));
  idle_.push_back(std::move(w));
  worker_available_.cancel();
}

void worker_pool::worker_gone() {
  --live_;
  // A waiting job may now start a worker of its own.
  worker_available_.cancel();
}

void worker_pool::retire(worker_ptr w) {
  worker_gone();
  discard(std::move(w));
  // Keep the pool warm.
  if (!stopped_) asio::co_spawn(reactor_, async_warm_up(), log_coroutine_failure("warm-up"));
}

void worker_pool::discard(worker_ptr w) {
  w->retired = true;
  asio::co_spawn(reactor_, reap(std::move(w), settings_.kill_grace), log_coroutine_failure("retire"));
}

}  // namespace offload::core
