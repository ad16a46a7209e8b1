#include "core/store/redis/redis_connection.hpp"

#include "core/logger.hpp"
#include "core/store/redis/redis_args.hpp"

#include <offload/asio_support.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <charconv>
#include <deque>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

namespace offload::core {
namespace {

using clock = std::chrono::steady_clock;

redis_reply convert(const redisReply& r) {
  redis_reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = redis_reply::kind::string;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = redis_reply::kind::status;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = redis_reply::kind::error;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = redis_reply::kind::integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = redis_reply::kind::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i)
        out.elements.push_back(convert(*r.element[i]));
      break;
    default:
      break;
  }
  return out;
}

/// Something waiting for one reply: hiredis holds it (as its callback's privdata) until the reply comes or
/// the connection ends (then with no reply).
struct pending_reply {
  virtual ~pending_reply() = default;
  virtual void complete(proto::result<redis_reply> r) = 0;
};

struct callback_reply final : pending_reply {
  callback_reply(asio::any_io_executor ex, std::function<void(proto::result<redis_reply>)> fn)
      : executor(std::move(ex)), done(std::move(fn)) {}
  void complete(proto::result<redis_reply> r) override {
    asio::post(executor, [fn = std::move(done), r = std::move(r)]() mutable { fn(std::move(r)); });
  }
  asio::any_io_executor executor;
  std::function<void(proto::result<redis_reply>)> done;
};

template <class Handler>
struct reply_handler final : pending_reply {
  explicit reply_handler(Handler h) : handler(std::move(h)) {}
  // Posted, never run inside hiredis's callback: what the handler does next (another command, a stop) then
  // never re-enters hiredis.
  void complete(proto::result<redis_reply> r) override {
    asio::post(asio::append(std::move(handler), std::move(r)));
  }
  Handler handler;
};

proto::error unavailable(const std::string& why) {
  return {proto::errc::storage_unavailable, why};
}

}  // namespace

