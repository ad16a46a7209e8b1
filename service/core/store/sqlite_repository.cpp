// The SQLite repository: schema, the store thread's group commits, and the conversions between jobs and rows.
#include "core/store/sqlite_repository.hpp"

#include "core/job_id.hpp"
#include "core/logger.hpp"
#include "core/store/job_codec.hpp"
#include "core/store/sqlite_connection.hpp"
#include "core/thread_name.hpp"
#include "core/thread_policy.hpp"

#include <offload/asio_support.hpp>
#include <offload/proto/json_parse.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>
#include <unordered_set>

namespace offload::core {
namespace {

using proto::errc;

// 'OFLD': tells an Offload database from any other SQLite file.
constexpr std::int64_t application_id = 0x4f464c44;
constexpr std::int64_t schema_version = 1;
// How long the store thread waits before trying failed writes again.
constexpr auto retry_interval = std::chrono::seconds{1};
// Group commit under load: when the previous commit ended less than `linger_after` ago and nobody awaits
// any of the pending operations (they are all write-behind: a job started, progressed, finished), the store
// thread waits up to `linger` for more before it commits; an operation somebody awaits (a submission, a
// read, the events of a job that somebody follows: they are published once committed) or `linger_below`
// pending operations end the wait at once. Each commit writes every page it touched, and a group of a few
// jobs touches nearly as many pages as a group of many.
constexpr auto linger = std::chrono::microseconds{150};
constexpr auto linger_after = std::chrono::milliseconds{2};
constexpr std::size_t linger_below = 64;
// Finished jobs deleted from disk per retention pass (one transaction on the store thread).
constexpr std::int64_t eviction_slice = 20000;

constexpr const char* schema = R"sql(
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  lane INTEGER NOT NULL,
  pool INTEGER NOT NULL,
  spec TEXT NOT NULL,
  idempotency_key TEXT,
  created_at INTEGER NOT NULL,
  state INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  attempt INTEGER NOT NULL,
  not_before INTEGER,
  earlier_errors TEXT,
  progress TEXT,
  error TEXT,
  output_logged INTEGER NOT NULL,
  output_truncated INTEGER NOT NULL,
  bytes INTEGER NOT NULL DEFAULT 0
);
-- Partial indexes, so that the common path (a job that is queued, runs and succeeds) touches few pages:
-- unfinished jobs (recovery, queued/running listings), jobs that ended badly (the dead-letter listing),
-- finished jobs by age (retention), and the keys that were given.
CREATE INDEX jobs_unfinished ON jobs (state, seq) WHERE state < 2;
CREATE INDEX jobs_ended_badly ON jobs (state, seq) WHERE state > 2;
CREATE INDEX jobs_by_finish ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE UNIQUE INDEX jobs_by_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta VALUES ('finished_bytes', 0);
-- The bytes of finished jobs (spec and log), kept in step with every finish and deletion, for --retain-bytes.
CREATE TRIGGER count_finished_bytes AFTER UPDATE OF finished_at ON jobs
  WHEN old.finished_at IS NULL AND new.finished_at IS NOT NULL
  BEGIN UPDATE meta SET value = value + new.bytes WHERE key = 'finished_bytes'; END;
CREATE TRIGGER uncount_finished_bytes AFTER DELETE ON jobs
  WHEN old.finished_at IS NOT NULL
  BEGIN UPDATE meta SET value = value - old.bytes WHERE key = 'finished_bytes'; END;
CREATE TABLE events (
  job INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  type INTEGER NOT NULL,
  frame TEXT NOT NULL,
  PRIMARY KEY (job, seq)
) WITHOUT ROWID;
)sql";

// Every column a job is read back from, in this order; a succeeded job's result is read from its terminal
// event (stored once, as sent), and the last column is the newest event's seq.
#define OFFLOAD_JOB_COLUMNS_WITH(result)                                                               \
  "seq, id, type, lane, pool, spec, created_at, state, started_at, finished_at, attempt, not_before, " \
  "earlier_errors, progress, " result                                                                  \
  ", "                                                                                                 \
  "error, output_logged, output_truncated, (SELECT max(e.seq) FROM events e WHERE e.job = jobs.seq)"
#define OFFLOAD_JOB_COLUMNS                                                   \
  OFFLOAD_JOB_COLUMNS_WITH(                                                   \
      "CASE WHEN state = 2 THEN (SELECT e.frame FROM events e WHERE e.job = " \
      "jobs.seq ORDER BY e.seq DESC LIMIT 1) END")
// A listing's summaries: the same columns without the result.
#define OFFLOAD_SUMMARY_COLUMNS OFFLOAD_JOB_COLUMNS_WITH("NULL")

using clock = job::clock;

struct event_row {
  std::int64_t seq;
  std::int64_t type;
  std::shared_ptr<const std::string> frame;
};

std::vector<event_row> make_event_rows(std::span<const logged_event> events) {
  std::vector<event_row> rows;
  rows.reserve(events.size());
  for (const auto& e : events)
    rows.push_back({static_cast<std::int64_t>(e.seq), static_cast<std::int64_t>(e.type), e.frame});
  return rows;
}

