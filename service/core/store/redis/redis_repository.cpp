#include "core/store/redis/redis_repository.hpp"

#include "core/job_id.hpp"
#include "core/logger.hpp"
#include "core/store/job_codec.hpp"
#include "core/store/job_store.hpp"
#include "core/store/redis/redis_scripts.hpp"

#include <offload/asio_support.hpp>
#include <offload/proto/json_parse.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <charconv>
#include <unordered_map>

namespace offload::core {
namespace {

using proto::errc;
using clock = job::clock;

constexpr std::string_view prefix = "offload:";
// Seqs are reserved this many at a time, and the next block once half of one is used.
constexpr std::uint64_t seq_block = 1024;
// A listing looks at no more jobs than this in one call to Redis.
constexpr std::size_t list_scan_cap = 5000;

std::string job_key(std::string_view id) {
  return std::string{prefix} + "job:" + std::string{id};
}
std::string events_key(std::string_view id) {
  return std::string{prefix} + "ev:" + std::string{id};
}
std::string idempotency_key(std::string_view key) {
  return std::string{prefix} + "key:" + std::string{key};
}
const std::string jobs_index = "offload:jobs";
const std::string finished_index = "offload:finished";
const std::string running_index = "offload:running";
const std::string delayed_index = "offload:delayed";
const std::string seq_key = "offload:seq";

std::string number(std::int64_t v) {
  return std::to_string(v);
}
std::string optional_number(const std::optional<std::int64_t>& v) {
  return v ? std::to_string(*v) : "";
}

/// The queue order: higher priority first, then earlier submission (ms), within 53 bits of a double.
std::string queue_score(const job& j) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(j.created_at.time_since_epoch()).count();
  const auto rank = static_cast<std::int64_t>(proto::job_spec::max_priority - j.spec.priority);
  return std::to_string(rank * (std::int64_t{1} << 42) + ms);
}

/// The record's fields as hash field/value pairs ('' deletes the field).
void append_record(std::vector<redis_field>& fields, const job& j) {
  const auto r = stored_record::of(j);
  fields.emplace_back("state", number(r.state));
  fields.emplace_back("started", optional_number(r.started_at));
  fields.emplace_back("finished", optional_number(r.finished_at));
  fields.emplace_back("attempt", number(r.attempt));
  fields.emplace_back("not_before", optional_number(r.not_before));
  fields.emplace_back("earlier", r.earlier_errors.value_or(""));
  fields.emplace_back("progress", r.progress.value_or(""));
  fields.emplace_back("error", r.error.value_or(""));
  fields.emplace_back("out", number(r.output_logged));
  fields.emplace_back("trunc", r.output_truncated ? "1" : "0");
}

/// A job's part of a batched script's ARGV (`segment` in the scripts): its field/value pairs, counted
/// (without the empty ones when `skip_empty`), then its events as seq/type/frame triples, counted.
void append_segment(redis_args& args, std::span<const redis_field> fields,
                    std::span<const logged_event> events, bool skip_empty) {
  const auto sent = [skip_empty](const redis_field& f) { return !skip_empty || !f.second.empty(); };
  args.add(std::count_if(fields.begin(), fields.end(), sent));
  for (const auto& f : fields) {
    if (!sent(f)) continue;
    args.add(f.first).add(f.second);
  }
  args.add(events.size());
  for (const auto& e : events)
    args.add(e.seq).add(static_cast<int>(e.type)).add(*e.frame);
}

// One call to Redis carries at most this many jobs' adds or writes (and about this many bytes): a burst is
// split, so that no single script holds Redis for long.
constexpr std::size_t max_batch_jobs = 256;
constexpr std::size_t max_batch_bytes = std::size_t{1} << 20;

std::optional<std::int64_t> to_int(std::string_view text) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

proto::error unreadable(const std::string& why) {
  return {errc::storage_unavailable, "the Redis store answered something unexpected: " + why};
}

}  // namespace

redis_repository::redis_repository(asio::any_io_executor reactor, redis_options options)
    : reactor_(std::move(reactor)), options_(std::move(options)), random_(std::random_device{}()) {
  auto c = options_.connection;
  c.endpoint = options_.endpoint;
  c.name = "offloadd:" + options_.node;
  c.scripts.assign(redis_scripts::all.begin(), redis_scripts::all.end());
  c.on_ready = [this, alive = std::weak_ptr<void>{lifetime_}, user = std::move(c.on_ready)] {
    if (!alive.lock()) return;
    resend();
    if (end_seq_ - next_seq_ < seq_block / 2) refill_seqs();
    check_stream_node_size();
    if (was_ready_ && events_.on_reconnected) events_.on_reconnected();
    was_ready_ = true;
    if (user) user();
  };
  auto sub = c;
  connection_ = std::make_unique<redis_connection>(reactor_, std::move(c));

  // The subscriber: wake-ups, changed jobs, and cancel requests addressed to this node.
  sub.name = "offloadd:" + options_.node + ":subscriber";
  sub.scripts.clear();
  sub.channels = {"offload:wake", "offload:changed", "offload:node:" + options_.node};
  bool first = true;
  sub.on_ready = [this, alive = std::weak_ptr<void>{lifetime_}, first]() mutable {
    // Messages published while it was away are lost: the service looks again at what it follows.
    if (alive.lock() && !std::exchange(first, false) && events_.on_reconnected) events_.on_reconnected();
  };
  sub.on_lost = nullptr;
  sub.on_message = [this, alive = std::weak_ptr<void>{lifetime_}](std::string_view channel,
                                                                  std::string_view message) {
    if (!alive.lock()) return;
    if (channel == "offload:wake") {
      if (events_.on_wake) events_.on_wake(message);
    } else if (channel == "offload:changed") {
      // The node that changed them, then the ids of the jobs one script gave new events, space-separated.
      // What this node changed itself it knows already.
      const auto node_end = std::min(message.find(' '), message.size());
      if (message.substr(0, node_end) == options_.node) return;
      message.remove_prefix(std::min(node_end + 1, message.size()));
      while (!message.empty()) {
        const auto end = std::min(message.find(' '), message.size());
        if (end > 0) {
          // Another node changed it: it was claimed (or taken) there, and this node no longer holds it
          // (holding it would also keep this node following it).
          unhold(message.substr(0, end));
          if (events_.on_job_changed) events_.on_job_changed(message.substr(0, end));
        }
        message.remove_prefix(std::min(end + 1, message.size()));
      }
    } else if (events_.on_cancel_request) {
      events_.on_cancel_request(message);
    }
  };
  subscriber_ = std::make_unique<redis_connection>(reactor_, std::move(sub));
}

