// WebSocket sessions on Beast: a reader coroutine for client messages, and a single writer coroutine for the
// socket that sends replies and, by a cursor per followed job, events straight out of the jobs' logs.
#include "net/websocket_session.hpp"

#include "core/logger.hpp"
#include "net/api_request.hpp"
#include "net/websocket_subprotocols.hpp"
#include "net/ws_request.hpp"

#include <offload/asio_support.hpp>
#include <offload/proto/job_spec.hpp>
#include <offload/proto/json_fields.hpp>
#include <offload/proto/json_parse.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <array>
#include <charconv>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <tuple>

namespace offload::net {
using namespace asio::experimental::awaitable_operators;
using proto::errc;

namespace {

// Bytes a reader takes from the socket at a time (a message is checked against its limit after each).
constexpr std::size_t read_piece = 16 * 1024;

// `after` from the query: a sequence number, default 0.
std::optional<std::uint64_t> parse_after(std::optional<std::string_view> text) {
  if (!text) return 0;
  std::uint64_t after = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), after);
  if (ec != std::errc{} || end != text->data() + text->size()) return std::nullopt;
  return after;
}

class websocket_session {
 public:
  websocket_session(beast::tcp_stream& stream, core::job_service& jobs, const websocket_limits& limits,
                    websocket_totals& totals, watch_hub& watches)
      : ws_(std::move(stream)),
        jobs_(jobs),
        limits_(limits),
        all_backlog_(totals.backlog),
        closes_(totals.closes),
        watches_(watches),
        wake_(ws_.get_executor()) {
    wake_.expires_at(asio::steady_timer::time_point::max());
  }
  ~websocket_session() {
    if (watch_id_) watches_.remove(*watch_id_);
    all_backlog_ -= backlog_;
  }
  websocket_session(const websocket_session&) = delete;
  websocket_session& operator=(const websocket_session&) = delete;

  // One job's events: replay after `after`, then follow live, then close 1000 after the terminal event.
  asio::awaitable<void> run_job_stream(upgrade_request request, std::shared_ptr<const core::job> job,
                                       std::uint64_t after) {
    const bool accepted = co_await accept(request);
    if (!accepted) co_return;
    follow(std::move(job), after, false);
    co_await (discard_reads() || writer());
  }

  // The multiplexed socket.
  asio::awaitable<void> run_multiplexed(upgrade_request request) {
    const bool accepted = co_await accept(request);
    if (!accepted) co_return;
    co_await (handle_messages() || writer());
  }

  // Shutdown: flush, then 1001, unless the socket is already on its way to closing.
  void going_away() {
    if (!close_after_flush_) close_after_flush(websocket::close_code::going_away, "server shutting down");
  }

 private:
  // A job this socket follows. The writer sends its log from `next` on straight out of the log, frame by
  // frame: a subscriber costs a cursor, never a copy of the log. `unsent` is what the log holds past the
  // cursor, counted in the socket's backlog like live events.
  struct followed {
    std::shared_ptr<const core::job> job;
    std::uint64_t next = 1;
    bool multiplexed = false;
    std::size_t unsent = 0;
    core::event_log::subscription live;
  };

  // The next frame the writer sends for a followed job.
  struct pending {
    std::string id;
    const core::job* job;
    std::uint64_t seq;
    proto::event_type type;
    std::shared_ptr<const std::string> frame;
    bool multiplexed;
  };

  // What one event costs this socket: the frame, plus the envelope on the multiplexed socket.
  static std::size_t cost(const std::string& id, const core::logged_event& e, bool multiplexed) {
    return e.frame->size() + (multiplexed ? id.size() + envelope_bytes : 0);
  }
  static constexpr std::size_t envelope_bytes = 48;

  asio::awaitable<bool> accept(upgrade_request& request) {
    ws_.set_option(websocket::stream_base::timeout{limits_.handshake_timeout, limits_.idle_timeout, true});
    // A client that offered `offload.v1` (browsers, and the token-in-subprotocol form) gets it selected:
    // a browser fails a handshake whose answer selects none of what it offered.
    const bool select_v1 =
        websocket_subprotocols::parse(request[beast::http::field::sec_websocket_protocol]).offers_v1;
    ws_.set_option(websocket::stream_base::decorator([select_v1](websocket::response_type& res) {
      res.set(beast::http::field::server, "offloadd");
      if (select_v1) res.set(beast::http::field::sec_websocket_protocol, websocket_subprotocol);
    }));
    // The readers below enforce `max_message_bytes` themselves (see read_message), with a clean 1009. Beast's
    // own limit, far above it, only refuses at once a frame that declares an absurd length (2^63 bytes) and
    // would otherwise keep the socket waiting for it.
    ws_.read_message_max(16 * limits_.max_message_bytes);
    ws_.text(true);
    auto [ec] = co_await ws_.async_accept(request, use_tuple);
    if (ec) core::log(core::log_level::debug, "websocket handshake failed", {{"what", ec.message()}});
    co_return !ec;
  }