// Writes a job's record; when it is finished, also its size on disk (spec and log), which retention counts.
void write_record(sqlite_connection& db, const stored_record& r) {
  auto& update = db.prepared(
      "UPDATE jobs SET state = ?2, started_at = ?3, finished_at = ?4, attempt = ?5, not_before = ?6, "
      "earlier_errors = ?7, progress = ?8, error = ?9, output_logged = ?10, output_truncated = ?11, "
      "bytes = CASE WHEN ?4 IS NULL THEN 0 ELSE length(CAST(spec AS BLOB)) + coalesce((SELECT "
      "sum(length(CAST(e.frame AS BLOB))) FROM events e WHERE e.job = ?1), 0) END "
      "WHERE seq = ?1");
  update.bind(1, r.seq)
      .bind(2, r.state)
      .bind(3, r.started_at)
      .bind(4, r.finished_at)
      .bind(5, r.attempt)
      .bind(6, r.not_before)
      .bind(7, r.earlier_errors)
      .bind(8, r.progress)
      .bind(9, r.error)
      .bind(10, r.output_logged)
      .bind(11, std::int64_t{r.output_truncated});
  update.run();
}

void write_events(sqlite_connection& db, std::int64_t job_seq, const std::vector<event_row>& events) {
  auto& insert = db.prepared("INSERT OR REPLACE INTO events (job, seq, type, frame) VALUES (?1, ?2, ?3, ?4)");
  for (const auto& e : events) {
    insert.bind(1, job_seq).bind(2, e.seq).bind(3, e.type).bind(4, std::string_view{*e.frame});
    insert.run();
  }
}

// Puts a stored job's log back, in order.
void load_events(sqlite_connection& db, job& j) {
  auto& events = db.prepared("SELECT seq, type, frame FROM events WHERE job = ?1 ORDER BY seq");
  events.bind(1, static_cast<std::int64_t>(j.seq));
  while (events.step())
    j.events.restore(static_cast<std::uint64_t>(events.int64(0)),
                     static_cast<proto::event_type>(events.int64(1)), events.text(2));
}

// A job from a row of OFFLOAD_JOB_COLUMNS; with its events when `with_events`.
std::shared_ptr<job> read_job(sqlite_connection& db, const sqlite_statement& row, bool with_events) {
  auto j = std::make_shared<job>();
  // A job that was unfinished runs (or ends) again here: its new events wait for their commit.
  j->events.publish_when_stored();
  j->seq = static_cast<std::uint64_t>(row.int64(0));
  j->id = row.text(1);
  j->lane = static_cast<proto::lane>(row.int64(3));
  j->pool = static_cast<slot_pool>(row.int64(4));
  auto spec = proto::parse_job_spec_text(row.text(5));
  if (!spec) throw std::runtime_error{"job " + j->id + " has an unreadable spec: " + spec.error().message};
  j->spec = std::move(*spec);
  j->created_at = from_micros(row.int64(6));
  stored_record r;
  r.state = row.int64(7);
  r.started_at = row.optional_int64(8);
  r.finished_at = row.optional_int64(9);
  r.attempt = row.int64(10);
  r.not_before = row.optional_int64(11);
  r.earlier_errors = row.optional_text(12);
  r.progress = row.optional_text(13);
  r.error = row.optional_text(15);
  r.output_logged = row.int64(16);
  r.output_truncated = row.int64(17) != 0;
  r.apply_to(*j);
  if (auto frame = row.optional_text(14))
    j->result = job_result::from_frame(std::make_shared<const std::string>(std::move(*frame)));
  j->stored = true;
  if (with_events) load_events(db, *j);
  return j;
}

// A listing row's view: the job without its events, with the newest event's seq from the row.
proto::job_view read_view(sqlite_connection& db, const sqlite_statement& row) {
  auto v = read_job(db, row, false)->view();
  v.last_seq = static_cast<std::uint64_t>(row.optional_int64(18).value_or(0));
  return v;
}

std::shared_ptr<job> find_one(sqlite_connection& db, const char* sql, auto bind) {
  auto& query = db.prepared(sql);
  bind(query);
  if (!query.step()) return nullptr;
  auto j = read_job(db, query, false);
  query.reset();
  load_events(db, *j);
  return j;
}

proto::error storage_error(const std::string& path, const std::string& what) {
  return proto::error{errc::storage_unavailable, "the job store (" + path + ") cannot write: " + what};
}