redis_repository::~redis_repository() {
  close();
}

std::string redis_repository::queue_of(proto::lane lane, const std::string& type) {
  return std::string{prefix} + "q:" + std::string{to_string(lane)} + ":" + type;
}

asio::awaitable<bool> redis_repository::async_connect(std::chrono::steady_clock::duration limit) {
  connection_->start();
  subscriber_->start();
  const bool commands = co_await connection_->async_wait_ready(limit);
  const bool channels = co_await subscriber_->async_wait_ready(limit);
  co_return commands&& channels;
}

asio::awaitable<proto::result<recovered_jobs>> redis_repository::async_recover() {
  // Nothing comes back to this node alone: queued jobs stay in the shared queue, and the jobs a node was
  // running when it stopped are taken over by any node once their lease passes.
  if (!co_await async_connect(options_.connect_for))
    co_return proto::error{
        errc::storage_unavailable,
        "cannot reach the Redis store at " + describe() + " within " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(options_.connect_for).count()) +
            " s: " + connection_->last_error()};
  std::vector<std::string> reserve{"INCRBY", seq_key, std::to_string(seq_block)};
  auto seqs = co_await connection_->async_exec(std::move(reserve));
  if (!seqs) co_return seqs.error();
  const auto end = seqs->as_integer();
  if (!end) co_return unreadable("INCRBY " + seq_key + " gave " + seqs->text);
  end_seq_ = static_cast<std::uint64_t>(*end) + 1;
  next_seq_ = end_seq_ - seq_block;
  // What this node adds from now on; a job of an earlier run of a node of the same name is not held.
  held_from_ = next_seq_;
  std::vector<std::string> count{"ZCARD", finished_index};
  auto finished = co_await connection_->async_exec(std::move(count));
  if (finished && finished->as_integer()) finished_ = static_cast<std::size_t>(*finished->as_integer());
  co_return recovered_jobs{{}, finished_};
}

void redis_repository::refill_seqs() {
  if (refilling_) return;
  refilling_ = true;
  std::vector<std::string> reserve{"INCRBY", seq_key, std::to_string(seq_block)};
  connection_->send(std::move(reserve), [this, alive = std::weak_ptr<void>{lifetime_}](auto r) {
    if (!alive.lock()) return;
    refilling_ = false;
    if (!r || !r->as_integer()) return;  // tried again at the next make() or reconnect
    // The new block replaces what is left of the current one (those seqs are never used: ids need only be
    // unique and ordered).
    end_seq_ = static_cast<std::uint64_t>(*r->as_integer()) + 1;
    next_seq_ = end_seq_ - seq_block;
  });
}

std::shared_ptr<job> redis_repository::make(proto::job_spec spec, proto::lane lane, slot_pool pool) {
  // A seq from this node's block (ids sort by submission per node, and across nodes by block); when the
  // block is used up faster than it is refilled, `async_add` reserves one seq on its own.
  std::uint64_t seq = 0;
  if (next_seq_ < end_seq_) seq = next_seq_++;
  if (end_seq_ - next_seq_ < seq_block / 2) refill_seqs();
  auto j = new_job(seq, static_cast<std::uint32_t>(random_() & 0xffffffffu), std::move(spec), lane, pool);
  j->events.publish_when_stored();
  if (seq == 0) j->id.clear();
  return j;
}

asio::awaitable<std::optional<proto::error>> redis_repository::async_add(std::shared_ptr<job> j) {
  if (j->seq == 0) {
    std::vector<std::string> one{"INCR", seq_key};
    auto seq = co_await connection_->async_exec(std::move(one));
    if (!seq) co_return seq.error();
    if (!seq->as_integer()) co_return unreadable("INCR gave " + seq->text);
    j->seq = static_cast<std::uint64_t>(*seq->as_integer());
    j->id = job_id::make(j->seq, static_cast<std::uint32_t>(random_() & 0xffffffffu));
  }
  pending_add a;
  const auto& key = j->spec.idempotency_key;
  a.args.add(j->id).add(j->seq).add(key.value_or(""));
  a.args.add(j->not_before ? number(to_micros(*j->not_before)) : std::string{});
  // Claimed by the add if it can be: then the record also names the claim (a new one: token 1) and owner.
  const auto pool = static_cast<std::size_t>(j->pool);
  if (j->claim_at_add && pool < pool_queues_.size() && !pool_queues_[pool].empty()) a.pool = pool;
  std::vector<redis_field> fields;
  fields.reserve(20);
  fields.emplace_back("q", queue_of(j->lane, j->spec.type));
  fields.emplace_back("score", queue_score(*j));
  fields.emplace_back("id", j->id);
  fields.emplace_back("seq", number(static_cast<std::int64_t>(j->seq)));
  fields.emplace_back("type", j->spec.type);
  fields.emplace_back("lane", number(static_cast<int>(j->lane)));
  fields.emplace_back("spec", proto::dump_job_spec(j->spec));
  fields.emplace_back("key", key.value_or(""));
  fields.emplace_back("created", number(to_micros(j->created_at)));
  fields.emplace_back("origin", options_.node);
  append_record(fields, *j);
  if (a.pool) {
    fields.emplace_back("claim", "1");
    fields.emplace_back("owner", options_.node);
    fields.emplace_back("run", j->run_at_add ? "1" : "0");
  }
  // A new record: an absent field reads as an empty one, so the empty ones are not sent.
  append_segment(a.segment, fields, j->events.events(), true);
  hold(j);
  // Sent with the other submissions of this reactor turn, in one script (group commit).
  auto init = [this](auto handler, pending_add a) {
    // Shared, so that the (move-only) handler fits a std::function; called once.
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    a.done = [h](std::optional<proto::error> outcome, bool claimed) {
      std::move (*h)(std::move(outcome), claimed);
    };
    adds_.push_back(std::move(a));
    meter_.pending(1);
    schedule_flush();
  };
  auto [outcome, claimed] =
      co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::optional<proto::error>, bool)>(
          std::move(init), asio::use_awaitable, std::move(a));
  if (outcome || claimed) unhold(j->id);
  if (claimed) {
    // Redis has the record as it was sent, with this node's claim.
    j->claim = 1;
    j->owner = options_.node;
    remember_record(*j);
  }
  co_return outcome;
}