  // Follows a job from after `after`: the logged events past the cursor and, while the job runs, the ones
  // still to come. Set up in one step on the reactor, so there is no gap and no duplicate.
  void follow(std::shared_ptr<const core::job> job, std::uint64_t after, bool multiplexed) {
    const auto id = job->id;
    unfollow(id);
    followed f{std::move(job), after + 1, multiplexed, 0, {}};
    // Only the published part of the log: what its store has (see event_log).
    const auto& log = f.job->events;
    const auto published = log.published_seq();
    for (const auto& e : log.events())
      if (e.seq > after && e.seq <= published) f.unsent += cost(id, e, multiplexed);
    const bool complete = proto::is_terminal(f.job->state) && log.all_published();
    // A finished job whose log the client already has: nothing to send.
    if (complete && f.next > published) {
      if (!multiplexed) close_after_flush(websocket::close_code::normal, "job finished");
      return;
    }
    if (!add_backlog(f.unsent)) return;
    if (!complete) f.live = log.subscribe([this, id](const core::logged_event& e) { on_live(id, e); });
    followed_.emplace(id, std::move(f));
    wake_.cancel();
  }

  void unfollow(const std::string& id) {
    const auto it = followed_.find(id);
    if (it == followed_.end()) return;
    drop_backlog(it->second.unsent);
    followed_.erase(it);
  }

  // A live event of a followed job: counted, and the writer woken. (Called from inside the job's log.)
  void on_live(const std::string& id, const core::logged_event& e) {
    const auto it = followed_.find(id);
    if (it == followed_.end()) return;
    if (e.seq < it->second.next) {
      // The client asked to start past this event; past the terminal one there is nothing left to follow.
      if (proto::is_terminal(e.type)) finished(id, it->second.multiplexed);
      return;
    }
    const auto bytes = cost(id, e, it->second.multiplexed);
    if (!add_backlog(bytes)) return;
    it->second.unsent += bytes;
    wake_.cancel();
  }

  // Counts `bytes` more waiting for this client. Past this socket's limit, or the limit for all sockets
  // together, the client is too slow: it is closed with 1013 and resumes with after=<last seq> (the logs keep
  // every event). What one subscription brings while nothing else waits still goes out, however large.
  // `events`: the bytes are events of a followed job. One subscription larger than the limit still goes out
  // when no other events wait (replies waiting, such as its own subscribe's ack, do not count).
  bool add_backlog(std::size_t bytes, bool events = true) {
    if (close_) return false;
    const bool others_wait = events ? backlog_ > reply_bytes_ : backlog_ > 0;
    if (others_wait && (backlog_ + bytes > limits_.max_queued_bytes ||
                        all_backlog_ + bytes > limits_.max_total_queued_bytes)) {
      close_now(websocket::close_code::try_again_later, "consumer too slow; reconnect with after=<last seq>");
      return false;
    }
    backlog_ += bytes;
    all_backlog_ += bytes;
    return true;
  }

  void drop_backlog(std::size_t bytes) {
    backlog_ -= bytes;
    all_backlog_ -= bytes;
  }

  // The next event frame to send, taking the followed jobs in turn so that one long log does not hold up
  // the others.
  std::optional<pending> next_event() {
    auto it = followed_.upper_bound(last_served_);
    for (std::size_t i = 0; i < followed_.size(); ++i, ++it) {
      if (it == followed_.end()) it = followed_.begin();
      const auto& f = it->second;
      const auto& events = f.job->events.events();
      if (events.empty() || f.next > f.job->events.published_seq()) continue;
      const auto& e = events[f.next - events.front().seq];
      last_served_ = it->first;
      return pending{it->first, f.job.get(), e.seq, e.type, e.frame, f.multiplexed};
    }
    return std::nullopt;
  }