std::optional<std::int64_t> redis_reply::as_integer() const noexcept {
  if (type == kind::integer) return integer;
  if (type != kind::string || text.empty() || text.size() > 20) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

/// One hiredis connection, from `redisAsyncConnect` until hiredis frees its context (its `cleanup` hook).
/// Shared by the state and by every wait on its socket, so a wait that completes after the context is gone
/// finds `freed` set instead of a dangling context.
struct redis_link : std::enable_shared_from_this<redis_link> {
  redis_link(asio::any_io_executor ex, redisAsyncContext* c) : context(c), socket(ex), ended(ex) {
    ended.expires_at(clock::time_point::max());
  }

  redisAsyncContext* context;
  asio::posix::stream_descriptor socket;
  /// Cancelled when the link ends.
  asio::steady_timer ended;
  bool reading = false, writing = false;
  bool read_waiting = false, write_waiting = false;
  /// Inside `flush`: hiredis's `addWrite` then means "the socket took only part".
  bool flushing = false;
  bool freed = false;
  bool aborting = false;
  bool ready = false;
  bool watching = false;
  /// Replies still expected during log-in (log-in, database, name, scripts, subscriptions).
  std::size_t handshake = 0;
  clock::time_point connect_deadline{};
  /// When each command awaiting its reply must have it, oldest first (replies come in order).
  std::deque<clock::time_point> deadlines;
  std::string reason;
};

struct redis_connection::state : std::enable_shared_from_this<redis_connection::state> {
  state(asio::any_io_executor ex, redis_connection_options o)
      : reactor(ex),
        options(std::move(o)),
        backoff_timer(ex),
        ready_signal(ex),
        next_backoff(options.min_backoff) {
    ready_signal.expires_at(clock::time_point::max());
    shas.resize(options.scripts.size());
  }

  asio::any_io_executor reactor;
  redis_connection_options options;
  asio::steady_timer backoff_timer;
  /// Cancelled (waking every `async_wait_ready`) each time the connection becomes ready.
  asio::steady_timer ready_signal;
  std::shared_ptr<redis_link> link;
  std::vector<std::string> shas;
  bool started = false;
  bool stopping = false;
  bool outage_logged = false;
  std::string last_error;
  redis_connection_stats stats;
  std::chrono::milliseconds next_backoff;

  bool ready() const noexcept { return link && link->ready && !link->freed; }
  std::string where() const { return options.endpoint.describe(); }

  static asio::awaitable<void> run(std::shared_ptr<state> self);
  /// Connects and returns when the link ends: whether it had been ready.
  asio::awaitable<bool> connect_once();
  static asio::awaitable<void> watch(std::shared_ptr<state> self, std::shared_ptr<redis_link> l);
  void attach(const std::shared_ptr<redis_link>& l);
  void send_handshake(const std::shared_ptr<redis_link>& l);
  void handshake_reply(const std::shared_ptr<redis_link>& l, const proto::result<redis_reply>& r);
  void abort(const std::shared_ptr<redis_link>& l, std::string why);
  void ensure_watch(const std::shared_ptr<redis_link>& l);
  static void start_read(const std::shared_ptr<redis_link>& l);
  static void start_write(const std::shared_ptr<redis_link>& l);
  static void wait_writable(const std::shared_ptr<redis_link>& l);
  /// Writes what hiredis has buffered; waits for writability when the socket does not take it all.
  static void flush(const std::shared_ptr<redis_link>& l);
  /// Sends `command` (RESP, as `redis_args::command` makes it) on the current link; `p` is completed exactly
  /// once, whatever happens.
  void send(const std::string& command, std::unique_ptr<pending_reply> p, std::chrono::milliseconds extra);
};

namespace {

/// A command of plain arguments, in RESP.
std::string format_command(const std::vector<std::string>& args) {
  redis_args a;
  for (const auto& arg : args)
    a.add(arg);
  return redis_args{}.command(a);
}

/// hiredis's reply callback: `privdata` is a `pending_reply`; no reply means the connection ended.
void on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
  std::unique_ptr<pending_reply> p{static_cast<pending_reply*>(privdata)};
  auto* l = static_cast<redis_link*>(ac->data);
  if (l && !l->deadlines.empty()) l->deadlines.pop_front();
  if (!reply) {
    p->complete(unavailable("the connection to Redis was lost before the reply" +
                            (l && !l->reason.empty() ? ": " + l->reason : std::string{})));
    return;
  }
  p->complete(convert(*static_cast<redisReply*>(reply)));
}

/// A handshake step: its reply goes to the state, which counts them.
struct handshake_step final : pending_reply {
  handshake_step(std::weak_ptr<redis_connection::state> s, std::shared_ptr<redis_link> l, std::size_t script)
      : self(std::move(s)), link(std::move(l)), script(script) {}
  // Posted like every reply: a failed step aborts the link, which must not happen inside hiredis.
  void complete(proto::result<redis_reply> r) override {
    auto s = self.lock();
    if (!s) return;
    asio::post(s->reactor, [s, l = link, script = script, r = std::move(r)] {
      if (script != npos && r && r->string()) s->shas[script] = std::string{*r->string()};
      s->handshake_reply(l, r);
    });
  }
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::weak_ptr<redis_connection::state> self;
  std::shared_ptr<redis_link> link;
  std::size_t script;
};

}  // namespace

void redis_connection::state::start_read(const std::shared_ptr<redis_link>& l) {
  if (l->read_waiting || l->freed) return;
  l->read_waiting = true;
  l->socket.async_wait(asio::posix::descriptor_base::wait_read, [l](boost::system::error_code ec) {
    l->read_waiting = false;
    if (ec || l->freed || !l->reading) return;
    redisAsyncHandleRead(l->context);
    if (!l->freed && l->reading) start_read(l);
  });
}

void redis_connection::state::start_write(const std::shared_ptr<redis_link>& l) {
  if (l->write_waiting || l->flushing || l->freed) return;
  l->write_waiting = true;
  if (!(l->context->c.flags & REDIS_CONNECTED)) {
    wait_writable(l);  // the connect completes when the socket becomes writable
    return;
  }
  // A connected socket is almost always writable: write at the end of this turn, once every command of it
  // is buffered, without asking the kernel first (a wait for writability costs an epoll_ctl and a wake).
  asio::post(l->socket.get_executor(), [l] {
    l->write_waiting = false;
    flush(l);
  });
}