void redis_repository::hold(const std::shared_ptr<job>& j) {
  if (j->seq < held_from_) return;
  const auto bytes = job_store::retained_bytes(*j);
  held_bytes_ += bytes;
  held_.emplace(j->seq, held_job{j, bytes});
  while (held_.size() > max_held_jobs || held_bytes_ > max_held_bytes) {
    auto oldest = held_.begin();
    held_from_ = std::max(held_from_, oldest->first + 1);
    held_bytes_ -= oldest->second.bytes;
    held_.erase(oldest);
  }
}

std::shared_ptr<job> redis_repository::unhold(std::string_view id) {
  const auto seq = job_id::seq_of(id);
  if (!seq) return nullptr;
  const auto it = held_.find(*seq);
  if (it == held_.end() || it->second.j->id != id) return nullptr;
  auto j = std::move(it->second.j);
  held_bytes_ -= it->second.bytes;
  held_.erase(it);
  return j;
}

void redis_repository::remember_record(const job& j) {
  std::vector<redis_field> fields;
  fields.reserve(10);
  append_record(fields, j);
  remember_fields(j.seq, std::move(fields));
}

void redis_repository::remember_fields(std::uint64_t seq, std::vector<redis_field> fields) {
  if (records_.size() >= max_records) records_.clear();  // a bound, not expected to be reached
  records_[seq] = std::move(fields);
}

void redis_repository::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  asio::post(reactor_, [this, alive = std::weak_ptr<void>{lifetime_}] {
    if (alive.lock()) flush();
  });
}

void redis_repository::flush() {
  flush_scheduled_ = false;
  // One batch of submissions in flight at a time (and of writes, unless enough wait: may_send_writes): what
  // comes meanwhile waits for its answer and goes in the next batch, so that batches grow with the load (and
  // one job alone waits for nothing).
  if (!adding_) send_adds();
  if (may_send_writes()) send_writes(std::exchange(writes_, {}));
}

bool redis_repository::may_send_writes() const noexcept {
  // A second batch of writes goes once enough wait for it: Redis applies it after the first (one
  // connection, in order) and works on it while this node reads the first one's answer, rather than the two
  // taking turns (bench/README "On Redis"). Submissions stay one batch at a time: with two in flight both
  // were smaller, and the jobs' execution fell behind them. (More than max_batch_jobs writes still go as
  // several batches at once, as a burst always did.)
  constexpr std::size_t second_batch_from = 16;
  return !writes_.empty() && (writing_ == 0 || (writing_ == 1 && writes_.size() >= second_batch_from));
}

void redis_repository::send_adds() {
  while (!adds_.empty()) {
    // One script for up to max_batch_jobs submissions, answered one by one.
    auto batch = std::make_shared<std::vector<pending_add>>();
    std::size_t bytes = 0;
    while (!adds_.empty() && batch->size() < max_batch_jobs && (batch->empty() || bytes < max_batch_bytes)) {
      bytes += adds_.front().args.text().size() + adds_.front().segment.text().size();
      batch->push_back(std::move(adds_.front()));
      adds_.pop_front();
    }
    // The queues of the pools this batch may claim for, each once, numbered from 1 in the order sent.
    std::vector<std::size_t> pools;
    for (const auto& a : *batch)
      if (a.pool && std::find(pools.begin(), pools.end(), *a.pool) == pools.end()) pools.push_back(*a.pool);
    redis_args args;
    args.reserve(bytes + 64 + 32 * pools.size());
    args.add(jobs_index).add(delayed_index).add(running_index);
    args.add(options_.node).add(batch->size()).add(options_.lease.count()).add(pools.size());
    for (const auto p : pools) {
      args.add(pool_queues_[p].size());
      for (const auto& q : pool_queues_[p])
        args.add(q);
    }
    for (const auto& a : *batch) {
      args.append(a.args);
      if (a.pool)
        args.add(std::find(pools.begin(), pools.end(), *a.pool) - pools.begin() + 1);
      else
        args.add(std::string_view{});
      args.append(a.segment);
    }
    ++adding_;
    connection_->send_script(
        redis_scripts::add, 3, std::move(args),
        [this, alive = std::weak_ptr<void>{lifetime_}, batch,
         sent = std::chrono::steady_clock::now()](proto::result<redis_reply> r) {
          if (alive.lock()) {
            if (r && !r->is_error())
              meter_.committed(std::chrono::steady_clock::now() - sent, batch->size());
            else
              meter_.failed();
            meter_.pending(-static_cast<std::ptrdiff_t>(batch->size()));
          }
          for (std::size_t i = 0; i < batch->size(); ++i) {
            std::optional<proto::error> outcome;
            bool claimed = false;
            if (!r)
              outcome = r.error();
            else if (r->is_error())
              outcome = unreadable(r->text);
            else if (!r->is_array() || r->elements.size() != batch->size())
              outcome = unreadable("no answer to add");
            else if (const auto& e = r->elements[i]; e.type == redis_reply::kind::integer)
              claimed = (*batch)[i].pool && e.integer == 1;
            else if (!e.text.empty())
              outcome =
                  proto::error{errc::idempotency_conflict, "idempotency_key was just used for job " + e.text};
            (*batch)[i].done(std::move(outcome), claimed);
          }
          if (!alive.lock()) return;
          if (--adding_ == 0 && !adds_.empty()) schedule_flush();
        });
  }
}

