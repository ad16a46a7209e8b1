// One connection to Redis through hiredis's asynchronous API, driven by the reactor: the socket's readiness
// comes from `asio::posix::stream_descriptor::async_wait`; hiredis reads when the socket is readable and
// writes (the socket is non-blocking) at the end of the turn that queued commands, waiting for writability
// only when the socket took part of them, so no call ever blocks the reactor (the host name is resolved by
// Asio's resolver, off the reactor). The connection logs in, selects the database and loads the Lua scripts
// on every (re)connect, reconnects with back-off when Redis goes away, and drops a connection whose replies
// stop coming.
#pragma once

#include "core/store/redis/redis_args.hpp"
#include "core/store/redis/redis_endpoint.hpp"
#include "core/store/redis/redis_reply.hpp"

#include <offload/proto/result.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace offload::core {

struct redis_connection_options {
  redis_endpoint endpoint;
  /// `CLIENT SETNAME`: what `CLIENT LIST` shows for this connection.
  std::string name = "offloadd";
  /// Lua scripts loaded (`SCRIPT LOAD`) on every connect; `async_script(i, …)` runs `scripts[i]`.
  std::vector<std::string> scripts;
  /// Channels this connection follows (`SUBSCRIBE` on every connect); such a connection runs no other
  /// command. Messages go to `on_message`.
  std::vector<std::string> channels;
  std::function<void(std::string_view channel, std::string_view message)> on_message;
  /// Called on the reactor each time the connection is (again) ready, after the scripts are loaded.
  std::function<void()> on_ready;
  /// Called on the reactor each time a ready connection is lost.
  std::function<void()> on_lost;
  /// A connect (with log-in and script loading) taking longer than this is abandoned and retried.
  std::chrono::milliseconds connect_timeout{3000};
  /// A reply later than this (past a command's own blocking time) drops the connection: Redis is hung or
  /// the network is gone, and every command sent on it fails with `storage_unavailable`.
  std::chrono::milliseconds reply_timeout{5000};
  /// Back-off between connect attempts: from `min_backoff`, doubling, up to `max_backoff`.
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
};

/// Counters for `/metrics` and tests.
struct redis_connection_stats {
  std::uint64_t commands = 0;
  std::uint64_t connects = 0;
  std::uint64_t losses = 0;
};

/// A handle to one connection; every member must be called on the reactor. Commands sent while it is
/// connected are pipelined (hiredis writes whatever is buffered once the socket is writable).
class redis_connection {
 public:
  redis_connection(boost::asio::any_io_executor reactor, redis_connection_options options);
  /// Stops (see `stop`).
  ~redis_connection();
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  /// Starts connecting; from now on the connection reconnects by itself until `stop`.
  void start();
  /// Closes the connection; commands awaiting a reply complete with `storage_unavailable`.
  void stop();

  /// Connected, logged in, scripts loaded.
  bool ready() const noexcept;
  /// Why the last connect failed or the connection was lost (never holds the password); empty when none.
  const std::string& last_error() const noexcept;
  redis_connection_stats stats() const noexcept;
  const redis_endpoint& endpoint() const noexcept;

  /// Completes once ready, or after `limit` (then false).
  boost::asio::awaitable<bool> async_wait_ready(std::chrono::steady_clock::duration limit);

  /// Sends one command. Completes with its reply (which may be an error reply of Redis), or with
  /// `storage_unavailable` when the connection is not ready or is lost before the reply. `blocks_for` is
  /// how long the command itself may wait in Redis (`XREAD BLOCK`), added to the reply timeout.
  boost::asio::awaitable<proto::result<redis_reply>> async_exec(
      std::vector<std::string> args, std::chrono::milliseconds blocks_for = std::chrono::milliseconds{0});
  /// Runs script `index` of the options with `EVALSHA` (with `EVAL` when Redis lost it: `SCRIPT FLUSH`).
  boost::asio::awaitable<proto::result<redis_reply>> async_script(std::size_t index,
                                                                  std::vector<std::string> keys,
                                                                  std::vector<std::string> args);

  using reply_callback = std::function<void(proto::result<redis_reply>)>;
  /// Sends one command now, in call order with every other command, and calls `done` (posted to the
  /// reactor) with what `async_exec` would complete with. For write-behind queues, whose order matters.
  void send(std::vector<std::string> args, reply_callback done);
  /// `send` for script `index` (`EVALSHA`, then `EVAL` when Redis lost it).
  void send_script(std::size_t index, std::vector<std::string> keys, std::vector<std::string> args,
                   reply_callback done);
  /// The same with the keys (the first `key_count` arguments) and the arguments already in RESP.
  void send_script(std::size_t index, std::size_t key_count, redis_args keys_and_args, reply_callback done);

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace offload::core