void redis_connection::state::wait_writable(const std::shared_ptr<redis_link>& l) {
  l->write_waiting = true;
  l->socket.async_wait(asio::posix::descriptor_base::wait_write, [l](boost::system::error_code ec) {
    l->write_waiting = false;
    if (!ec) flush(l);
  });
}

void redis_connection::state::flush(const std::shared_ptr<redis_link>& l) {
  if (l->freed || !l->writing) return;
  // hiredis asks for writability again (`addWrite`) when the socket took only part: then wait for it.
  l->flushing = true;
  redisAsyncHandleWrite(l->context);
  l->flushing = false;
  if (!l->freed && l->writing) wait_writable(l);
}

void redis_connection::state::attach(const std::shared_ptr<redis_link>& l) {
  // The hooks get the raw link: it outlives the context (the state holds it until `ended`, and each socket
  // wait holds it too).
  auto* raw = l.get();
  l->context->data = raw;
  l->context->ev.data = raw;
  l->context->ev.addRead = [](void* p) {
    auto* link = static_cast<redis_link*>(p);
    link->reading = true;
    if (!link->read_waiting) start_read(link->shared_from_this());
  };
  l->context->ev.delRead = [](void* p) { static_cast<redis_link*>(p)->reading = false; };
  l->context->ev.addWrite = [](void* p) {
    auto* link = static_cast<redis_link*>(p);
    link->writing = true;
    if (!link->write_waiting && !link->flushing) start_write(link->shared_from_this());
  };
  l->context->ev.delWrite = [](void* p) { static_cast<redis_link*>(p)->writing = false; };
  l->context->ev.cleanup = [](void* p) {
    auto* link = static_cast<redis_link*>(p);
    if (link->freed) return;
    link->freed = true;
    if (link->reason.empty() && link->context->errstr) link->reason = link->context->errstr;
    // hiredis closes the descriptor; the socket only lets go of it (its waits complete as aborted).
    link->socket.release();
    link->ended.cancel();
  };
  l->socket.assign(l->context->c.fd);
}

void redis_connection::state::send(const std::string& command, std::unique_ptr<pending_reply> p,
                                   std::chrono::milliseconds extra) {
  if (!link || link->freed) {
    p->complete(unavailable("Redis at " + where() + " is not connected" +
                            (last_error.empty() ? std::string{} : ": " + last_error)));
    return;
  }
  auto* raw = p.release();
  if (redisAsyncFormattedCommand(link->context, on_reply, raw, command.data(), command.size()) != REDIS_OK) {
    std::unique_ptr<pending_reply> {
      raw
      } -> complete(unavailable("Redis at " + where() + " refused the command"));
    return;
  }
  ++stats.commands;
  link->deadlines.push_back(clock::now() + options.reply_timeout + extra);
  ensure_watch(link);
}