void redis_repository::write(const job& j, const char* action, bool record,
                             std::span<const logged_event> appended) {
  if (j.claim == 0) {
    log(log_level::error, "redis store: a write about a job this node never claimed", {{"job", j.id}});
    return;
  }
  ++outstanding_[j.seq];
  meter_.pending(1);
  pending_write w;
  w.seq = j.seq;
  w.claim = j.claim;
  w.action = action;
  w.id = j.id;
  if (record) {
    std::vector<redis_field> fields;
    fields.reserve(10);
    append_record(fields, j);
    // While Redis is away every field goes: a write kept for later may be dropped (past the bound), and
    // the next one must not depend on it.
    const bool waiting = !unsent_.empty() || !connection_->ready();
    const auto known = records_.find(j.seq);
    if (!waiting && known != records_.end() && known->second.size() == fields.size()) {
      // Only what changed since the last write (both lists hold the same fields in the same order).
      for (std::size_t f = 0; f < fields.size(); ++f) {
        if (fields[f].second == known->second[f].second) continue;
        w.fields.push_back(fields[f]);
        known->second[f].second = std::move(fields[f].second);
      }
    } else {
      w.fields = fields;
      remember_fields(j.seq, std::move(fields));
    }
  }
  // The job leaves this node: its record is no longer followed here.
  if (std::string_view{action} != "save") records_.erase(j.seq);
  w.events.assign(appended.begin(), appended.end());
  if (!appended.empty()) w.stored = j.events.mark(appended.back().seq);
  w.bytes = w.id.size();
  for (const auto& f : w.fields)
    w.bytes += f.first.size() + f.second.size();
  for (const auto& e : w.events)
    w.bytes += e.frame->size();
  const auto n = next_write_++;
  // Behind writes still waiting for Redis, never ahead of them.
  if (!unsent_.empty() || !connection_->ready()) {
    unsent_bytes_ += w.bytes;
    unsent_.emplace(n, std::move(w));
    while (unsent_bytes_ > options_.max_pending_write_bytes && unsent_.size() > 1) {
      auto oldest = unsent_.begin();
      auto& dropped = oldest->second;
      unsent_bytes_ -= dropped.bytes;
      records_.erase(dropped.seq);
      // The last write of a job that ended here: Redis keeps the job as running here until its lease
      // passes and a node takes it over (runs it again). Whoever follows it here goes on with that run, as
      // with a job lost to another node, rather than wait for an end that will never be published.
      const auto writes = outstanding_.find(dropped.seq);
      if (const auto it = settling_.find(dropped.seq);
          it != settling_.end() && writes != outstanding_.end() && writes->second <= dropped.writes) {
        asio::post(reactor_,
                   [this, alive = std::weak_ptr<void>{lifetime_}, id = dropped.id, ended = it->second] {
                     if (alive.lock() && events_.on_lost) events_.on_lost(id, ended);
                   });
      }
      settled(dropped.seq, dropped.writes);
      keep_dropped(oldest->first, dropped);
      unsent_.erase(oldest);
      if (dropped_++ == 0)
        log(log_level::error,
            "redis store: writes dropped while Redis is away (a job whose end was among them runs again)",
            {{"max_pending_write_bytes", options_.max_pending_write_bytes}});
    }
    return;
  }
  // Sent with the other writes of this reactor turn, in one script, in order.
  writes_.emplace(n, std::move(w));
  schedule_flush();
}