  // The event went out: advance the cursor, unless the client unsubscribed (or subscribed again) meanwhile.
  void sent(const pending& p) {
    const auto it = followed_.find(p.id);
    if (it == followed_.end() || it->second.job.get() != p.job || it->second.next != p.seq) return;
    auto& f = it->second;
    const auto bytes = p.frame->size() + (p.multiplexed ? p.id.size() + envelope_bytes : 0);
    f.unsent -= bytes;
    drop_backlog(bytes);
    ++f.next;
    const bool log_done = proto::is_terminal(f.job->state) && f.next > f.job->events.last_seq();
    if (!proto::is_terminal(p.type) && !log_done) return;
    // The terminal event is the last: nothing more to follow.
    finished(p.id, p.multiplexed);
  }

  // The job's log has been sent to its end: stop following it; the per-job stream closes (1000).
  void finished(const std::string& id, bool multiplexed) {
    unfollow(id);
    if (!multiplexed) close_after_flush(websocket::close_code::normal, "job finished");
  }

  // Drops what waits and every subscription, and closes once the write in progress is done.
  void close_now(websocket::close_code code, const char* reason) {
    replies_.clear();
    reply_bytes_ = 0;
    followed_.clear();
    drop_backlog(backlog_);
    begin_close({code, reason});
    wake_.cancel();
  }

  // The server has decided to close: counted now, by code, whether or not the close frame ever goes out. (A
  // reader too slow for its backlog is usually too slow for the socket as well: the write in progress, and
  // the close frame behind it, wait for it to read what the kernel holds, or for the idle timeout.)
  void begin_close(const websocket::close_reason& reason) {
    if (close_) return;
    close_ = reason;
    ++closes_[static_cast<int>(reason.code)];
  }

  void close_after_flush(websocket::close_code code, const char* reason) {
    if (!close_) close_after_flush_ = websocket::close_reason{code, reason};
    wake_.cancel();
  }

  // A reply to a request; it counts in the backlog too (a client that sends without reading is too slow).
  void reply(const nlohmann::json& message) {
    send(std::make_shared<const std::string>(proto::dump_json(message)));
  }

  // A message made once for many sockets (the watch feed), or a reply; queued like replies.
  void send(const std::shared_ptr<const std::string>& frame) {
    if (!add_backlog(frame->size(), false)) return;
    reply_bytes_ += frame->size();
    replies_.push_back(frame);
    wake_.cancel();
  }

  void reply_error(const nlohmann::json& req, const proto::error& e) {
    reply({{"op", "error"}, {"req", req}, {"error", e}});
  }

  // The only coroutine that writes to the socket: replies first, then the followed jobs' events in turn.
  asio::awaitable<void> writer() {
    for (;;) {
      while (!close_) {
        if (!replies_.empty()) {
          const auto next = replies_.front();
          auto [ec, n] = co_await ws_.async_write(asio::buffer(*next), use_tuple);
          if (ec) co_return;
          // A 1013 close may have cleared the queue during the write.
          if (!replies_.empty() && replies_.front() == next) {
            drop_backlog(next->size());
            reply_bytes_ -= next->size();
            replies_.pop_front();
          }
          continue;
        }
        const auto next = next_event();
        if (!next) break;
        beast::error_code ec;
        if (next->multiplexed) {
          // The envelope around the logged frame, sent as one message without copying the frame.
          const auto head = R"({"op":"event","id":")" + next->id + R"(","seq":)" + std::to_string(next->seq) +
                            R"(,"event":)";
          const std::array<asio::const_buffer, 3> parts{asio::buffer(head), asio::buffer(*next->frame),
                                                        asio::buffer("}", 1)};
          std::tie(ec, std::ignore) = co_await ws_.async_write(parts, use_tuple);
        } else {
          std::tie(ec, std::ignore) = co_await ws_.async_write(asio::buffer(*next->frame), use_tuple);
        }
        if (ec) co_return;
        sent(*next);
      }
      if (close_after_flush_ && replies_.empty() && !next_event()) begin_close(*close_after_flush_);
      if (close_) {
        co_await ws_.async_close(*close_, use_tuple);
        co_return;
      }
      co_await wake_.async_wait(use_tuple);
      if (done_) co_return;
    }
  }