void redis_connection::state::send_handshake(const std::shared_ptr<redis_link>& l) {
  const auto& e = options.endpoint;
  const std::weak_ptr<state> weak = shared_from_this();
  const auto step = [&](std::vector<std::string> args, std::size_t script = handshake_step::npos) {
    ++l->handshake;
    send(format_command(args), std::make_unique<handshake_step>(weak, l, script),
         std::chrono::milliseconds{0});
  };
  if (!e.password.empty()) {
    if (e.user.empty())
      step({"AUTH", e.password});
    else
      step({"AUTH", e.user, e.password});
  }
  if (e.db != 0) step({"SELECT", std::to_string(e.db)});
  step({"CLIENT", "SETNAME", options.name});
  for (std::size_t i = 0; i < options.scripts.size(); ++i)
    step({"SCRIPT", "LOAD", options.scripts[i]}, i);
  for (const auto& channel : options.channels) {
    // A subscription's confirmation (and every message after it) comes to `on_subscription`.
    ++l->handshake;
    const char* argv[] = {"SUBSCRIBE", channel.c_str()};
    const std::size_t lengths[] = {9, channel.size()};
    redisAsyncCommandArgv(
        l->context,
        [](redisAsyncContext* ac, void* reply, void* privdata) {
          auto* self = static_cast<state*>(privdata);
          auto* link = static_cast<redis_link*>(ac->data);
          if (!reply || !link || link->freed) return;
          const auto r = convert(*static_cast<redisReply*>(reply));
          if (!r.is_array() || r.elements.size() != 3) return;
          const auto kind = r.elements[0].string().value_or("");
          if (kind == "subscribe") {
            asio::post(self->reactor, [weak = self->weak_from_this(), l = link->shared_from_this(), r] {
              const proto::result<redis_reply> ok{r};
              if (auto s = weak.lock()) s->handshake_reply(l, ok);
            });
          } else if (kind == "message" && self->options.on_message) {
            asio::post(self->reactor, [weak = self->weak_from_this(), channel = r.elements[1].text,
                                       message = r.elements[2].text] {
              if (auto s = weak.lock(); s && !s->stopping) s->options.on_message(channel, message);
            });
          }
        },
        this, 2, argv, lengths);
  }
  // The state outlives its subscription callbacks: `stop` and the destructor free the context first.
}

void redis_connection::state::handshake_reply(const std::shared_ptr<redis_link>& l,
                                              const proto::result<redis_reply>& r) {
  if (l->freed || l->aborting || l != link || l->ready) return;
  if (!r || r->is_error()) {
    // A refused log-in is Redis's word ("WRONGPASS…", "NOAUTH…"): it never contains the password.
    abort(l, r ? "Redis refused the connection set-up: " + r->text : r.error().message);
    return;
  }
  if (--l->handshake != 0) return;
  l->ready = true;
  ++stats.connects;
  next_backoff = options.min_backoff;
  outage_logged = false;
  if (!last_error.empty()) log(log_level::info, "redis connection restored", {{"redis", where()}});
  last_error.clear();
  ready_signal.cancel();
  if (options.on_ready)
    asio::post(reactor, [weak = weak_from_this()] {
      if (auto s = weak.lock(); s && !s->stopping && s->ready()) s->options.on_ready();
    });
}

void redis_connection::state::abort(const std::shared_ptr<redis_link>& l, std::string why) {
  // Once: freeing fails every pending reply, and their completions may ask for another abort.
  if (l->freed || l->aborting) return;
  l->aborting = true;
  l->reason = std::move(why);
  redisAsyncFree(l->context);
}

void redis_connection::state::ensure_watch(const std::shared_ptr<redis_link>& l) {
  if (l->watching || l->freed) return;
  l->watching = true;
  asio::co_spawn(reactor, watch(shared_from_this(), l), asio::detached);
}

// Drops a link whose connect or replies are late; runs only while something is expected.
asio::awaitable<void> redis_connection::state::watch(std::shared_ptr<state> self,
                                                     std::shared_ptr<redis_link> l) {
  asio::steady_timer tick{self->reactor};
  while (!l->freed && (!l->ready || !l->deadlines.empty())) {
    tick.expires_after(std::chrono::milliseconds{100});
    co_await tick.async_wait(use_tuple);
    if (l->freed) break;
    const auto now = clock::now();
    if (!l->ready && now > l->connect_deadline) {
      self->abort(l, "no answer within " + std::to_string(self->options.connect_timeout.count()) +
                         " ms of connecting");
      break;
    }
    if (!l->deadlines.empty() && now > l->deadlines.front()) {
      self->abort(l, "no reply within " + std::to_string(self->options.reply_timeout.count()) + " ms");
      break;
    }
  }
  l->watching = false;
}