void redis_repository::send_writes(std::map<std::uint64_t, pending_write> writes) {
  while (!writes.empty()) {
    auto batch = std::make_shared<std::vector<std::pair<std::uint64_t, pending_write>>>();
    // The batch's last write of each job: a job's writes of one script are one write as long as the
    // earlier ones only saved (the script applies them at once anyway).
    std::unordered_map<std::uint64_t, std::size_t> last_of;
    std::size_t bytes = 0;
    while (!writes.empty() && batch->size() < max_batch_jobs && (batch->empty() || bytes < max_batch_bytes)) {
      auto node = writes.extract(writes.begin());
      auto& w = node.mapped();
      if (!kept_from_dropped_.empty()) carry_dropped(node.key(), w);
      bytes += w.bytes;
      if (const auto it = last_of.find(w.seq); it != last_of.end()) {
        auto& earlier = (*batch)[it->second].second;
        if (earlier.claim == w.claim && std::string_view{earlier.action} == "save") {
          // The fields of both, the later value where both have one.
          for (auto& f : w.fields) {
            const auto same = std::find_if(earlier.fields.begin(), earlier.fields.end(),
                                           [&f](const redis_field& e) { return e.first == f.first; });
            if (same != earlier.fields.end())
              same->second = std::move(f.second);
            else
              earlier.fields.push_back(std::move(f));
          }
          earlier.events.insert(earlier.events.end(), w.events.begin(), w.events.end());
          if (w.stored) earlier.stored = std::move(w.stored);
          earlier.action = w.action;
          earlier.bytes += w.bytes;
          earlier.writes += w.writes;
          continue;
        }
      }
      last_of[w.seq] = batch->size();
      batch->emplace_back(node.key(), std::move(w));
    }
    // The arguments are copies: a batch lost with the connection is sent again.
    redis_args args;
    args.reserve(bytes + 64 * batch->size());
    args.add(running_index).add(finished_index).add(options_.node).add(batch->size());
    for (auto& [n, w] : *batch) {
      args.add(w.claim).add(w.action).add(w.id);
      const bool released = std::string_view{w.action} != "save";
      // Released: no owner (set with the record, rather than deleted on its own).
      if (released) w.fields.emplace_back("owner", "");
      append_segment(args, w.fields, w.events, false);
      if (released) w.fields.pop_back();
    }
    ++writing_;
    connection_->send_script(
        redis_scripts::write, 2, std::move(args),
        [this, alive = std::weak_ptr<void>{lifetime_}, batch,
         sent = std::chrono::steady_clock::now()](proto::result<redis_reply> r) {
          if (!alive.lock()) return;
          if (--writing_ == 0 && !writes_.empty()) schedule_flush();
          if (r && !r->is_error()) {
            std::size_t writes = 0;
            for (const auto& [n, w] : *batch)
              writes += w.writes;
            meter_.committed(std::chrono::steady_clock::now() - sent, writes);
          } else {
            meter_.failed();
          }
          if (!r) {
            // Lost with the connection: kept, in their place, for the next one (a write applied twice
            // changes nothing: fields are set again, and XADD refuses an event the stream already has).
            for (auto& [n, w] : *batch) {
              unsent_bytes_ += w.bytes;
              unsent_.emplace(n, std::move(w));
            }
            return;
          }
          const bool answered = !r->is_error() && r->is_array() && r->elements.size() == batch->size();
          // A job this node ended, kept until Redis has its end, and whose end Redis refused: handed over
          // with the loss, so that whoever follows it here goes on with the run of the node that took it.
          std::vector<std::shared_ptr<job>> refused_ends(answered ? batch->size() : 0);
          for (std::size_t i = 0; i < refused_ends.size(); ++i) {
            const auto& w = (*batch)[i].second;
            const auto it = settling_.find(w.seq);
            if (r->elements[i].as_integer() == 0 && it != settling_.end() && it->second->id == w.id)
              refused_ends[i] = it->second;
          }
          for (const auto& [n, w] : *batch)
            settled(w.seq, w.writes);
          if (!answered) {
            // What Redis has of these records is not known any more: their next writes send every field.
            for (const auto& [n, w] : *batch)
              records_.erase(w.seq);
            log(log_level::error, "redis store: writes failed",
                {{"jobs", batch->size()}, {"error", r->is_error() ? r->text : std::string{"no answer"}}});
            return;
          }
          for (std::size_t i = 0; i < batch->size(); ++i) {
            const auto& w = (*batch)[i].second;
            if (r->elements[i].as_integer() != 0) {
              if (w.stored) w.stored();
              continue;
            }
            ++fenced_;
            log(log_level::warn, "redis store: this node no longer owns the job; its write was refused",
                {{"job", w.id}, {"claim", w.claim}});
            records_.erase(w.seq);
            kept_from_dropped_.erase(w.seq);
            if (events_.on_lost) events_.on_lost(w.id, std::move(refused_ends[i]));
          }
        });
  }
}

void redis_repository::keep_dropped(std::uint64_t n, pending_write& dropped) {
  if (std::string_view{dropped.action} != "save") {
    kept_from_dropped_.erase(dropped.seq);
    return;
  }
  if (dropped.events.empty() && dropped.fields.empty()) return;
  auto& kept = kept_from_dropped_[dropped.seq];
  if (kept.claim != dropped.claim) {
    kept = kept_write{};
    kept.claim = dropped.claim;
  }
  kept.last = n;
  if (!dropped.fields.empty()) kept.fields = std::move(dropped.fields);
  kept.events.insert(kept.events.end(), std::make_move_iterator(dropped.events.begin()),
                     std::make_move_iterator(dropped.events.end()));
  if (dropped.stored) kept.stored = std::move(dropped.stored);
}

void redis_repository::carry_dropped(std::uint64_t n, pending_write& w) {
  const auto it = kept_from_dropped_.find(w.seq);
  if (it == kept_from_dropped_.end() || n < it->second.last) return;
  auto& kept = it->second;
  // Under another claim it belongs to a run this node lost: Redis would refuse it anyway.
  if (kept.claim == w.claim) {
    // A record `w` has is a later one, and whole: the drop made the job's next record send every field.
    if (w.fields.empty()) {
      w.fields = std::move(kept.fields);
      for (const auto& f : w.fields)
        w.bytes += f.first.size() + f.second.size();
    }
    for (const auto& e : kept.events)
      w.bytes += e.frame->size();
    w.events.insert(w.events.begin(), std::make_move_iterator(kept.events.begin()),
                    std::make_move_iterator(kept.events.end()));
    // Published once Redis has them, as they would have been (a mark of w's own reaches further).
    if (!w.stored) w.stored = std::move(kept.stored);
  }
  kept_from_dropped_.erase(it);
}

void redis_repository::check_stream_node_size() {
  // Redis (6.2 and later) gives a new stream a first node of stream-node-max-bytes, at most 4 KiB (0 means
  // no bound: 4 KiB), and never shrinks a node that is not full: each job's event stream keeps that much
  // however few its events. A server Offload does not own is not reconfigured; a user not allowed CONFIG
  // gets no warning.
  std::vector<std::string> args{"CONFIG", "GET", "stream-node-max-bytes"};
  connection_->send(std::move(args), [this, alive = std::weak_ptr<void>{lifetime_}](
                                         proto::result<redis_reply> reply) {
    if (!alive.lock() || !reply || !reply->is_array() || reply->elements.size() != 2) return;
    const auto text = reply->elements[1].string();
    const auto bytes = text ? to_int(*text) : std::nullopt;
    constexpr std::int64_t advised = 512, first_node_bound = 4096;
    if (!bytes || (*bytes > 0 && *bytes <= 2 * advised) || *bytes == warned_stream_node_bytes_) return;
    warned_stream_node_bytes_ = *bytes;
    const auto kept = *bytes == 0 ? first_node_bound : std::min(*bytes, first_node_bound);
    log(log_level::warn,
        "redis store: Redis keeps a job's event stream in a first node of stream-node-max-bytes however few "
        "its events; set it to 512 (CONFIG SET stream-node-max-bytes 512, and in redis.conf) for about a "
        "third of the memory per job and less Redis CPU (README, Several nodes)",
        {{"stream_node_max_bytes", *bytes}, {"bytes_per_job_stream", kept}});
  });
}