  // The per-job stream takes no messages; reading still answers pings and notices the client leaving.
  asio::awaitable<void> discard_reads() {
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await ws_.async_read_some(buffer, read_piece, use_tuple);
      if (ec) co_return reader_done();
      buffer.consume(n);
    }
  }

  // Reads the next message into `buffer` piece by piece, so that one larger than `max_message_bytes` is
  // seen at the limit: then it is dropped, the socket is closed with 1009 and false returned; the reader
  // goes on reading (and dropping) what the client still sends, until its close reply. (Beast's own limit
  // answers 1009 too, but tears the connection down after reading at most 2 KiB more: a client still
  // sending its message got a reset instead of the code.)
  asio::awaitable<std::pair<boost::system::error_code, bool>> read_message(beast::flat_buffer& buffer) {
    do {
      auto [ec, n] = co_await ws_.async_read_some(buffer, read_piece, use_tuple);
      if (ec) co_return std::pair{ec, false};
      if (buffer.size() > limits_.max_message_bytes) {
        buffer.consume(buffer.size());
        if (!close_) close_now(websocket::close_code::too_big, "a message is larger than the server accepts");
        co_return std::pair{boost::system::error_code{}, false};
      }
    } while (!ws_.is_message_done());
    co_return std::pair{boost::system::error_code{}, true};
  }

  // The client is gone (or closed): the writer has nothing left to do.
  void reader_done() {
    done_ = true;
    wake_.cancel();
  }

  asio::awaitable<void> handle_messages() {
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, whole] = co_await read_message(buffer);
      if (ec) co_return reader_done();  // closed, timed out, or reset
      if (!whole || close_) {
        buffer.consume(buffer.size());  // too big (closing with 1009), or closing: nothing more is acted on
        continue;
      }
      if (!ws_.got_text()) {
        // Requests are JSON text; the reader goes on until the client answers the close.
        buffer.consume(buffer.size());
        close_now(websocket::close_code::unknown_data, "binary frames are not accepted; send JSON text");
        continue;
      }
      const std::string text = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      // One request at a time, in order: a submit is acknowledged once stored, before the next is read.
      co_await handle(text);
    }
  }

  // A new subscription (a subscribe, or a submit, which follows its job) is refused past the cap.
  std::optional<proto::error> over_subscription_cap(const std::string& id) const {
    if (followed_.size() < limits_.max_subscriptions || followed_.contains(id)) return std::nullopt;
    return proto::error{errc::too_many_subscriptions,
                        "this socket follows " + std::to_string(followed_.size()) +
                            " jobs, the most allowed; unsubscribe from some (or open another socket)"};
  }

  asio::awaitable<void> handle(std::string_view text) {
    auto parsed = parse_ws_request(text);
    if (auto* refused = std::get_if<ws_request_error>(&parsed))
      co_return reply_error(refused->req, refused->error);
    auto& msg = std::get<ws_request>(parsed);
    const auto& req = msg.req;
    switch (msg.op) {
      case ws_request::kind::submit: {
        if (auto full = over_subscription_cap({})) co_return reply_error(req, *full);
        auto submitted = co_await jobs_.async_submit(std::move(msg.job));
        if (close_) co_return;
        if (!submitted) co_return reply_error(req, submitted.error());
        reply({{"op", "ack"}, {"req", req}, {"id", submitted->job->id}, {"job", submitted->job->view()}});
        co_return follow(submitted->job, 0, true);
      }
      case ws_request::kind::subscribe: {
        if (auto full = over_subscription_cap(msg.id)) co_return reply_error(req, *full);
        const auto job = co_await jobs_.async_find(msg.id);
        if (close_) co_return;
        if (!job) co_return reply_error(req, proto::job_not_found(msg.id));
        // The job's state and newest seq: a client that subscribed past a finished job's end learns here
        // that nothing will follow.
        reply({{"op", "ack"},
               {"req", req},
               {"id", msg.id},
               {"state", proto::to_string(job->state)},
               {"last_seq", job->events.published_seq()}});
        co_return follow(job, msg.after, true);
      }
      case ws_request::kind::unsubscribe:
        unfollow(msg.id);
        co_return reply({{"op", "ack"}, {"req", req}, {"id", msg.id}});
      case ws_request::kind::watch: {
        if (msg.stats && !watches_.has_stats())
          co_return reply_error(req, {errc::invalid_input, "stats: this server has no statistics to watch"});
        if (!watch_id_) watch_id_ = watches_.add([this](const watch_hub::frame& f) { send(f); });
        // The ack goes first; a stats watcher's first statistics follow at once.
        reply({{"op", "ack"}, {"req", req}, {"watch", {{"stats", msg.stats}, {"jobs", msg.jobs}}}});
        co_return watches_.set_topics(*watch_id_, {msg.stats, msg.jobs});
      }
      case ws_request::kind::unwatch:
        if (watch_id_) watches_.set_topics(*watch_id_, {});
        co_return reply({{"op", "ack"}, {"req", req}, {"watch", {{"stats", false}, {"jobs", false}}}});
      case ws_request::kind::cancel: {
        const auto cancelled = co_await jobs_.async_cancel(msg.id);
        if (close_) co_return;
        if (!cancelled) co_return reply_error(req, cancelled.error());
        co_return reply({{"op", "ack"}, {"req", req}, {"id", msg.id}, {"job", (*cancelled)->view()}});
      }
    }
  }

  websocket::stream<beast::tcp_stream> ws_;
  core::job_service& jobs_;
  const websocket_limits& limits_;
  // Bytes waiting for this client (replies, and the followed logs past their cursors), and for all clients.
  std::size_t backlog_ = 0;
  // The part of `backlog_` that is replies.
  std::size_t reply_bytes_ = 0;
  std::size_t& all_backlog_;
  std::map<int, std::uint64_t>& closes_;
  watch_hub& watches_;
  // Registered with the watch feed on the first `watch`.
  std::optional<std::uint64_t> watch_id_;
  std::deque<std::shared_ptr<const std::string>> replies_;
  // The followed jobs by id; destroying an entry unsubscribes it. `last_served_`: the writer's turn.
  std::map<std::string, followed> followed_;
  std::string last_served_;
  // Never expires; cancelled to wake the writer.
  asio::steady_timer wake_;
  // Close now (1013) / close once everything is sent (1000 after the terminal event).
  std::optional<websocket::close_reason> close_;
  std::optional<websocket::close_reason> close_after_flush_;
  bool done_ = false;
};

}  // namespace