// Opens the database and checks that it is an Offload database of a version this build reads; an empty
// file becomes one. Throws sqlite_error, or std::runtime_error for a foreign file.
std::unique_ptr<sqlite_connection> open_database(const std::string& path, bool full_sync) {
  auto db = std::make_unique<sqlite_connection>(path);
  // Reading the header is the first thing that fails on a file that is not an SQLite database.
  const auto app = db->query_int("PRAGMA application_id");
  const auto tables = db->query_int("SELECT count(*) FROM sqlite_schema");
  if (app == 0 && tables == 0) {
    // 1 KiB pages rather than SQLite's 4 KiB: a commit writes every page it touched to the log, and a group
    // of small job rows touches a few pages of each table and index, so the log takes a quarter of the bytes
    // per commit (measured: offloadd's CPU per job and the data directory's size both went down). Fixed at
    // creation: an existing database keeps its own.
    db->exec("PRAGMA page_size = 1024");
    db->exec("PRAGMA journal_mode = WAL");
    db->exec("BEGIN IMMEDIATE");
    db->exec(schema);
    db->exec(("PRAGMA application_id = " + std::to_string(application_id)).c_str());
    db->exec(("PRAGMA user_version = " + std::to_string(schema_version)).c_str());
    db->exec("COMMIT");
  } else if (app != application_id) {
    throw std::runtime_error{path +
                             " is an SQLite database of another application; offloadd does not "
                             "touch it (move it away, or point --data-dir elsewhere)"};
  } else if (const auto version = db->query_int("PRAGMA user_version"); version != schema_version) {
    throw std::runtime_error{path + " has schema version " + std::to_string(version) +
                             "; this offloadd reads " + std::to_string(schema_version)};
  }
  db->exec("PRAGMA journal_mode = WAL");
  // Someone reading the file with the sqlite3 shell may hold its lock for a moment: wait, do not fail.
  db->exec("PRAGMA busy_timeout = 5000");
  // Checkpoints (which copy the log into the database and sync both) would be the store thread's pauses:
  // a checkpointer thread of its own runs them instead, passively, next to the commits.
  db->exec("PRAGMA wal_autocheckpoint = 0");
  db->exec("PRAGMA journal_size_limit = 67108864");
  db->exec(full_sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  // A structural check of the pages that hold the schema and the first rows: a corrupt file is found at
  // start, not by the first request that touches it.
  db->exec("SELECT count(*) FROM jobs WHERE seq = (SELECT max(seq) FROM jobs)");
  return db;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Operations

struct sqlite_repository::operation {
  enum class kind {
    /// Stores a new job: refused (not retried) when its transaction fails.
    add,
    /// Write-behind: kept and retried until it is stored.
    write,
    /// A read (or a flush): answered with a failure when its transaction fails.
    read,
  };

  explicit operation(kind k) : what(k) {}
  virtual ~operation() = default;
  /// On the store thread, inside the batch's transaction. Throws sqlite_error (or another exception for
  /// unreadable data: then only this operation fails).
  virtual void run(sqlite_connection& db) = 0;
  /// On the store thread, after the transaction: with the failure, if it failed. True when the operation
  /// has something to deliver on the reactor.
  virtual bool complete(const std::optional<proto::error>& failure) = 0;
  /// On the reactor: hands the value over (resumes the awaiting coroutine).
  virtual void deliver() {}

  kind what;
  /// A write somebody waits for (a subscriber of its job's events, a `?wait`): no linger before its commit.
  bool awaited = false;
  /// The job whose record this operation writes, if it writes one (so that an earlier write of the same
  /// record in the same batch can be skipped: the last one wins anyway).
  virtual std::optional<std::int64_t> record_of() const { return std::nullopt; }
  /// Skips the record write (a later operation in the batch writes a newer one); events are still written.
  virtual void skip_record() {}

  /// Set when this operation alone failed (a constraint, unreadable data).
  std::optional<proto::error> own_failure;
};

namespace {

// Write-behind of a job's record and new events. Once committed, the events are published to the job's
// subscribers (on the reactor).
struct save_operation final : sqlite_repository::operation {
  save_operation(std::int64_t job, std::optional<stored_record> r, std::vector<event_row> e,
                 event_log::stored_mark m)
      : operation(kind::write), seq(job), row(std::move(r)), events(std::move(e)), mark(std::move(m)) {}
  void run(sqlite_connection& db) override {
    // Events first: a finished record counts the bytes of its whole log.
    write_events(db, seq, events);
    if (row) write_record(db, *row);
  }
  // Only called once the transaction committed (a write that failed is kept and tried again).
  bool complete(const std::optional<proto::error>&) override { return static_cast<bool>(mark); }
  void deliver() override { mark(); }
  std::optional<std::int64_t> record_of() const override { return row ? std::optional{seq} : std::nullopt; }
  void skip_record() override { row.reset(); }

  std::int64_t seq;
  std::optional<stored_record> row;
  std::vector<event_row> events;
  event_log::stored_mark mark;
};

// An operation whose value (or failure) completes an awaiting coroutine on the reactor.
template <class R, class Fn, class Fail, class Handler>
struct call_operation final : sqlite_repository::operation {
  call_operation(kind k, Fn f, Fail fl, Handler h)
      : operation(k), fn(std::move(f)), fail(std::move(fl)), handler(std::move(h)) {}
  void run(sqlite_connection& db) override { value = fn(db); }
  bool complete(const std::optional<proto::error>& failure) override {
    if (failure) value = fail(*failure);
    if (own_failure) value = fail(*own_failure);
    return true;
  }
  // On the reactor, which is the awaiting coroutine's executor: resume it here.
  void deliver() override { std::move(handler)(std::move(value)); }
  Fn fn;
  Fail fail;
  Handler handler;
  R value{};
};

}  // namespace

// Retention on disk: the oldest finished jobs, as long as there are more than the count bound, they hold more
// bytes than the byte bound, or they are older than the age bound; at most `eviction_slice` per pass. Not
// retried: the next sweep tries again.
struct sqlite_repository::eviction final : operation {
  eviction(sqlite_repository* repo, std::int64_t excess, std::int64_t cutoff, bool sweep)
      : operation(kind::read), self(repo), excess(excess), cutoff(cutoff), sweep(sweep) {}

  void run(sqlite_connection& db) override {
    doomed.clear();
    auto bytes = db.query_int("SELECT value FROM meta WHERE key = 'finished_bytes'");
    const auto budget = static_cast<std::int64_t>(self->options_.retain_bytes);
    auto& oldest = db.prepared(
        "SELECT seq, finished_at, bytes FROM jobs WHERE finished_at IS NOT NULL ORDER BY finished_at LIMIT "
        "?1");
    oldest.bind(1, eviction_slice);
    while (oldest.step()) {
      if (static_cast<std::int64_t>(doomed.size()) >= excess && oldest.int64(1) > cutoff && bytes <= budget) {
        oldest.reset();
        break;
      }
      doomed.push_back(oldest.int64(0));
      bytes -= oldest.int64(2);
    }
    auto& events = db.prepared("DELETE FROM events WHERE job = ?1");
    auto& jobs = db.prepared("DELETE FROM jobs WHERE seq = ?1");
    for (const auto seq : doomed) {
      events.bind(1, seq).run();
      jobs.bind(1, seq).run();
    }
  }

  bool complete(const std::optional<proto::error>& failure) override {
    removed = failure || own_failure ? 0 : doomed.size();
    return true;
  }

  void deliver() override {
    // What is gone from disk is gone from the cache too.
    if (removed > 0)
      for (const auto seq : doomed)
        self->cache_.remove(static_cast<std::uint64_t>(seq));
    self->finished_ -= std::min(self->finished_, removed);
    self->evicting_count_ -= std::min(self->evicting_count_, static_cast<std::size_t>(excess));
    if (sweep) self->sweeping_ = false;
  }

  std::size_t removed = 0;

  sqlite_repository* self;
  std::int64_t excess;
  std::int64_t cutoff;
  bool sweep;
  std::vector<std::int64_t> doomed;
};

template <class R>
struct sqlite_repository::initiation {
  sqlite_repository* self;
  operation::kind what;

  template <class Handler, class Fn, class Fail>
  void operator()(Handler&& handler, Fn fn, Fail fail) const {
    self->enqueue(std::make_unique<call_operation<R, Fn, Fail, std::decay_t<Handler>>>(
        what, std::move(fn), std::move(fail), std::forward<Handler>(handler)));
  }
};

template <class R, class Fn, class Fail>
asio::awaitable<R> sqlite_repository::call(bool adds_a_job, Fn fn, Fail failed) {
  const initiation<R> init{this, adds_a_job ? operation::kind::add : operation::kind::read};
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(R)>(
      init, asio::use_awaitable, std::move(fn), std::move(failed));
}

void sqlite_repository::enqueue(std::unique_ptr<operation> op) {
  // Operations of one turn of the reactor reach the store thread together: one lock and at most one
  // wake-up per turn, not per operation.
  outbox_.push_back(std::move(op));
  if (outbox_posted_) return;
  outbox_posted_ = true;
  asio::post(reactor_, [this, alive = std::weak_ptr<void>{lifetime_}] {
    if (alive.lock()) hand_over();
  });
}

void sqlite_repository::hand_over() {
  outbox_posted_ = false;
  if (outbox_.empty()) return;
  bool wake = false;
  {
    const std::lock_guard lock{mutex_};
    // Counted before the store thread can take them (and count them off once committed).
    meter_.pending(static_cast<std::ptrdiff_t>(outbox_.size()));
    const auto before = pending_.size();
    const bool awaited_before = pending_awaited_ > 0;
    for (auto& op : outbox_) {
      if (op->what != operation::kind::write || op->awaited) ++pending_awaited_;
      pending_.push_back(std::move(op));
    }
    // The store thread takes everything pending at once: only the first of a burst needs to wake it, and
    // what ends its wait for more (the first awaited operation, or enough of them).
    wake = before == 0 || (!awaited_before && pending_awaited_ > 0) ||
           (before < linger_below && pending_.size() >= linger_below);
  }
  outbox_.clear();
  if (wake) wake_.notify_one();
}

// ---------------------------------------------------------------------------------------------------------
// Opening and closing

proto::result<std::unique_ptr<sqlite_repository>> sqlite_repository::open(asio::any_io_executor reactor,
                                                                          sqlite_options options) {
  const auto fail = [](std::string message) {
    return proto::error{errc::storage_unavailable, std::move(message)};
  };
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return fail("cannot create the data directory " + options.dir.string() + ": " + ec.message());
  const auto lock_path = (options.dir / lock_file).string();
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return fail("cannot write in the data directory " + options.dir.string() + ": " + lock_path + ": " +
                std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      return fail("the data directory " + options.dir.string() + " is in use by another offloadd (it holds " +
                  lock_path + ")");
    return fail("cannot lock " + lock_path + ": " + std::strerror(err));
  }
  const auto path = (options.dir / database_file).string();
  std::unique_ptr<sqlite_connection> db;
  try {
    db = open_database(path, options.full_sync);
  } catch (const sqlite_error& e) {
    ::close(fd);
    if (e.primary() == SQLITE_NOTADB || e.primary() == SQLITE_CORRUPT)
      return fail(path + " is not a readable Offload database (" + e.what() +
                  "); offloadd does not overwrite it: move it away to start afresh, or restore a backup");
    return fail("cannot open " + path + ": " + e.what());
  } catch (const std::exception& e) {
    ::close(fd);
    return fail(e.what());
  }
  return std::unique_ptr<sqlite_repository>{
      new sqlite_repository{std::move(reactor), std::move(options), fd, std::move(db)}};
}

sqlite_repository::sqlite_repository(asio::any_io_executor reactor, sqlite_options options, int lock_fd,
                                     std::unique_ptr<sqlite_connection> db)
    : reactor_(std::move(reactor)),
      options_(std::move(options)),
      path_((options_.dir / database_file).string()),
      lock_fd_(lock_fd),
      db_(std::move(db)),
      cache_(std::min(options_.cache_jobs, options_.retain_jobs), options_.retain_for, options_.cache_bytes),
      random_(std::random_device{}()) {
  sqlite3_wal_hook(db_->handle(), &sqlite_repository::on_wal_commit, this);
  checkpointer_ = std::thread{[this] { checkpoint_main(); }};
  thread_ = std::thread{[this] { thread_main(); }};
}

sqlite_repository::~sqlite_repository() {
  close();
}

void sqlite_repository::close() {
  if (!thread_.joinable()) return;
  // The reactor no longer runs: what it queued in its last turn goes to the store thread from here.
  hand_over();
  {
    const std::lock_guard lock{mutex_};
    closing_ = true;
  }
  wake_.notify_one();
  thread_.join();
  {
    const std::lock_guard lock{checkpoint_mutex_};
    checkpoint_closing_ = true;
  }
  checkpoint_wake_.notify_one();
  checkpointer_.join();
  // Closing the last connection checkpoints what is left and removes the log.
  db_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
}

std::string sqlite_repository::describe() const {
  return "sqlite:" + path_;
}

std::optional<proto::error> sqlite_repository::health() const {
  if (healthy_.load(std::memory_order_relaxed)) return std::nullopt;
  const std::lock_guard lock{mutex_};
  return storage_error(path_, failure_);
}

// ---------------------------------------------------------------------------------------------------------
// The checkpointer thread

int sqlite_repository::on_wal_commit(void* self, sqlite3*, const char*, int pages) {
  auto* repo = static_cast<sqlite_repository*>(self);
  // A smaller log than the last commit saw: it started over after a checkpoint.
  if (pages < repo->log_pages_) repo->checkpoint_at_ = checkpoint_pages;
  repo->log_pages_ = pages;
  if (pages < repo->checkpoint_at_) return SQLITE_OK;
  repo->checkpoint_at_ = pages + checkpoint_pages;
  if (!repo->checkpoint_wanted_.exchange(true)) {
    // Through the mutex, so the wake-up cannot fall between the checkpointer's check and its wait.
    { const std::lock_guard lock{repo->checkpoint_mutex_}; }
    repo->checkpoint_wake_.notify_one();
  }
  return SQLITE_OK;
}

void sqlite_repository::checkpoint_main() {
  name_this_thread("offload-ckpt");
  run_this_thread_as_batch_work();
  std::unique_ptr<sqlite_connection> db;
  try {
    db = std::make_unique<sqlite_connection>(path_);
    db->exec("PRAGMA busy_timeout = 5000");
    // A connection learns that the database is in WAL mode when it first reads it; until then a checkpoint
    // does nothing (and says -1 pages).
    db->query_int("PRAGMA journal_mode");
  } catch (const sqlite_error& e) {
    // Without it the log only grows until the store closes; say so, the store still works.
    log(log_level::error, "job store checkpointer cannot open the database", {{"what", e.what()}});
    return;
  }
  for (;;) {
    {
      std::unique_lock lock{checkpoint_mutex_};
      checkpoint_wake_.wait(lock, [this] { return checkpoint_closing_ || checkpoint_wanted_.load(); });
      if (checkpoint_closing_) return;
    }
    checkpoint_wanted_ = false;
    int logged = 0;
    int copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(db->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &logged, &copied);
    // Under a steady stream of commits a passive checkpoint never catches up with the end of the log, and
    // the log only starts over once it has: past the limit, one RESTART checkpoint holds the next commit
    // back for the little that is left, and the log is reused from its start.
    if (rc == SQLITE_OK && logged >= restart_pages)
      rc = sqlite3_wal_checkpoint_v2(db->handle(), nullptr, SQLITE_CHECKPOINT_RESTART, &logged, &copied);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      log(log_level::warn, "job store checkpoint failed", {{"what", sqlite3_errmsg(db->handle())}});
  }
}

// ---------------------------------------------------------------------------------------------------------
// The store thread

void sqlite_repository::thread_main() {
  name_this_thread("offload-store");
  // Handed a write, it runs once a CPU is free rather than preempting the reactor that handed it, which
  // goes on gathering the group's next writes meanwhile.
  run_this_thread_as_batch_work();
  std::vector<std::unique_ptr<operation>> retry;
  auto last_commit = std::chrono::steady_clock::time_point{};
  for (;;) {
    std::vector<std::unique_ptr<operation>> batch = std::move(retry);
    retry.clear();
    bool closing = false;
    {
      std::unique_lock lock{mutex_};
      if (batch.empty()) {
        wake_.wait(lock, [this] { return closing_ || !pending_.empty(); });
      } else {
        // Failed writes wait a moment (or for new work, which joins them) before the next try.
        wake_.wait_for(lock, retry_interval, [this] { return closing_ || !pending_.empty(); });
      }
      closing = closing_;
      // Under load, a moment's wait gathers a larger group of write-behind operations: fewer commits, and
      // far fewer pages written per job. Idle, or when somebody awaits the commit, nothing waits.
      if (!closing && pending_awaited_ == 0 && pending_.size() < linger_below &&
          std::chrono::steady_clock::now() - last_commit < linger_after)
        wake_.wait_for(lock, linger, [this] {
          return closing_ || pending_awaited_ > 0 || pending_.size() >= linger_below;
        });
      for (auto& op : pending_)
        batch.push_back(std::move(op));
      pending_.clear();
      pending_awaited_ = 0;
    }
    if (batch.empty() && closing) return;
    retry = run_batch(std::move(batch));
    last_commit = std::chrono::steady_clock::now();
    if (!retry.empty() && closing) {
      // One last try at shutdown; what still fails is reported, not silently dropped.
      retry = run_batch(std::move(retry));
      if (!retry.empty())
        log(log_level::error, "job store writes lost at shutdown",
            {{"writes", retry.size()},
             {"store", path_},
             {"hint", "the jobs they concern restart from their last stored state"}});
      const std::lock_guard lock{mutex_};
      if (pending_.empty()) return;
    }
  }
}

std::vector<std::unique_ptr<sqlite_repository::operation>> sqlite_repository::run_batch(
    std::vector<std::unique_ptr<operation>> batch) {
  // Under load a job's record changes several times per batch (queued, started, finished): write its last
  // state only.
  std::unordered_set<std::int64_t> newer;
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
    if (const auto seq = (*it)->record_of(); seq && !newer.insert(*seq).second) (*it)->skip_record();
  }
  std::optional<std::string> failed;
  const auto began = std::chrono::steady_clock::now();
  try {
    db_->exec("BEGIN IMMEDIATE");
    for (auto& op : batch) {
      try {
        op->run(*db_);
      } catch (const sqlite_error& e) {
        if (!e.statement_only()) throw;
        op->own_failure = proto::error{errc::internal, e.what()};
        log(log_level::error, "job store operation failed", {{"what", e.what()}});
      } catch (const std::exception& e) {
        // Unreadable data (a row this build cannot parse): this operation fails, the batch goes on.
        op->own_failure = proto::error{errc::internal, e.what()};
        log(log_level::error, "job store operation failed", {{"what", e.what()}});
      }
    }
    db_->exec("COMMIT");
  } catch (const sqlite_error& e) {
    failed = e.what();
    try {
      db_->exec("ROLLBACK");
    } catch (const sqlite_error&) {
      // No transaction left to roll back (SQLite already did).
    }
  }

  std::vector<std::unique_ptr<operation>> retry;
  if (!failed) {
    meter_.committed(std::chrono::steady_clock::now() - began, batch.size());
    meter_.pending(-static_cast<std::ptrdiff_t>(batch.size()));
    if (!healthy_.exchange(true)) log(log_level::info, "job store writes again", {{"store", path_}});
    deliver(std::move(batch), std::nullopt);
    return retry;
  }
  {
    const std::lock_guard lock{mutex_};
    failure_ = *failed;
  }
  if (healthy_.exchange(false))
    log(log_level::error, "job store cannot write; refusing new jobs until it can",
        {{"store", path_}, {"what", *failed}});
  std::vector<std::unique_ptr<operation>> answered;
  for (auto& op : batch) {
    if (op->what == operation::kind::write) {
      op->own_failure.reset();
      retry.push_back(std::move(op));
    } else {
      answered.push_back(std::move(op));
    }
  }
  meter_.failed();
  meter_.pending(-static_cast<std::ptrdiff_t>(answered.size()));
  deliver(std::move(answered), storage_error(path_, *failed));
  return retry;
}

void sqlite_repository::deliver(std::vector<std::unique_ptr<operation>> batch,
                                const std::optional<proto::error>& failure) {
  // One hand-over to the reactor per batch, not one per operation: a group commit of a thousand
  // submissions wakes the reactor once.
  std::vector<std::unique_ptr<operation>> answers;
  for (auto& op : batch)
    if (op->complete(failure)) answers.push_back(std::move(op));
  if (answers.empty()) return;
  // A store closed meanwhile (its owner went on with the reactor) has nobody left to answer.
  asio::post(reactor_, [alive = std::weak_ptr<void>{lifetime_}, answers = std::move(answers)]() {
    if (!alive.lock()) return;
    for (const auto& op : answers)
      op->deliver();
  });
}

// ---------------------------------------------------------------------------------------------------------
// The repository operations (reactor side)

asio::awaitable<proto::result<recovered_jobs>> sqlite_repository::async_recover() {
  struct loaded {
    recovered_jobs jobs;
    std::uint64_t max_seq = 0;
  };
  auto load = [](sqlite_connection& db) -> proto::result<loaded> {
    loaded out;
    out.max_seq = static_cast<std::uint64_t>(db.query_int("SELECT coalesce(max(seq), 0) FROM jobs"));
    out.jobs.finished =
        static_cast<std::size_t>(db.query_int("SELECT count(*) FROM jobs WHERE finished_at IS NOT NULL"));
    auto& query = db.prepared("SELECT " OFFLOAD_JOB_COLUMNS " FROM jobs WHERE state < 2 ORDER BY seq");
    while (query.step())
      out.jobs.unfinished.push_back(read_job(db, query, true));
    return out;
  };
  auto fail = [](const proto::error& e) -> proto::result<loaded> { return e; };
  auto result = co_await call<proto::result<loaded>>(false, std::move(load), std::move(fail));
  if (!result) co_return result.error();
  next_seq_ = result->max_seq + 1;
  finished_ = result->jobs.finished;
  co_return std::move(result->jobs);
}

std::shared_ptr<job> sqlite_repository::make(proto::job_spec spec, proto::lane lane, slot_pool pool) {
  auto j =
      new_job(next_seq_++, static_cast<std::uint32_t>(random_() & 0xffffffffu), std::move(spec), lane, pool);
  j->events.publish_when_stored();
  return j;
}

asio::awaitable<std::optional<proto::error>> sqlite_repository::async_add(std::shared_ptr<job> j) {
  struct insert {
    std::int64_t seq;
    std::string id, type;
    // Serialised on the store thread, not on the reactor.
    proto::job_spec spec;
    std::int64_t lane, pool, created_at;
    std::optional<std::string> key;
    stored_record record;
    std::vector<event_row> events;

    std::optional<proto::error> operator()(sqlite_connection& db) const {
      auto& add = db.prepared(
          "INSERT INTO jobs (seq, id, type, lane, pool, spec, idempotency_key, created_at, state, attempt, "
          "not_before, output_logged, output_truncated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
          "?11, 0, 0)");
      add.bind(1, seq)
          .bind(2, std::string_view{id})
          .bind(3, std::string_view{type})
          .bind(4, lane)
          .bind(5, pool)
          .bind(6, std::string_view{proto::dump_job_spec(spec)})
          .bind(7, key)
          .bind(8, created_at)
          .bind(9, record.state)
          .bind(10, record.attempt)
          .bind(11, record.not_before);
      add.run();
      write_events(db, seq, events);
      return std::nullopt;
    }
  };
  insert op{static_cast<std::int64_t>(j->seq),
            j->id,
            j->spec.type,
            j->spec,
            static_cast<std::int64_t>(j->lane),
            static_cast<std::int64_t>(j->pool),
            to_micros(j->created_at),
            j->spec.idempotency_key,
            stored_record::of(*j),
            make_event_rows(j->events.events())};
  auto fail = [](const proto::error& e) -> std::optional<proto::error> {
    // Every failure of an insert is the store's: the client may retry.
    return proto::error{errc::storage_unavailable, e.message};
  };
  co_return co_await call<std::optional<proto::error>>(true, std::move(op), std::move(fail));
}

void sqlite_repository::save(const job& j, std::span<const logged_event> appended, bool record) {
  if (!record && appended.empty()) return;
  auto op = std::make_unique<save_operation>(
      static_cast<std::int64_t>(j.seq),
      record ? std::optional<stored_record>{stored_record::of(j)} : std::nullopt, make_event_rows(appended),
      appended.empty() ? event_log::stored_mark{} : j.events.mark(appended.back().seq));
  // Somebody follows the job: its events are theirs once committed, so the commit does not linger.
  op->awaited = !appended.empty() && j.events.listener_count() > 0;
  enqueue(std::move(op));
}

void sqlite_repository::finished(std::shared_ptr<job> j) {
  ++finished_;
  const auto now = job::clock::now();
  cache_.add(j);
  cache_.mark_finished(*j);
  cache_.evict(now);
  // The count bound (and a zero age bound) apply at once, as in memory; the sweep handles the age bound.
  if (finished_ - std::min(finished_, evicting_count_) > options_.retain_jobs ||
      options_.retain_for.count() == 0)
    schedule_eviction(now, false);
}

std::shared_ptr<job> sqlite_repository::cached(std::shared_ptr<job> j) {
  if (!j) return j;
  if (auto known = cache_.find(j->id)) return known;
  if (!proto::is_terminal(j->state)) return j;  // an unfinished job's live copy is the service's
  cache_.add(j);
  cache_.mark_finished(*j);
  cache_.evict(job::clock::now());
  return j;
}

asio::awaitable<std::shared_ptr<job>> sqlite_repository::async_find(std::string id) {
  if (auto hit = cache_.find(id)) co_return hit;
  const auto seq = job_id::seq_of(id);
  if (!seq) co_return nullptr;
  auto read = [seq = static_cast<std::int64_t>(*seq), id](sqlite_connection& db) -> std::shared_ptr<job> {
    auto j = find_one(db, "SELECT " OFFLOAD_JOB_COLUMNS " FROM jobs WHERE seq = ?1",
                      [seq](sqlite_statement& q) { q.bind(1, seq); });
    // The random part of the id must match too: a guessed seq alone finds nothing.
    return j && j->id == id ? j : nullptr;
  };
  auto fail = [](const proto::error&) { return std::shared_ptr<job>{}; };
  auto found = co_await call<std::shared_ptr<job>>(false, std::move(read), std::move(fail));
  co_return cached(std::move(found));
}

asio::awaitable<std::shared_ptr<job>> sqlite_repository::async_find_by_key(std::string key) {
  if (auto hit = cache_.find_by_idempotency_key(key)) co_return hit;
  auto read = [key](sqlite_connection& db) -> std::shared_ptr<job> {
    return find_one(db, "SELECT " OFFLOAD_JOB_COLUMNS " FROM jobs WHERE idempotency_key = ?1",
                    [&key](sqlite_statement& q) { q.bind(1, std::string_view{key}); });
  };
  auto fail = [](const proto::error&) { return std::shared_ptr<job>{}; };
  auto found = co_await call<std::shared_ptr<job>>(false, std::move(read), std::move(fail));
  co_return cached(std::move(found));
}

asio::awaitable<proto::result<proto::job_page>> sqlite_repository::async_list(job_filter filter) {
  std::int64_t after = filter.newest_first ? std::numeric_limits<std::int64_t>::max() : 0;
  if (filter.after) {
    const auto seq = job_id::seq_of(*filter.after);
    if (!seq) co_return proto::job_page{};
    after = static_cast<std::int64_t>(*seq);
  }
  const auto limit =
      static_cast<std::int64_t>(std::clamp<std::size_t>(filter.limit, 1, job_filter::max_limit));
  auto read = [after, limit, filter](sqlite_connection& db) -> proto::result<proto::job_page> {
  // The state's own index where there is one (the literal bound lets SQLite use the partial index).
#define OFFLOAD_LIST_QUERY(columns, where, order)                                                  \
  "SELECT " columns " FROM jobs WHERE " where " AND (?3 IS NULL OR type = ?3) ORDER BY seq " order \
  " LIMIT "                                                                                        \
  "?4"
#define OFFLOAD_LIST_QUERIES(columns)                                                   \
  {                                                                                     \
    {OFFLOAD_LIST_QUERY(columns, "seq > ?1 AND (?2 IS NULL OR state = ?2)", "ASC"),     \
     OFFLOAD_LIST_QUERY(columns, "state < 2 AND state = ?2 AND seq > ?1", "ASC"),       \
     OFFLOAD_LIST_QUERY(columns, "state > 2 AND state = ?2 AND seq > ?1", "ASC")},      \
    {                                                                                   \
      OFFLOAD_LIST_QUERY(columns, "seq < ?1 AND (?2 IS NULL OR state = ?2)", "DESC"),   \
          OFFLOAD_LIST_QUERY(columns, "state < 2 AND state = ?2 AND seq < ?1", "DESC"), \
          OFFLOAD_LIST_QUERY(columns, "state > 2 AND state = ?2 AND seq < ?1", "DESC")  \
    }                                                                                   \
  }
    // [with results][newest first][the state's index]
    static constexpr const char* queries[2][2][3] = {OFFLOAD_LIST_QUERIES(OFFLOAD_SUMMARY_COLUMNS),
                                                     OFFLOAD_LIST_QUERIES(OFFLOAD_JOB_COLUMNS)};
#undef OFFLOAD_LIST_QUERIES
#undef OFFLOAD_LIST_QUERY
    const auto state = filter.state ? static_cast<int>(*filter.state) : -1;
    const auto index = state == -1 || state == 2 ? 0 : state < 2 ? 1 : 2;
    auto& query = db.prepared(queries[filter.with_results ? 1 : 0][filter.newest_first ? 1 : 0][index]);
    query.bind(1, after)
        .bind(2, filter.state ? std::optional<std::int64_t>{static_cast<std::int64_t>(*filter.state)}
                              : std::nullopt)
        .bind(3, filter.type)
        .bind(4, limit + 1);
    proto::job_page page;
    std::size_t bytes = 0;
    while (query.step()) {
      // The result's frame (when asked for) is the variable part of a row's size.
      const auto cost = job_filter::estimated_bytes(query.optional_text(14).value_or(std::string{}).size());
      if (static_cast<std::int64_t>(page.jobs.size()) == limit ||
          (!page.jobs.empty() && bytes + cost > job_filter::max_page_bytes)) {
        // One more match exists: the page is full and has a successor.
        page.next = page.jobs.back().id;
        query.reset();
        break;
      }
      bytes += cost;
      page.jobs.push_back(read_view(db, query));
    }
    return page;
  };
  auto fail = [](const proto::error& e) -> proto::result<proto::job_page> { return e; };
  co_return co_await call<proto::result<proto::job_page>>(false, std::move(read), std::move(fail));
}

asio::awaitable<void> sqlite_repository::async_flush() {
  auto nothing = [](sqlite_connection&) { return true; };
  auto fail = [](const proto::error&) { return false; };
  co_await call<bool>(false, std::move(nothing), std::move(fail));
}

void sqlite_repository::schedule_eviction(time_point now, bool sweep) {
  // Jobs beyond the count bound, net of those that evictions already queued will delete.
  const auto kept = finished_ - std::min(finished_, evicting_count_);
  const std::size_t excess = kept > options_.retain_jobs ? kept - options_.retain_jobs : 0;
  evicting_count_ += excess;
  enqueue(std::make_unique<eviction>(this, static_cast<std::int64_t>(excess),
                                     to_micros(now - options_.retain_for), sweep));
}

std::size_t sqlite_repository::evict(time_point now, std::size_t limit) {
  const auto freed = cache_.evict(now, limit);
  // One pass of the sweep in flight at a time; it handles the age bound (and whatever the count bound left).
  if (!sweeping_) {
    sweeping_ = true;
    schedule_eviction(now, true);
  }
  return freed;
}

}  // namespace offload::core