void redis_repository::resend() {
  auto waiting = std::move(unsent_);
  unsent_.clear();
  unsent_bytes_ = 0;
  // Writes of this turn not sent yet follow those that waited for the connection.
  waiting.merge(writes_);
  writes_.clear();
  send_writes(std::move(waiting));
}

void redis_repository::save(const job& j, std::span<const logged_event> appended, bool record) {
  // The terminal record also releases the job and lists it as finished: one script, not two.
  write(j, record && proto::is_terminal(j.state) ? "finish" : "save", record, appended);
}

void redis_repository::finished(std::shared_ptr<job> j) {
  // Written with the terminal record (`save`); kept until Redis has it.
  ++finished_;
  if (outstanding_.contains(j->seq)) settling_[j->seq] = std::move(j);
}

void redis_repository::settled(std::uint64_t seq, std::size_t writes) {
  const auto it = outstanding_.find(seq);
  if (it == outstanding_.end()) return;
  if (it->second > writes) {
    it->second -= writes;
    meter_.pending(-static_cast<std::ptrdiff_t>(writes));
    return;
  }
  meter_.pending(-static_cast<std::ptrdiff_t>(it->second));
  outstanding_.erase(it);
  settling_.erase(seq);
}

void redis_repository::requeue(const job& j, std::span<const logged_event> appended) {
  write(j, "requeue", true, appended);
}

std::shared_ptr<job> redis_repository::read_job(const redis_reply& fields, const redis_reply* events) const {
  std::unordered_map<std::string_view, std::string_view> f;
  for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2)
    f[fields.elements[i].text] = fields.elements[i + 1].text;
  auto get = [&](std::string_view name) -> std::optional<std::string_view> {
    const auto it = f.find(name);
    if (it == f.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
  auto integer = [&](std::string_view name) -> std::optional<std::int64_t> {
    const auto v = get(name);
    return v ? to_int(*v) : std::nullopt;
  };
  auto text = [&](std::string_view name) -> std::optional<std::string> {
    const auto v = get(name);
    return v ? std::optional<std::string>{std::string{*v}} : std::nullopt;
  };
  const auto id = get("id");
  const auto spec_text = get("spec");
  if (!id || !spec_text) throw std::runtime_error{"a job record without its id or spec"};
  auto j = std::make_shared<job>();
  // Should this node run the job, its new events wait for Redis (a node taking it over after this one
  // dies numbers its events after the last one Redis has).
  j->events.publish_when_stored();
  j->id = std::string{*id};
  j->seq = static_cast<std::uint64_t>(integer("seq").value_or(0));
  j->lane = static_cast<proto::lane>(integer("lane").value_or(0));
  auto spec = proto::parse_job_spec_text(std::string{*spec_text});
  if (!spec) throw std::runtime_error{"job " + j->id + " has an unreadable spec: " + spec.error().message};
  j->spec = std::move(*spec);
  j->created_at = from_micros(integer("created").value_or(0));
  stored_record r;
  r.seq = static_cast<std::int64_t>(j->seq);
  r.state = integer("state").value_or(0);
  r.started_at = integer("started");
  r.finished_at = integer("finished");
  r.attempt = integer("attempt").value_or(1);
  r.not_before = integer("not_before");
  r.earlier_errors = text("earlier");
  r.progress = text("progress");
  r.error = text("error");
  r.output_logged = integer("out").value_or(0);
  r.output_truncated = get("trunc") == "1";
  r.apply_to(*j);
  j->claim = static_cast<std::uint64_t>(integer("claim").value_or(0));
  j->owner = text("owner").value_or("");
  j->stored = true;
  if (events) {
    // XRANGE: [[id, [t, type, f, frame]], …]; the id is "0-<seq>".
    for (const auto& e : events->elements) {
      if (e.elements.size() != 2 || e.elements[1].elements.size() != 4) continue;
      const auto& id_text = e.elements[0].text;
      const auto seq = to_int(std::string_view{id_text}.substr(id_text.find('-') + 1));
      const auto type = to_int(e.elements[1].elements[1].text);
      if (!seq || !type) continue;
      j->events.restore(static_cast<std::uint64_t>(*seq), static_cast<proto::event_type>(*type),
                        e.elements[1].elements[3].text);
    }
    if (j->state == proto::job_state::succeeded && !j->events.events().empty())
      j->result = job_result::from_frame(j->events.events().back().frame);
  }
  return j;
}

asio::awaitable<std::shared_ptr<job>> redis_repository::async_find(std::string id) {
  if (!job_id::well_formed(id)) co_return nullptr;
  if (const auto seq = job_id::seq_of(id)) {
    if (const auto it = settling_.find(*seq); it != settling_.end() && it->second->id == id)
      co_return it->second;
  }
  std::vector<std::string> keys{job_key(id), events_key(id)};
  std::vector<std::string> args{"0"};
  auto reply = co_await connection_->async_script(redis_scripts::read, std::move(keys), std::move(args));
  if (!reply || !reply->is_array() || reply->elements.size() != 2) {
    if (!reply)
      log(log_level::warn, "redis store: a read failed", {{"job", id}, {"error", reply.error().message}});
    co_return nullptr;
  }
  if (reply->elements[0].elements.empty()) co_return nullptr;
  try {
    co_return read_job(reply->elements[0], &reply->elements[1]);
  } catch (const std::exception& e) {
    log(log_level::error, "redis store: an unreadable job", {{"job", id}, {"error", e.what()}});
    co_return nullptr;
  }
}

asio::awaitable<std::shared_ptr<job>> redis_repository::async_find_by_key(std::string key) {
  std::vector<std::string> get{"GET", idempotency_key(key)};
  auto id = co_await connection_->async_exec(std::move(get));
  if (!id || !id->string()) co_return nullptr;
  co_return co_await async_find(std::string{*id->string()});
}

asio::awaitable<proto::result<proto::job_page>> redis_repository::async_list(job_filter filter) {
  std::uint64_t after = filter.newest_first ? (std::uint64_t{1} << 53) : 0;
  if (filter.after) {
    const auto seq = job_id::seq_of(*filter.after);
    if (!seq) co_return proto::job_page{};
    after = *seq;
  }
  const auto limit = std::clamp<std::size_t>(filter.limit, 1, job_filter::max_limit);
  std::vector<std::string> keys{jobs_index};
  std::vector<std::string> args{std::to_string(after),
                                filter.newest_first ? "1" : "0",
                                filter.state ? std::to_string(static_cast<int>(*filter.state)) : "",
                                filter.type.value_or(""),
                                std::to_string(limit),
                                filter.with_results ? "1" : "0",
                                std::to_string(list_scan_cap)};
  auto reply = co_await connection_->async_script(redis_scripts::list, std::move(keys), std::move(args));
  if (!reply) co_return reply.error();
  if (reply->is_error() || !reply->is_array() || reply->elements.empty()) co_return unreadable(reply->text);
  proto::job_page page;
  std::size_t bytes = 0;
  const auto& found = reply->elements;
  try {
    for (std::size_t i = 1; i + 1 < found.size(); i += 2) {
      const auto& frame = found[i + 1].text;
      const auto cost = job_filter::estimated_bytes(frame.size());
      if (page.jobs.size() == limit || (!page.jobs.empty() && bytes + cost > job_filter::max_page_bytes)) {
        page.next = page.jobs.back().id;
        co_return page;
      }
      bytes += cost;
      auto j = read_job(found[i], nullptr);
      if (!frame.empty()) j->result = job_result::from_frame(std::make_shared<const std::string>(frame));
      auto view = j->view(filter.with_results);
      page.jobs.push_back(std::move(view));
    }
  } catch (const std::exception& e) {
    co_return unreadable(e.what());
  }
  // The scan stopped at its cap before the index ended: the listing continues after the last job looked at.
  if (!found[0].text.empty()) {
    if (const auto cursor = to_int(found[0].text); cursor && *cursor > 0)
      page.next = job_id::make(static_cast<std::uint64_t>(*cursor), 0);
  }
  co_return page;
}

asio::awaitable<void> redis_repository::async_flush() {
  // Replies come in order: once PING's is back, every write sent before it was applied.
  send_adds();
  send_writes(std::exchange(writes_, {}));
  std::vector<std::string> ping{"PING"};
  co_await connection_->async_exec(std::move(ping));
}

std::size_t redis_repository::evict(time_point, std::size_t limit) {
  if (evicting_ || !connection_->ready()) return 0;
  evicting_ = true;
  std::vector<std::string> keys{finished_index, jobs_index};
  std::vector<std::string> args{
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(options_.retain_for).count()),
      std::to_string(options_.retain_jobs), std::to_string(limit)};
  connection_->send_script(redis_scripts::evict, std::move(keys), std::move(args),
                           [this, alive = std::weak_ptr<void>{lifetime_}](proto::result<redis_reply> r) {
                             if (!alive.lock()) return;
                             evicting_ = false;
                             if (r && r->is_array() && r->elements.size() == 2 && r->elements[1].as_integer())
                               finished_ = static_cast<std::size_t>(*r->elements[1].as_integer());
                           });
  // The deletions happen in Redis, in the background of this call: one slice per sweep.
  return 0;
}