template <class Run>
asio::awaitable<std::optional<api_response>> websocket_endpoints::run_session(websocket_upgrade& upgrade,
                                                                              Run run) {
  if (closing_) co_return api_response::error({errc::draining, "the server is shutting down"});
  const core::async_counter::guard counted{sessions_};
  websocket_session session{upgrade.stream, jobs_, limits_, totals_, watches_};
  // Registered for `close_all` for as long as it runs.
  const auto number = next_registration_++;
  going_away_.emplace(number, [&session] { session.going_away(); });
  struct registration {
    std::map<std::uint64_t, std::function<void()>>& all;
    std::uint64_t number;
    ~registration() { all.erase(number); }
  } const registered{going_away_, number};
  co_await run(session);
  co_return std::nullopt;
}

asio::awaitable<std::optional<api_response>> websocket_endpoints::async_job_stream(
    websocket_upgrade& upgrade, const api_request& request, const route_params& params) {
  const auto after = parse_after(request.query_value("after"));
  if (!after) co_return api_response::error(proto::invalid_field("after", "must be a sequence number"));
  auto job = co_await jobs_.async_find(params.at(0));
  if (!job) co_return api_response::error(proto::job_not_found(params.at(0)));
  auto run = [&upgrade, &job, after = *after](websocket_session& session) {
    return session.run_job_stream(std::move(upgrade.request), std::move(job), after);
  };
  co_return co_await run_session(upgrade, std::move(run));
}

asio::awaitable<api_response> websocket_endpoints::async_job_stream_without_upgrade(
    const route_params& params) {
  const auto job = co_await jobs_.async_find(params.at(0));
  if (!job) co_return api_response::error(proto::job_not_found(params.at(0)));
  auto response = api_response::error(
      {errc::upgrade_required, "this endpoint streams events over WebSocket; send an upgrade"});
  response.headers.emplace_back("Upgrade", "websocket");
  co_return response;
}

asio::awaitable<std::optional<api_response>> websocket_endpoints::async_multiplexed(
    websocket_upgrade& upgrade, const api_request&, const route_params&) {
  auto run = [&upgrade](websocket_session& session) {
    return session.run_multiplexed(std::move(upgrade.request));
  };
  co_return co_await run_session(upgrade, std::move(run));
}

void websocket_endpoints::close_all() {
  closing_ = true;
  watches_.stop();
  // A session may unregister while being told; work on a copy of the callbacks.
  auto callbacks = going_away_;
  for (auto& [number, tell] : callbacks)
    tell();
}

asio::awaitable<void> websocket_endpoints::async_closed(std::chrono::steady_clock::duration limit) {
  co_await sessions_.async_wait_zero(limit);
}

}  // namespace offload::net
