// The Redis connection of the Redis store (hiredis's asynchronous API on the reactor) against a real
// redis-server: commands and pipelining, log-in and database, scripts, subscriptions, and what happens when
// Redis restarts, hangs, or is not there.
#include "core/store/redis/redis_connection.hpp"

#include "support/redis_server.hpp"
#include "support/run_with_deadline.hpp"

#include <offload/asio_support.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <csignal>

namespace offload {
namespace {

using namespace std::chrono_literals;
using core::redis_connection;
using core::redis_connection_options;
using core::redis_endpoint;
using core::redis_reply;
using test::redis_server;
using test::run_until_complete;

redis_connection_options options_for(const redis_server& server) {
  redis_connection_options o;
  o.endpoint = redis_endpoint::parse(server.url()).value();
  o.min_backoff = 20ms;
  o.max_backoff = 200ms;
  return o;
}

/// One command, run to its reply on `ioc`.
proto::result<redis_reply> exec(asio::io_context& ioc, redis_connection& c, std::vector<std::string> args) {
  return run_until_complete(ioc, c.async_exec(std::move(args)), 10s);
}

bool wait_ready(asio::io_context& ioc, redis_connection& c, std::chrono::milliseconds limit = 10s) {
  return run_until_complete(ioc, c.async_wait_ready(limit), limit + 5s);
}

/// Runs the reactor until `done` holds (a condition with a deadline, not a sleep).
template <class Pred>
bool run_until(asio::io_context& ioc, Pred done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  ioc.restart();
  while (!done() && std::chrono::steady_clock::now() < deadline)
    ioc.run_one_for(20ms);
  return done();
}

/// `INCR counter`, its reply kept in `seen[i]` (a coroutine function: a lambda's captures would die with
/// the closure before the coroutine ends).
asio::awaitable<void> incr(redis_connection& c, std::vector<std::int64_t>& seen, std::size_t& done,
                           std::size_t i) {
  std::vector<std::string> args{"INCR", "counter"};
  auto r = co_await c.async_exec(std::move(args));
  seen[i] = r ? r->integer : -2;
  ++done;
}

TEST(redis_connection_test, commands_get_their_replies_in_order_and_errors_are_replies) {
  redis_server server;
  asio::io_context ioc;
  redis_connection c{ioc.get_executor(), options_for(server)};
  c.start();
  ASSERT_TRUE(wait_ready(ioc, c)) << c.last_error();

  EXPECT_EQ(exec(ioc, c, {"SET", "k", std::string("a\0b", 3)})->text, "OK");
  const auto value = exec(ioc, c, {"GET", "k"});
  ASSERT_TRUE(value);
  EXPECT_EQ(value->type, redis_reply::kind::string);
  EXPECT_EQ(value->text, std::string("a\0b", 3));
  EXPECT_TRUE(exec(ioc, c, {"GET", "missing"})->is_nil());
  EXPECT_EQ(exec(ioc, c, {"RPUSH", "list", "x", "y"})->integer, 2);
  const auto list = exec(ioc, c, {"LRANGE", "list", "0", "-1"});
  ASSERT_TRUE(list && list->is_array());
  ASSERT_EQ(list->elements.size(), 2u);
  EXPECT_EQ(list->elements[1].text, "y");
  // A command Redis refuses is a reply, not a failure of the connection.
  const auto wrong = exec(ioc, c, {"INCR", "list"});
  ASSERT_TRUE(wrong);
  EXPECT_TRUE(wrong->is_error());
  EXPECT_TRUE(wrong->text.starts_with("WRONGTYPE")) << wrong->text;
  EXPECT_TRUE(c.ready());

  // 2,000 commands sent in one turn of the reactor are pipelined; each gets its own reply, in order.
  auto burst = [&c]() -> asio::awaitable<std::vector<std::int64_t>> {
    std::vector<std::int64_t> seen(2000, -1);
    std::size_t done = 0;
    auto ex = co_await asio::this_coro::executor;
    for (std::size_t i = 0; i < seen.size(); ++i) {
      asio::co_spawn(ex, incr(c, seen, done, i), asio::detached);
    }
    asio::steady_timer timer{ex};
    while (done < seen.size()) {
      timer.expires_after(1ms);
      co_await timer.async_wait(use_tuple);
    }
    co_return seen;
  };
  const auto seen = run_until_complete(ioc, burst(), 20s);
  for (std::size_t i = 0; i < seen.size(); ++i)
    ASSERT_EQ(seen[i], static_cast<std::int64_t>(i + 1)) << "command " << i;
  EXPECT_EQ(server.call({"GET", "counter"}), "2000");
}

TEST(redis_connection_test, a_command_larger_than_the_socket_takes_at_once_is_written_in_parts) {
  redis_server server;
  asio::io_context ioc;
  redis_connection c{ioc.get_executor(), options_for(server)};
  c.start();
  ASSERT_TRUE(wait_ready(ioc, c)) << c.last_error();

  // Commands are written at the end of the reactor's turn without waiting for writability first; 48 MiB
  // fill the loopback socket many times over, so the rest must wait for it to drain, then be written.
  std::string big(48u << 20, 'x');
  big.back() = 'y';
  auto both = [&c, &big]() -> asio::awaitable<std::pair<std::string, std::int64_t>> {
    std::vector<std::string> set{"SET", "big", big};
    std::vector<std::string> length{"STRLEN", "big"};
    auto stored = co_await c.async_exec(std::move(set));
    auto size = co_await c.async_exec(std::move(length));
    co_return std::pair{stored ? stored->text : stored.error().message, size ? size->integer : -1};
  };
  const auto [stored, size] = run_until_complete(ioc, both(), 60s);
  EXPECT_EQ(stored, "OK");
  EXPECT_EQ(size, static_cast<std::int64_t>(big.size()));
  EXPECT_EQ(server.call({"GETRANGE", "big", "-1", "-1"}), "y");
  EXPECT_TRUE(c.ready());
}

TEST(redis_connection_test, logs_in_selects_its_database_and_names_itself) {
  redis_server server{{.password = "s3cret-pass"}};
  asio::io_context ioc;
  auto o = options_for(server);
  o.endpoint =
      redis_endpoint::parse("redis://:s3cret-pass@127.0.0.1:" + std::to_string(server.port()) + "/3").value();
  o.name = "offloadd-test";
  redis_connection c{ioc.get_executor(), o};
  c.start();
  ASSERT_TRUE(wait_ready(ioc, c)) << c.last_error();
  ASSERT_EQ(exec(ioc, c, {"SET", "in-db-3", "yes"})->text, "OK");
  const auto clients = server.call({"CLIENT", "LIST"}).get<std::string>();
  EXPECT_NE(clients.find("name=offloadd-test"), std::string::npos) << clients;
  EXPECT_NE(clients.find(" db=3 "), std::string::npos) << clients;
  const auto script = "redis.call('SELECT', 3) return redis.call('GET', 'in-db-3')";
  EXPECT_EQ(server.call({"EVAL", script, "0"}), "yes");
}

TEST(redis_connection_test, a_wrong_password_is_reported_without_the_password) {
  redis_server server{{.password = "right-password"}};
  asio::io_context ioc;
  auto o = options_for(server);
  o.endpoint.password = "wrong-password-42";
  redis_connection c{ioc.get_executor(), o};
  c.start();
  ASSERT_TRUE(run_until(ioc, [&] { return !c.last_error().empty(); }));
  EXPECT_FALSE(c.ready());
  EXPECT_NE(c.last_error().find("WRONGPASS"), std::string::npos) << c.last_error();
  EXPECT_EQ(c.last_error().find("wrong-password-42"), std::string::npos) << c.last_error();
  const auto refused = exec(ioc, c, {"PING"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, proto::errc::storage_unavailable);
  EXPECT_EQ(refused.error().message.find("wrong-password-42"), std::string::npos);
}

TEST(redis_connection_test, reconnects_by_itself_after_redis_restarts) {
  redis_server server;
  asio::io_context ioc;
  auto o = options_for(server);
  int lost = 0, ready = 0;
  o.on_lost = [&] { ++lost; };
  o.on_ready = [&] { ++ready; };
  redis_connection c{ioc.get_executor(), o};
  c.start();
  ASSERT_TRUE(wait_ready(ioc, c)) << c.last_error();
  ASSERT_TRUE(run_until(ioc, [&] { return ready == 1; }));

  server.stop(SIGKILL);
  ASSERT_TRUE(run_until(ioc, [&] { return !c.ready(); }));
  const auto down = exec(ioc, c, {"PING"});
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, proto::errc::storage_unavailable);
  EXPECT_EQ(lost, 1);

  server.start();
  ASSERT_TRUE(wait_ready(ioc, c)) << c.last_error();
  EXPECT_EQ(exec(ioc, c, {"PING"})->text, "PONG");
  ASSERT_TRUE(run_until(ioc, [&] { return ready == 2; }));
  EXPECT_EQ(c.stats().connects, 2u);
  EXPECT_EQ(c.stats().losses, 1u);
  EXPECT_TRUE(c.last_error().empty()) << c.last_error();
}

TEST(redis_connection_test, a_hung_redis_fails_waiting_commands_and_the_connection_comes_back) {
  redis_server server;
  asio::io_context ioc;
  auto o = options_for(server);
  o.reply_timeout = 300ms;
  o.connect_timeout = 300ms;
  redis_connection c{ioc.get_executor(), o};
  c.start();
  ASSERT_TRUE(wait_ready(ioc, c)) << c.last_error();

  server.pause();
  const auto hung = exec(ioc, c, {"PING"});
  ASSERT_FALSE(hung);
  EXPECT_EQ(hung.error().code, proto::errc::storage_unavailable);
  EXPECT_NE(hung.error().message.find("no reply within 300 ms"), std::string::npos) << hung.error().message;
  EXPECT_FALSE(c.ready());

  server.resume();
  ASSERT_TRUE(wait_ready(ioc, c)) << c.last_error();
  EXPECT_EQ(exec(ioc, c, {"PING"})->text, "PONG");
}

TEST(redis_connection_test, a_redis_that_is_not_there_yet_is_waited_for) {
  redis_server server;
  server.stop(SIGTERM);
  asio::io_context ioc;
  redis_connection c{ioc.get_executor(), options_for(server)};
  c.start();
  ASSERT_TRUE(run_until(ioc, [&] { return !c.last_error().empty(); }));
  EXPECT_NE(c.last_error().find("cannot connect to redis://127.0.0.1:" + std::to_string(server.port())),
            std::string::npos)
      << c.last_error();
  EXPECT_FALSE(exec(ioc, c, {"PING"}));

  server.start();
  ASSERT_TRUE(wait_ready(ioc, c)) << c.last_error();
  EXPECT_EQ(exec(ioc, c, {"PING"})->text, "PONG");
}

TEST(redis_connection_test, scripts_run_by_their_digest_and_survive_a_script_flush) {
  redis_server server;
  asio::io_context ioc;
  auto o = options_for(server);
  o.scripts = {"return KEYS[1] .. ':' .. ARGV[1]", "return redis.call('INCRBY', KEYS[1], ARGV[1])"};
  redis_connection c{ioc.get_executor(), o};
  c.start();
  ASSERT_TRUE(wait_ready(ioc, c)) << c.last_error();
  auto run = [&](std::size_t index, std::string key, std::string arg) {
    std::vector<std::string> keys{std::move(key)}, args{std::move(arg)};
    return run_until_complete(ioc, c.async_script(index, std::move(keys), std::move(args)), 10s);
  };
  EXPECT_EQ(run(0, "key", "value")->text, "key:value");
  EXPECT_EQ(run(1, "n", "5")->integer, 5);
  ASSERT_EQ(server.call({"SCRIPT", "FLUSH"}), "OK");
  EXPECT_EQ(run(1, "n", "2")->integer, 7);
  EXPECT_EQ(run(0, "a", "b")->text, "a:b");

  // Write-behind, arguments already in RESP (empty, binary, line breaks): two in a row after another
  // flush both fall back to EVAL, and their answers come in order.
  ASSERT_EQ(server.call({"SCRIPT", "FLUSH"}), "OK");
  std::vector<std::string> answers;
  const std::string binary{"x\r\n\0y", 5};
  for (const auto& arg : {std::string{}, binary}) {
    core::redis_args args;
    args.add("k").add(arg);
    c.send_script(0, 1, std::move(args), [&answers](proto::result<redis_reply> r) {
      answers.push_back(r ? r->text : "error: " + r.error().message);
    });
  }
  ASSERT_TRUE(run_until(ioc, [&] { return answers.size() == 2; }));
  EXPECT_EQ(answers, (std::vector<std::string>{"k:", "k:" + binary}));
}

TEST(redis_connection_test, a_subscriber_gets_messages_and_subscribes_again_after_a_restart) {
  redis_server server;
  asio::io_context ioc;
  auto o = options_for(server);
  o.channels = {"offload:test:a", "offload:test:b"};
  std::vector<std::string> got;
  o.on_message = [&](std::string_view channel, std::string_view message) {
    got.push_back(std::string{channel} + "=" + std::string{message});
  };
  redis_connection c{ioc.get_executor(), o};
  c.start();
  // Ready means subscribed: a message published from now on arrives.
  ASSERT_TRUE(wait_ready(ioc, c)) << c.last_error();
  EXPECT_EQ(server.call({"PUBLISH", "offload:test:b", "one"}), 1);
  ASSERT_TRUE(run_until(ioc, [&] { return got.size() == 1; }));
  EXPECT_EQ(got[0], "offload:test:b=one");

  server.stop(SIGKILL);
  ASSERT_TRUE(run_until(ioc, [&] { return !c.ready(); }));
  server.start();
  ASSERT_TRUE(wait_ready(ioc, c)) << c.last_error();
  EXPECT_EQ(server.call({"PUBLISH", "offload:test:a", "two"}), 1);
  ASSERT_TRUE(run_until(ioc, [&] { return got.size() == 2; }));
  EXPECT_EQ(got[1], "offload:test:a=two");
}

TEST(redis_connection_test, stop_fails_what_waits_and_ends_reconnecting) {
  redis_server server;
  asio::io_context ioc;
  auto c = std::make_unique<redis_connection>(ioc.get_executor(), options_for(server));
  c->start();
  ASSERT_TRUE(wait_ready(ioc, *c)) << c->last_error();
  // BLPOP waits in Redis; stopping the connection completes it with storage_unavailable.
  std::optional<proto::result<redis_reply>> blocked;
  auto wait = [&]() -> asio::awaitable<void> {
    std::vector<std::string> args{"BLPOP", "nothing", "0"};
    blocked = co_await c->async_exec(std::move(args), 60s);
  };
  asio::co_spawn(ioc, wait(), asio::detached);
  ASSERT_TRUE(run_until(ioc, [&] {
    const auto clients = server.call({"CLIENT", "LIST"}).get<std::string>();
    return clients.find("cmd=blpop") != std::string::npos;
  }));
  c->stop();
  ASSERT_TRUE(run_until(ioc, [&] { return blocked.has_value(); }));
  ASSERT_FALSE(*blocked);
  EXPECT_EQ(blocked->error().code, proto::errc::storage_unavailable);
  c.reset();
  // Nothing of the connection is left on the reactor: it runs out of work.
  ioc.restart();
  ioc.run_for(5s);
  EXPECT_TRUE(ioc.stopped());
}

TEST(redis_endpoint_test, urls_are_parsed_and_described_without_the_password) {
  const auto full = redis_endpoint::parse("redis://app:p%40ss%3Aword@cache.internal:6380/2");
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(full->host, "cache.internal");
  EXPECT_EQ(full->port, 6380);
  EXPECT_EQ(full->user, "app");
  EXPECT_EQ(full->password, "p@ss:word");
  EXPECT_EQ(full->db, 2);
  EXPECT_EQ(full->describe(), "redis://app@cache.internal:6380/2");

  const auto plain = redis_endpoint::parse("redis://127.0.0.1");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->db, 0);
  EXPECT_TRUE(plain->password.empty());

  const auto v6 = redis_endpoint::parse("redis://:pw@[::1]:7000/");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7000);
  EXPECT_EQ(v6->password, "pw");
  EXPECT_EQ(v6->describe(), "redis://[::1]:7000/0");

  for (const auto* bad : {"http://h:1", "redis://", "redis://h:0", "redis://h:65536", "redis://h:x",
                          "redis://h:", "redis://h/-1", "redis://h/x", "redis://[::1", "redis://[::1]x",
                          "redis://user@h", "redis://:p%zz@h", "redis://h h", "redis://:secret-pw@h:99999"}) {
    const auto e = redis_endpoint::parse(bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().message.find("secret-pw"), std::string::npos) << e.error().message;
    EXPECT_TRUE(e.error().message.starts_with("--store: ")) << e.error().message;
  }
}

}  // namespace
}  // namespace offload