std::optional<proto::error> redis_repository::health() const {
  if (connection_->ready()) return std::nullopt;
  return proto::error{
      errc::storage_unavailable,
      "the Redis store (" + describe() + ") is unreachable" +
          (connection_->last_error().empty() ? std::string{} : ": " + connection_->last_error())};
}

void redis_repository::close() {
  if (connection_) connection_->stop();
  if (subscriber_) subscriber_->stop();
}

namespace {

/// A job from a claim or take reply: {id, token, fields, events}.
proto::result<std::shared_ptr<job>> claimed_from(const redis_reply& r, auto read) {
  if (!r.is_array() || r.elements.size() != 4) return unreadable("a claim without its job");
  try {
    auto j = read(r.elements[2], &r.elements[3]);
    j->claim = static_cast<std::uint64_t>(r.elements[1].as_integer().value_or(0));
    return j;
  } catch (const std::exception& e) {
    return unreadable(e.what());
  }
}

}  // namespace

asio::awaitable<proto::result<claim_result>> redis_repository::async_claim(std::vector<std::string> queues,
                                                                           std::size_t limit,
                                                                           std::vector<std::size_t> at_most,
                                                                           std::size_t to_run) {
  limit = std::max<std::size_t>(limit, 1);
  std::vector<std::string> args{options_.node, std::to_string(options_.lease.count()), std::to_string(limit),
                                std::to_string(held_from_), std::to_string(to_run)};
  for (std::size_t i = 0; i < queues.size(); ++i)
    args.push_back(std::to_string(i < at_most.size() ? at_most[i] : limit));
  queues.push_back(delayed_index);
  queues.push_back(running_index);
  auto reply = co_await connection_->async_script(redis_scripts::claim, std::move(queues), std::move(args));
  if (!reply) co_return reply.error();
  if (reply->is_error() || !reply->is_array() || reply->elements.empty()) co_return unreadable(reply->text);
  claim_result out;
  if (reply->elements.size() == 1) {
    if (const auto due = reply->elements[0].as_integer())
      out.next_due =
          clock::time_point{std::chrono::duration_cast<clock::duration>(std::chrono::milliseconds{*due})};
    co_return out;
  }
  std::vector<std::pair<std::string, std::uint64_t>> unknown;
  for (std::size_t i = 1; i < reply->elements.size(); ++i) {
    const auto& r = reply->elements[i];
    if (r.is_array() && r.elements.size() == 2) {
      // {id, token}: a job this node added, unchanged since.
      const auto& id = r.elements[0].text;
      const auto claim = static_cast<std::uint64_t>(r.elements[1].as_integer().value_or(0));
      auto j = unhold(id);
      if (!j) {
        unknown.emplace_back(id, claim);
        continue;
      }
      j->claim = claim;
      j->owner = options_.node;
      remember_record(*j);
      out.claimed.push_back(std::move(j));
      continue;
    }
    auto j = claimed_from(r, [this](const redis_reply& f, const redis_reply* e) { return read_job(f, e); });
    if (!j) co_return j.error();
    unhold((*j)->id);
    remember_record(**j);
    out.claimed.push_back(std::move(*j));
  }
  // Not held after all (a node of the same name that ran before, say): read from Redis. One that cannot be
  // read stays claimed by this node until its lease passes, and is then taken over like any other.
  for (auto& [id, claim] : unknown) {
    auto j = co_await async_read(id, 0);
    if (!j) {
      log(log_level::warn, "redis store: a claimed job could not be read; it runs once its lease passes",
          {{"job", id}});
      continue;
    }
    j->claim = claim;
    remember_record(*j);
    out.claimed.push_back(std::move(j));
  }
  co_return out;
}

