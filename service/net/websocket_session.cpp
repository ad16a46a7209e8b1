// WebSocket sessions on Beast: a reader coroutine for client messages, a single writer coroutine for the
// socket, and a bounded queue between them that event-log listeners feed.
#include "net/websocket_session.hpp"

#include "core/logger.hpp"
#include "net/api_request.hpp"
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

#include <charconv>
#include <deque>
#include <map>
#include <memory>
#include <string>

namespace offload::net {
using namespace asio::experimental::awaitable_operators;
using proto::errc;

namespace {

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
  websocket_session(beast::tcp_stream& stream, core::job_service& jobs, const websocket_limits& limits)
      : ws_(std::move(stream)), jobs_(jobs), limits_(limits), wake_(ws_.get_executor()) {
    wake_.expires_at(asio::steady_timer::time_point::max());
  }

  // One job's events: replay after `after`, then follow live, then close 1000 after the terminal event.
  asio::awaitable<void> run_job_stream(upgrade_request request, std::shared_ptr<const core::job> job,
                                       std::uint64_t after) {
    const bool accepted = co_await accept(request);
    if (!accepted) co_return;
    follow(job, after, false);
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
  asio::awaitable<bool> accept(upgrade_request& request) {
    ws_.set_option(websocket::stream_base::timeout{limits_.handshake_timeout, limits_.idle_timeout, true});
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "offloadd"); }));
    ws_.read_message_max(limits_.max_message_bytes);
    ws_.text(true);
    auto [ec] = co_await ws_.async_accept(request, use_tuple);
    if (ec) core::log(core::log_level::debug, "websocket handshake failed", {{"what", ec.message()}});
    co_return !ec;
  }

  // Replays the logged events after `after` and subscribes for the rest, in one step on the reactor:
  // nothing can be appended in between, so there is no gap and no duplicate.
  void follow(const std::shared_ptr<const core::job>& job, std::uint64_t after, bool multiplexed) {
    const auto id = job->id;
    // Replayed frames are already held by the log and do not count as lag: only live backlog does.
    for (const auto& e : job->events.events())
      if (e.seq > after) push_event(id, e, multiplexed, false);
    // A finished job's log is complete (even when `after` skipped all of it): nothing to follow.
    if (proto::is_terminal(job->state)) return on_terminal(id, multiplexed);
    // Live events honour `after` too: a client that resumes past the end of the log gets nothing twice.
    subscriptions_[id] = job->events.subscribe([this, id, multiplexed, after](const core::logged_event& e) {
      if (e.seq > after) push_event(id, e, multiplexed, true);
      if (proto::is_terminal(e.type)) on_terminal(id, multiplexed);
    });
  }

  void on_terminal(const std::string& id, bool multiplexed) {
    // Dropping a subscription from inside its own listener is allowed by the event log.
    subscriptions_.erase(id);
    if (!multiplexed) close_after_flush(websocket::close_code::normal, "job finished");
  }

  void push_event(const std::string& id, const core::logged_event& e, bool multiplexed, bool live) {
    if (!multiplexed) return push(e.frame, live);
    push(std::make_shared<const std::string>(R"({"op":"event","id":")" + id + R"(","seq":)" +
                                             std::to_string(e.seq) + R"(,"event":)" + *e.frame + "}"),
         live);
  }

  // `counted`: the frame is live backlog and counts against max_queued_bytes.
  void push(std::shared_ptr<const std::string> frame, bool counted = true) {
    if (close_) return;
    // The limit is on backlog: one frame larger than it (a big result) still goes out when nothing waits.
    if (counted && queued_bytes_ > 0 && queued_bytes_ + frame->size() > limits_.max_queued_bytes) {
      // Too slow: stop queueing and close once the write in progress is done. The log keeps every event,
      // so the client reconnects with after=<last seq it saw> and loses nothing.
      return close_now(websocket::close_code::try_again_later,
                       "consumer too slow; reconnect with after=<last seq>");
    }
    if (counted) queued_bytes_ += frame->size();
    queue_.push_back({std::move(frame), counted});
    wake_.cancel();
  }

  // Drops what is queued and every subscription, and closes once the write in progress is done.
  void close_now(websocket::close_code code, const char* reason) {
    queue_.clear();
    queued_bytes_ = 0;
    subscriptions_.clear();
    close_ = websocket::close_reason{code, reason};
    wake_.cancel();
  }

  void close_after_flush(websocket::close_code code, const char* reason) {
    if (!close_) close_after_flush_ = websocket::close_reason{code, reason};
    wake_.cancel();
  }

  void reply(const nlohmann::json& message) {
    push(std::make_shared<const std::string>(proto::dump_json(message)));
  }

  void reply_error(const nlohmann::json& req, const proto::error& e) {
    reply({{"op", "error"}, {"req", req}, {"error", e}});
  }

  // The only coroutine that writes to the socket.
  asio::awaitable<void> writer() {
    for (;;) {
      while (!queue_.empty() && !close_) {
        const auto next = queue_.front();
        auto [ec, n] = co_await ws_.async_write(asio::buffer(*next.frame), use_tuple);
        if (ec) co_return;
        // A 1013 close may have cleared the queue during the write.
        if (!queue_.empty() && queue_.front().frame == next.frame) {
          if (next.counted) queued_bytes_ -= next.frame->size();
          queue_.pop_front();
        }
      }
      if (!close_ && close_after_flush_ && queue_.empty()) close_ = close_after_flush_;
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
      auto [ec, n] = co_await ws_.async_read(buffer, use_tuple);
      if (ec) co_return reader_done();
      buffer.consume(n);
    }
  }

  // The client is gone (or closed): the writer has nothing left to do.
  void reader_done() {
    done_ = true;
    wake_.cancel();
  }

  asio::awaitable<void> handle_messages() {
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await ws_.async_read(buffer, use_tuple);
      if (ec) co_return reader_done();  // closed, too big (1009), timed out, or reset
      if (close_) {
        buffer.consume(n);  // closing: nothing more is acted on
        continue;
      }
      if (!ws_.got_text()) {
        // Requests are JSON text; the reader goes on until the client answers the close.
        buffer.consume(n);
        close_now(websocket::close_code::unknown_data, "binary frames are not accepted; send JSON text");
        continue;
      }
      const std::string text = beast::buffers_to_string(buffer.data());
      buffer.consume(n);
      // One request at a time, in order: a submit is acknowledged once stored, before the next is read.
      co_await handle(text);
    }
  }

  asio::awaitable<void> handle(std::string_view text) {
    auto parsed = parse_ws_request(text);
    if (auto* refused = std::get_if<ws_request_error>(&parsed))
      co_return reply_error(refused->req, refused->error);
    auto& msg = std::get<ws_request>(parsed);
    const auto& req = msg.req;
    switch (msg.op) {
      case ws_request::kind::submit: {
        auto submitted = co_await jobs_.async_submit(std::move(msg.job));
        if (close_) co_return;
        if (!submitted) co_return reply_error(req, submitted.error());
        reply({{"op", "ack"}, {"req", req}, {"id", submitted->job->id}, {"job", submitted->job->view()}});
        co_return follow(submitted->job, 0, true);
      }
      case ws_request::kind::subscribe: {
        const auto job = co_await jobs_.async_find(msg.id);
        if (close_) co_return;
        if (!job) co_return reply_error(req, proto::job_not_found(msg.id));
        reply({{"op", "ack"}, {"req", req}, {"id", msg.id}});
        subscriptions_.erase(msg.id);
        co_return follow(job, msg.after, true);
      }
      case ws_request::kind::unsubscribe:
        subscriptions_.erase(msg.id);
        co_return reply({{"op", "ack"}, {"req", req}, {"id", msg.id}});
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
  // Frames waiting for the writer, and the total size of the live (counted) ones.
  struct outgoing {
    std::shared_ptr<const std::string> frame;
    bool counted;
  };
  std::deque<outgoing> queue_;
  std::size_t queued_bytes_ = 0;
  // Never expires; cancelled to wake the writer.
  asio::steady_timer wake_;
  // Close now (1013) / close once the queue is empty (1000 after the terminal event).
  std::optional<websocket::close_reason> close_;
  std::optional<websocket::close_reason> close_after_flush_;
  bool done_ = false;
  // Live subscriptions by job id; destroying one unsubscribes.
  std::map<std::string, core::event_log::subscription> subscriptions_;
};

}  // namespace

template <class Run>
asio::awaitable<std::optional<api_response>> websocket_endpoints::run_session(websocket_upgrade& upgrade,
                                                                              Run run) {
  if (closing_) co_return api_response::error({errc::draining, "the server is shutting down"});
  const core::async_counter::guard counted{sessions_};
  websocket_session session{upgrade.stream, jobs_, limits_};
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
  // A session may unregister while being told; work on a copy of the callbacks.
  auto callbacks = going_away_;
  for (auto& [number, tell] : callbacks)
    tell();
}

asio::awaitable<void> websocket_endpoints::async_closed(std::chrono::steady_clock::duration limit) {
  co_await sessions_.async_wait_zero(limit);
}

}  // namespace offload::net