asio::awaitable<bool> redis_connection::state::connect_once() {
  const auto& e = options.endpoint;
  asio::ip::tcp::resolver resolver{reactor};
  // Resolution runs on Asio's resolver thread, never on the reactor.
  auto [ec, results] = co_await resolver.async_resolve(e.host, std::to_string(e.port), use_tuple);
  if (stopping) co_return false;
  if (ec || results.empty()) {
    last_error = "cannot resolve '" + e.host + "': " + ec.message();
    co_return false;
  }
  const auto address = results.begin()->endpoint().address().to_string();
  auto* context = redisAsyncConnect(address.c_str(), e.port);
  if (!context || context->err) {
    last_error = "cannot connect to " + where() + ": " + (context ? context->errstr : "out of memory");
    if (context) redisAsyncFree(context);
    co_return false;
  }
  auto l = std::make_shared<redis_link>(reactor, context);
  attach(l);
  link = l;
  l->connect_deadline = clock::now() + options.connect_timeout;
  send_handshake(l);
  ensure_watch(l);
  co_await l->ended.async_wait(use_tuple);
  const bool was_ready = l->ready;
  if (link == l) link.reset();
  if (stopping) co_return was_ready;
  last_error = (was_ready ? "lost the connection to " : "cannot connect to ") + where() +
               (l->reason.empty() ? std::string{} : ": " + l->reason);
  if (was_ready) {
    ++stats.losses;
    log(log_level::warn, "redis connection lost; reconnecting", {{"redis", where()}, {"error", l->reason}});
    if (options.on_lost) options.on_lost();
  }
  co_return was_ready;
}

asio::awaitable<void> redis_connection::state::run(std::shared_ptr<state> self) {
  while (!self->stopping) {
    const bool was_ready = co_await self->connect_once();
    if (self->stopping) break;
    // A loss is logged where it is seen; a failed connect once per outage.
    if (!was_ready && !self->outage_logged) {
      // Once per outage: a Redis that stays away for an hour is one line, not thousands.
      self->outage_logged = true;
      log(log_level::warn, "redis unreachable; retrying",
          {{"error", self->last_error}, {"max_backoff_ms", self->options.max_backoff.count()}});
    }
    self->backoff_timer.expires_after(self->next_backoff);
    co_await self->backoff_timer.async_wait(use_tuple);
    self->next_backoff = std::min(self->next_backoff * 2, self->options.max_backoff);
  }
}

redis_connection::redis_connection(asio::any_io_executor reactor, redis_connection_options options)
    : state_(std::make_shared<state>(std::move(reactor), std::move(options))) {}

redis_connection::~redis_connection() {
  stop();
}

void redis_connection::start() {
  if (state_->started) return;
  state_->started = true;
  asio::co_spawn(state_->reactor, state::run(state_), asio::detached);
}

void redis_connection::stop() {
  auto& s = *state_;
  if (s.stopping) return;
  s.stopping = true;
  s.backoff_timer.cancel();
  s.ready_signal.cancel();
  if (s.link && !s.link->freed) s.abort(s.link, "the connection was closed");
}

bool redis_connection::ready() const noexcept {
  return state_->ready();
}
const std::string& redis_connection::last_error() const noexcept {
  return state_->last_error;
}
redis_connection_stats redis_connection::stats() const noexcept {
  return state_->stats;
}
const redis_endpoint& redis_connection::endpoint() const noexcept {
  return state_->options.endpoint;
}

asio::awaitable<bool> redis_connection::async_wait_ready(std::chrono::steady_clock::duration limit) {
  using namespace asio::experimental::awaitable_operators;
  const auto self = state_;
  asio::steady_timer deadline{self->reactor};
  deadline.expires_after(limit);
  while (!self->ready() && !self->stopping && clock::now() < deadline.expiry()) {
    // `ready_signal` is cancelled on each connect (and by `stop`); its expiry stays "never".
    co_await (self->ready_signal.async_wait(use_tuple) || deadline.async_wait(use_tuple));
  }
  co_return self->ready();
}