asio::awaitable<proto::result<std::shared_ptr<job>>> redis_repository::async_take(std::string id,
                                                                                  take_reason why) {
  std::vector<std::string> keys{job_key(id), running_index, delayed_index};
  std::vector<std::string> args{options_.node, std::to_string(options_.lease.count()), id,
                                why == take_reason::expired ? "expired" : "queued"};
  auto reply = co_await connection_->async_script(redis_scripts::take, std::move(keys), std::move(args));
  if (!reply) co_return reply.error();
  if (reply->is_error() || !reply->is_array() || reply->elements.empty()) co_return unreadable(reply->text);
  if (reply->elements[0].text.empty()) co_return std::shared_ptr<job>{};
  unhold(id);
  // job_reply, then whether the attempt of the node that held the job may have begun.
  if (reply->elements.size() != 5) co_return unreadable("a take without its job");
  const bool begun = reply->elements[4].as_integer().value_or(0) == 1;
  reply->elements.pop_back();
  auto taken =
      claimed_from(*reply, [this](const redis_reply& f, const redis_reply* e) { return read_job(f, e); });
  if (!taken) co_return taken;
  (*taken)->may_have_begun = begun;
  remember_record(**taken);
  co_return taken;
}

asio::awaitable<proto::result<std::vector<std::string>>> redis_repository::async_expired(std::size_t limit) {
  std::vector<std::string> keys{running_index};
  std::vector<std::string> args{std::to_string(limit)};
  auto reply = co_await connection_->async_script(redis_scripts::expired, std::move(keys), std::move(args));
  if (!reply) co_return reply.error();
  if (reply->is_error()) co_return unreadable(reply->text);
  std::vector<std::string> ids;
  for (auto& e : reply->elements)
    ids.push_back(std::move(e.text));
  co_return ids;
}

asio::awaitable<proto::result<std::vector<std::string>>> redis_repository::async_renew(
    std::vector<std::pair<std::string, std::uint64_t>> owned) {
  std::vector<std::string> keys{running_index};
  std::vector<std::string> args{options_.node, std::to_string(options_.lease.count())};
  for (auto& [id, claim] : owned) {
    args.push_back(std::move(id));
    args.push_back(std::to_string(claim));
  }
  auto reply = co_await connection_->async_script(redis_scripts::renew, std::move(keys), std::move(args));
  if (!reply) co_return reply.error();
  if (reply->is_error()) co_return unreadable(reply->text);
  std::vector<std::string> lost;
  for (auto& e : reply->elements) {
    if (const auto seq = job_id::seq_of(e.text)) {
      records_.erase(*seq);
      kept_from_dropped_.erase(*seq);
    }
    lost.push_back(std::move(e.text));
  }
  co_return lost;
}

void redis_repository::request_cancel(const std::string& owner, const std::string& id) {
  std::vector<std::string> publish{"PUBLISH", "offload:node:" + owner, id};
  connection_->send(std::move(publish), [](proto::result<redis_reply>) {});
}

asio::awaitable<std::shared_ptr<job>> redis_repository::async_read(std::string id, std::uint64_t after) {
  if (!job_id::well_formed(id)) co_return nullptr;
  std::vector<std::string> keys{job_key(id), events_key(id)};
  std::vector<std::string> args{std::to_string(after)};
  auto reply = co_await connection_->async_script(redis_scripts::read, std::move(keys), std::move(args));
  if (!reply || !reply->is_array() || reply->elements.size() != 2 || reply->elements[0].elements.empty())
    co_return nullptr;
  try {
    co_return read_job(reply->elements[0], &reply->elements[1]);
  } catch (const std::exception& e) {
    log(log_level::error, "redis store: an unreadable job", {{"job", id}, {"error", e.what()}});
    co_return nullptr;
  }
}

asio::awaitable<proto::result<cluster_stats>> redis_repository::async_heartbeat(
    std::vector<std::pair<proto::lane, std::string>> queues) {
  std::vector<std::string> keys{"offload:nodes"};
  // A node is alive for three leases after its last heartbeat.
  std::vector<std::string> args{options_.node, std::to_string(3 * options_.lease.count())};
  for (auto& [lane, queue] : queues) {
    keys.push_back(std::move(queue));
    args.push_back(std::to_string(static_cast<int>(lane)));
  }
  auto reply = co_await connection_->async_script(redis_scripts::heartbeat, std::move(keys), std::move(args));
  if (!reply) co_return reply.error();
  if (reply->is_error() || reply->elements.size() != 3) co_return unreadable(reply->text);
  cluster_stats stats;
  stats.nodes_alive = static_cast<std::size_t>(reply->elements[0].as_integer().value_or(0));
  stats.queued[0] = static_cast<std::size_t>(reply->elements[1].as_integer().value_or(0));
  stats.queued[1] = static_cast<std::size_t>(reply->elements[2].as_integer().value_or(0));
  co_return stats;
}

}  // namespace offload::core
