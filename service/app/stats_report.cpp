// The statistics snapshot.
#include "app/stats_report.hpp"

#include "core/process_stats.hpp"
#include "core/store/store_meter.hpp"

#include <offload/proto/timestamp.hpp>
#include <offload/proto/version.hpp>

namespace offload::app {
namespace {

double milliseconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

stats_report::stats_report(sources from)
    : from_(std::move(from)),
      store_(from_.jobs.store().describe()),
      started_at_(std::chrono::system_clock::now()),
      started_(std::chrono::steady_clock::now()) {}

nlohmann::json stats_report::pool(const core::pool_stats& p) const {
  using core::slot_pool;
  nlohmann::json out{{"lane", proto::to_string(core::lane_of(p.pool))},
                     {"queued", p.queued},
                     {"running", p.running},
                     {"capacity", p.capacity}};
  if (p.pool == slot_pool::thread) {
    out["name"] = "threads";
    out["kind"] = "threads";
    return out;
  }
  if (p.pool == slot_pool::command) {
    out["name"] = "commands";
    out["kind"] = "commands";
    return out;
  }
  // The built-in pool is `pools[0]`, the operator's follow in order.
  const auto index =
      p.pool == slot_pool::worker
          ? 0
          : static_cast<std::size_t>(p.pool) - static_cast<std::size_t>(slot_pool::first_external) + 1;
  out["kind"] = "workers";
  if (index >= from_.pools.size()) return out;
  const auto& w = *from_.pools[index];
  out["name"] = w.name();
  nlohmann::json workers{
      {"busy", w.live() - w.idle()}, {"idle", w.idle()}, {"starts", w.restarts()}, {"crashes", w.crashes()}};
  const auto trouble = w.trouble();
  workers["healthy"] = !trouble;
  if (trouble) workers["trouble"] = *trouble;
  out["workers"] = std::move(workers);
  return out;
}

nlohmann::json stats_report::snapshot() const {
  const auto now = std::chrono::steady_clock::now();
  const auto& jobs = from_.jobs;
  const auto counts = jobs.stats();

  nlohmann::json pools = nlohmann::json::array();
  for (const auto& p : jobs.pools())
    pools.push_back(pool(p));

  // One array per terminal state, oldest second first.
  nlohmann::json finished{{"step_seconds", 1}};
  const auto history = jobs.history().last(now);
  for (std::size_t s = 0; s < core::finish_history::states.size(); ++s) {
    auto& series = finished[std::string{proto::to_string(core::finish_history::states[s])}];
    series = nlohmann::json::array();
    for (const auto& second : history)
      series.push_back(second[s]);
  }

  const auto lag = from_.lag.recent();
  nlohmann::json trend = nlohmann::json::array();
  for (const auto worst : from_.lag.max_per_second())
    trend.push_back(milliseconds(worst));

  nlohmann::json out{
      {"version", proto::version()},
      {"started_at", proto::format_timestamp(started_at_)},
      {"uptime_seconds", std::chrono::duration<double>(now - started_).count()},
      {"store", store_},
      {"draining", jobs.draining()},
      {"jobs",
       {{"submitted", counts.submitted},
        {"finished", counts.finished},
        {"queued", counts.queued},
        {"delayed", jobs.delayed()},
        {"running", counts.running},
        {"retained", counts.retained}}},
      {"pools", std::move(pools)},
      {"finished_per_second", std::move(finished)},
      {"reactor",
       {{"lag_ms",
         {{"p50", milliseconds(lag.p50)},
          {"p99", milliseconds(lag.p99)},
          {"max", milliseconds(lag.max)},
          {"samples", lag.samples}}},
        {"lag_max_ms_per_second", std::move(trend)}}},
      {"connections", {{"http", from_.listener.connections()}, {"websocket", from_.websockets.sessions()}}},
  };
  // The store's group commits (SQLite or Redis; the memory store commits nothing), as in /metrics.
  if (const auto* meter = from_.jobs.store().meter()) {
    const auto m = meter->read();
    out["store_commits"] = {{"commits", m.commits},
                            {"operations", m.operations},
                            {"seconds", m.commit_seconds},
                            {"failures", m.failed_commits},
                            {"pending", m.pending}};
  }
  if (const auto self = core::process_stats::read())
    out["process"] = {{"resident_bytes", self->resident_bytes},
                      {"cpu_seconds", self->cpu_seconds},
                      {"open_fds", self->open_fds}};
  return out;
}

}  // namespace offload::app