namespace {

/// Sends a command (RESP) and completes with its reply.
asio::awaitable<proto::result<redis_reply>> exec_command(std::shared_ptr<redis_connection::state> self,
                                                         std::string command,
                                                         std::chrono::milliseconds blocks_for) {
  if (!self->ready())
    co_return unavailable("Redis at " + self->where() + " is not connected" +
                          (self->last_error.empty() ? std::string{} : ": " + self->last_error));
  auto init = [self, blocks_for](auto handler, std::string c) {
    using handler_type = decltype(handler);
    self->send(c, std::make_unique<reply_handler<handler_type>>(std::move(handler)), blocks_for);
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(proto::result<redis_reply>)>(
      std::move(init), asio::use_awaitable, std::move(command));
}

}  // namespace

asio::awaitable<proto::result<redis_reply>> redis_connection::async_exec(
    std::vector<std::string> args, std::chrono::milliseconds blocks_for) {
  co_return co_await exec_command(state_, format_command(args), blocks_for);
}

void redis_connection::send(std::vector<std::string> args, reply_callback done) {
  auto& s = *state_;
  auto reply = std::make_unique<callback_reply>(s.reactor, std::move(done));
  if (!s.ready()) {
    reply->complete(unavailable("Redis at " + s.where() + " is not connected" +
                                (s.last_error.empty() ? std::string{} : ": " + s.last_error)));
    return;
  }
  s.send(format_command(args), std::move(reply), std::chrono::milliseconds{0});
}

namespace {

/// `EVALSHA <sha> <key count>` (or `EVAL <script> <key count>`): the head of a script's command.
redis_args script_head(bool by_sha, const std::string& sha_or_script, std::size_t key_count) {
  redis_args head;
  head.add(by_sha ? "EVALSHA" : "EVAL").add(sha_or_script).add(key_count);
  return head;
}

redis_args keys_then_args(std::vector<std::string>&& keys, std::vector<std::string>&& args) {
  redis_args out;
  for (const auto& k : keys)
    out.add(k);
  for (const auto& a : args)
    out.add(a);
  return out;
}

bool lost_script(const proto::result<redis_reply>& r) {
  return r && r->is_error() && r->text.starts_with("NOSCRIPT");
}

}  // namespace

void redis_connection::send_script(std::size_t index, std::size_t key_count, redis_args keys_and_args,
                                   reply_callback done) {
  auto& s = *state_;
  // A copy: the arguments stay with the reply, for the fallback.
  auto command = s.ready() ? keys_and_args.command(script_head(true, s.shas.at(index), key_count)) : "";
  auto reply = std::make_unique<callback_reply>(
      s.reactor, [weak = std::weak_ptr<state>{state_}, index, key_count, rest = std::move(keys_and_args),
                  done = std::move(done)](proto::result<redis_reply> r) mutable {
        // After a SCRIPT FLUSH every EVALSHA in the pipeline fails, and their EVALs are sent in the order
        // their failures arrive, which is the order they were sent in.
        auto s = weak.lock();
        if (!s || !lost_script(r)) return done(std::move(r));
        auto again = std::make_unique<callback_reply>(s->reactor, std::move(done));
        s->send(rest.command(script_head(false, s->options.scripts.at(index), key_count)), std::move(again),
                std::chrono::milliseconds{0});
      });
  if (!s.ready()) {
    reply->complete(unavailable("Redis at " + s.where() + " is not connected" +
                                (s.last_error.empty() ? std::string{} : ": " + s.last_error)));
    return;
  }
  s.send(command, std::move(reply), std::chrono::milliseconds{0});
}

void redis_connection::send_script(std::size_t index, std::vector<std::string> keys,
                                   std::vector<std::string> args, reply_callback done) {
  const auto key_count = keys.size();
  send_script(index, key_count, keys_then_args(std::move(keys), std::move(args)), std::move(done));
}

asio::awaitable<proto::result<redis_reply>> redis_connection::async_script(std::size_t index,
                                                                           std::vector<std::string> keys,
                                                                           std::vector<std::string> args) {
  const auto self = state_;
  const auto key_count = keys.size();
  const auto rest = keys_then_args(std::move(keys), std::move(args));
  auto reply = co_await exec_command(self, rest.command(script_head(true, self->shas.at(index), key_count)),
                                     std::chrono::milliseconds{0});
  if (lost_script(reply)) {
    // Redis lost its scripts (SCRIPT FLUSH, or a restart between our connect and this call).
    reply = co_await exec_command(
        self, rest.command(script_head(false, self->options.scripts.at(index), key_count)),
        std::chrono::milliseconds{0});
  }
  co_return reply;
}

}  // namespace offload::core
