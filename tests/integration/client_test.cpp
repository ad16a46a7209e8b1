// The client library against a real offloadd, directly and through a proxy that breaks connections.
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"
#include "support/proc_helpers.hpp"
#include "support/run_with_deadline.hpp"
#include "support/tcp_proxy.hpp"

#include <offload/client/async_client.hpp>
#include <offload/client/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <future>
#include <set>
#include <thread>

namespace offload::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace asio = boost::asio;

std::string url_of(unsigned short port) {
  return "http://127.0.0.1:" + std::to_string(port);
}

client_options options_for(unsigned short port) {
  client_options options;
  options.url = url_of(port);
  options.request_timeout = 30s;
  return options;
}

proto::job_spec job(std::string type, json input = json::object()) {
  proto::job_spec spec;
  spec.type = std::move(type);
  spec.input = std::move(input);
  return spec;
}

// Checks an event sequence is 1, 2, 3, … with exactly one terminal event at the end.
void expect_complete_log(const std::vector<proto::job_event>& events) {
  ASSERT_FALSE(events.empty());
  for (std::size_t i = 0; i < events.size(); ++i)
    ASSERT_EQ(events[i].seq, i + 1) << "gap or duplicate at index " << i;
  for (std::size_t i = 0; i + 1 < events.size(); ++i)
    EXPECT_FALSE(proto::is_terminal(events[i].type));
  EXPECT_TRUE(proto::is_terminal(events.back().type));
}

class client_test : public ::testing::Test {
 protected:
  temp_dir dir_;
  std::string config_ =
      dir_.write("commands.json",
                 json{{"commands",
                       {{"drip", test_command({"drip", "{input.mib}"}, {{"max_output_bytes", 16 << 20}})},
                        {"flood", test_command({"flood", "{input.mib}"}, {{"max_output_bytes", 16 << 20}})},
                        {"true", {{"argv", {"/bin/true"}}, {"result", "exit_code"}}}}}}
                     .dump());
  offloadd_process server_{{"--config", config_, "--threads", "2", "--process-workers", "1", "--max-body",
                            "65536", "--ws-max-queued-bytes", "262144", "--max-log-bytes", "33554432",
                            "--work-root", dir_.path().string()}};
  offload::client client_{options_for(server_.port())};
};

TEST_F(client_test, every_call_of_the_blocking_client) {
  ASSERT_TRUE(client_.health());

  const auto types = client_.types().value();
  const auto sum =
      std::find_if(types.begin(), types.end(), [](const type_info& t) { return t.name == "sum"; });
  ASSERT_NE(sum, types.end());
  EXPECT_EQ(sum->lanes, (std::vector<proto::lane>{proto::lane::thread, proto::lane::process}));
  EXPECT_TRUE(sum->input_schema.is_object());

  const auto sub = client_.submit(job("sum", {{"n", 1000}})).value();
  EXPECT_FALSE(sub.replayed);
  EXPECT_TRUE(sub.idempotency_key.has_value()) << "submit adds a key so retries cannot duplicate";
  const auto done = client_.wait(sub.id, 30s).value();
  EXPECT_EQ(done.state, proto::job_state::succeeded);
  EXPECT_EQ(done.result, (json{{"sum", "499500"}}));
  EXPECT_EQ(client_.get(sub.id).value().state, proto::job_state::succeeded);

  list_filter filter;
  filter.type = "sum";
  filter.limit = 10;
  const auto page = client_.list(filter).value();
  ASSERT_EQ(page.jobs.size(), 1u);
  EXPECT_EQ(page.jobs[0].id, sub.id);
  EXPECT_FALSE(page.next);

  const auto again = client_.cancel(sub.id);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(errc::already_finished));
  EXPECT_EQ(again.error().http_status, 409u);
  EXPECT_THROW(again.value(), client_error);
}

TEST_F(client_test, submit_with_wait_and_cancel) {
  const auto quick = client_.submit(job("sleep", {{"ms", 20}}), 10s).value();
  EXPECT_EQ(quick.state, proto::job_state::succeeded);

  const auto slow = client_.submit(job("sleep", {{"ms", 60000}})).value();
  const auto cancelled = client_.cancel(slow.id).value();
  EXPECT_EQ(cancelled.state, proto::job_state::cancelled);
  const auto ended = client_.wait(slow.id, 30s).value();
  EXPECT_EQ(ended.state, proto::job_state::cancelled);
  ASSERT_TRUE(ended.error);
  EXPECT_EQ(ended.error->code, proto::errc::cancelled);
}

TEST_F(client_test, server_errors_become_codes_with_messages) {
  const auto check = [](const auto& r, errc code, unsigned status) {
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(code)) << r.error().code.message() << ": " << r.error().message;
    EXPECT_EQ(r.error().http_status, status);
    EXPECT_FALSE(r.error().message.empty());
  };
  check(client_.submit(job("sum", {{"n", "many"}})), errc::invalid_input, 400);
  check(client_.submit(job("no_such_type")), errc::unknown_type, 400);
  auto thread_only = job("true");
  thread_only.lane = proto::lane::thread;
  check(client_.submit(thread_only), errc::lane_unavailable, 400);
  check(client_.get("000000000000deadbeef"), errc::not_found, 404);
  check(client_.cancel("000000000000deadbeef"), errc::not_found, 404);
  check(client_.submit(job("echo", {{"blob", std::string(100'000, 'x')}})), errc::payload_too_large, 413);

  auto first = job("echo", {{"a", 1}});
  first.idempotency_key = "same-key";
  ASSERT_TRUE(client_.submit(first));
  auto replay = client_.submit(first).value();
  EXPECT_TRUE(replay.replayed);
  auto different = job("echo", {{"a", 2}});
  different.idempotency_key = "same-key";
  check(client_.submit(different), errc::idempotency_conflict, 409);

  // The error codes form one category that names every server code.
  EXPECT_STREQ(make_error_code(errc::queue_full).category().name(), "offload");
}

TEST(client_queue, queue_full_carries_retry_after) {
  offloadd_process server{{"--threads", "1", "--max-queued", "1"}};
  offload::client c{options_for(server.port())};
  const auto running = c.submit(job("sleep", {{"ms", 60000}})).value();
  wait_for_job(server.port(), running.id, [](const json& v) { return is_state(v, "running"); });
  const auto queued = c.submit(job("sleep", {{"ms", 60000}})).value();
  const auto refused = c.submit(job("sleep", {{"ms", 1}}));
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(errc::queue_full));
  EXPECT_EQ(refused.error().http_status, 429u);
  ASSERT_TRUE(refused.error().retry_after);
  EXPECT_GE(refused.error().retry_after->count(), 1);
  ASSERT_TRUE(c.cancel(queued.id));
  ASSERT_TRUE(c.cancel(running.id));
}

TEST(client_drain, submissions_during_drain_get_draining) {
  offloadd_process server{{"--drain-seconds", "30"}};
  offload::client c{options_for(server.port())};
  const auto running = c.submit(job("sleep", {{"ms", 2000}})).value();
  wait_for_job(server.port(), running.id, [](const json& v) { return is_state(v, "running"); });
  auto followed =
      std::async(std::launch::async, [&] { return c.stream(running.id, [](const proto::job_event&) {}); });
  server.signal(SIGTERM);
  // The listener stays open while draining; new work is refused with a code the caller can act on.
  result<submission> refused;
  wait_until(
      [&] {
        refused = c.submit(job("echo"));
        return !refused && refused.error().is(errc::draining);
      },
      "draining answers");
  EXPECT_EQ(refused.error().http_status, 503u);
  EXPECT_EQ(followed.get().value().type, proto::event_type::succeeded)
      << "running jobs finish during the drain";
  EXPECT_EQ(server.wait_exit(30s), 0);
}

TEST_F(client_test, stream_survives_cut_connections_without_gap_or_duplicate) {
  tcp_proxy proxy{server_.port()};
  proxy.fault().cut_streams = 3;
  proxy.fault().cut_after_bytes = 40'000;  // about two 16 KiB output events per connection
  offload::client c{options_for(proxy.port())};
  const auto sub = c.submit(job("drip", {{"mib", 1}})).value();

  std::vector<proto::job_event> events;
  const auto terminal = c.stream(sub.id, [&](const proto::job_event& e) { events.push_back(e); }).value();
  EXPECT_EQ(terminal.type, proto::event_type::succeeded);
  expect_complete_log(events);
  std::size_t bytes = 0;
  for (const auto& e : events)
    if (e.type == proto::event_type::output) bytes += e.data.at("data").get<std::string>().size();
  EXPECT_EQ(bytes, 1u << 20);
  EXPECT_GE(proxy.upgrades(), 4) << "three cut connections and the one that finished";
}

// The number of server-started WebSocket closes with `code` so far.
double closes_with(unsigned short port, int code) {
  const auto body = http_get(port, "/metrics").body;
  const std::string line = "offload_websocket_closes_total{code=\"" + std::to_string(code) + "\"} ";
  const auto at = body.find(line);
  return at == std::string::npos ? 0 : std::stod(body.substr(at + line.size()));
}

// Both orders of the race: `flood` (a child writing as fast as it can) overflows the 256 KiB backlog while
// the kernel still takes the writer's frames; `drip` (~4 MB/s, slower than the writer) lets the kernel's
// socket buffers fill first, so the 1013 is decided while a write waits for the stalled reader. Either way
// the shed is counted at once, and the close frame follows what the kernel holds.
TEST_F(client_test, stream_resumes_after_the_server_sheds_a_slow_reader) {
  double shed_before = 0;
  for (const char* type : {"flood", "drip"}) {
    SCOPED_TRACE(type);
    const auto sub = client_.submit(job(type, {{"mib", 8}})).value();
    std::vector<proto::job_event> events;
    std::size_t bytes = 0;
    const auto terminal =
        client_
            .stream(sub.id,
                    [&](const proto::job_event& e) {
                      // Stalled on the first output event until the server, whose per-socket queue (256 KiB)
                      // overflows meanwhile, has shed the socket with 1013; the client then resumes.
                      if (e.type == proto::event_type::output && bytes == 0)
                        wait_until([&] { return closes_with(server_.port(), 1013) > shed_before; },
                                   "the server to shed the stalled reader with 1013");
                      events.push_back(e);
                      if (e.type == proto::event_type::output)
                        bytes += e.data.at("data").get<std::string>().size();
                    })
            .value();
    EXPECT_EQ(terminal.type, proto::event_type::succeeded);
    expect_complete_log(events);
    EXPECT_EQ(bytes, 8u << 20) << "resumed after the 1013 without a gap";
    shed_before = closes_with(server_.port(), 1013);
  }
}

TEST_F(client_test, stream_from_after_skips_what_was_seen) {
  const auto sub = client_.submit(job("sleep", {{"ms", 10}})).value();
  ASSERT_TRUE(client_.wait(sub.id, 30s));
  std::vector<std::uint64_t> seqs;
  const auto terminal = client_.stream(
      sub.id, [&](const proto::job_event& e) { seqs.push_back(e.seq); }, 1);
  ASSERT_TRUE(terminal);
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{2, 3}));
}

TEST_F(client_test, stream_of_unknown_job_fails_at_once) {
  tcp_proxy proxy{server_.port()};
  offload::client c{options_for(proxy.port())};
  const auto r = c.stream("000000000000deadbeef", [](const proto::job_event&) {});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::not_found));
  EXPECT_EQ(r.error().http_status, 404u);
  EXPECT_EQ(proxy.upgrades(), 1) << "not_found is not retried";
}

TEST_F(client_test, wait_polls_when_websocket_is_refused) {
  tcp_proxy proxy{server_.port()};
  proxy.fault().refuse_upgrades = true;
  offload::client c{options_for(proxy.port())};
  const auto sub = c.submit(job("sleep", {{"ms", 300}})).value();
  const auto done = c.wait(sub.id, 30s).value();
  EXPECT_EQ(done.state, proto::job_state::succeeded);
  EXPECT_EQ(proxy.upgrades(), 1);

  const auto streamed = c.stream(sub.id, [](const proto::job_event&) {});
  ASSERT_FALSE(streamed);
  EXPECT_TRUE(streamed.error().is(errc::upgrade_required));
}

TEST_F(client_test, wait_times_out_while_the_job_runs_on) {
  const auto sub = client_.submit(job("sleep", {{"ms", 60000}})).value();
  const auto r = client_.wait(sub.id, 300ms);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::wait_timeout));
  EXPECT_EQ(client_.get(sub.id).value().state, proto::job_state::running);
  ASSERT_TRUE(client_.cancel(sub.id));
}

TEST_F(client_test, a_lost_answer_is_retried_without_a_second_job) {
  tcp_proxy proxy{server_.port()};
  proxy.fault().swallow_posts = 1;
  offload::client c{options_for(proxy.port())};
  const auto sub = c.submit(job("echo", {{"marker", "retried"}})).value();
  EXPECT_TRUE(sub.replayed) << "the second send found the job the first one created";
  list_filter filter;
  filter.type = "echo";
  const auto page = c.list(filter).value();
  EXPECT_EQ(std::count_if(page.jobs.begin(), page.jobs.end(),
                          [](const proto::job_view& v) { return v.idempotency_key.has_value(); }),
            1);
  EXPECT_GE(proxy.connections(), 2);
}

TEST(client_transport, a_server_that_never_answers_times_out) {
  silent_server silent;
  auto options = options_for(silent.port());
  options.request_timeout = 300ms;
  options.submit_retries = 1;
  offload::client c{options};
  const auto health = c.health();
  ASSERT_FALSE(health);
  EXPECT_TRUE(health.error().is(errc::timeout)) << health.error().message;
  const auto sub = c.submit(job("echo"));
  ASSERT_FALSE(sub);
  EXPECT_TRUE(sub.error().is(errc::timeout));
  EXPECT_EQ(sub.error().http_status, 0u);
}

TEST(client_transport, refused_connections_and_bad_urls) {
  unsigned short closed_port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor a{io, {asio::ip::make_address("127.0.0.1"), 0}};
    closed_port = a.local_endpoint().port();
  }
  auto options = options_for(closed_port);
  options.max_reconnect_attempts = 2;
  options.reconnect_initial_delay = 10ms;
  offload::client c{options};
  const auto r = c.get("x");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::connect_failed)) << r.error().message;
  const auto s = c.stream("x", [](const proto::job_event&) {});
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(errc::reconnect_exhausted)) << s.error().message;

  for (const auto* bad : {"https://example.com", "127.0.0.1:8080", "http://", "http://h:0", "http://h:99999",
                          "http://user@h", "http://h/x?y"}) {
    client_options o;
    o.url = bad;
    try {
      offload::client broken{o};
      ADD_FAILURE() << bad << " was accepted";
    } catch (const client_error& e) {
      EXPECT_TRUE(e.details().is(errc::invalid_url)) << bad;
    }
  }
}

TEST(client_transport, a_url_prefix_is_prepended_to_every_path) {
  offloadd_process server;
  auto options = options_for(server.port());
  options.url += "/behind/a/proxy/";
  offload::client c{options};
  const auto r = c.get("000000000000deadbeef");
  ASSERT_FALSE(r);
  // The server has no such prefix: its router answers not_found for the whole path, proving it was sent.
  EXPECT_TRUE(r.error().is(errc::not_found));
  EXPECT_NE(r.error().message.find("/behind/a/proxy/v1/jobs"), std::string::npos) << r.error().message;
}

// A plain function: its braced lists stay out of the coroutine's co_await expressions (rule 1 of
// offload/asio_support.hpp).
proto::job_spec sum_job(int n) {
  return job("sum", {{"n", n}});
}

asio::awaitable<std::vector<proto::job_view>> submit_many_async(unsigned short port, int count) {
  async_client c{co_await asio::this_coro::executor, options_for(port)};
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    auto sub = co_await c.async_submit(sum_job(1000 + i));
    ids.push_back(sub.value().id);
  }
  std::vector<proto::job_view> views;
  for (const auto& id : ids) {
    auto done = co_await c.async_wait(id, 30s);
    views.push_back(done.value());
  }
  std::uint64_t last = 0;
  offload::event_handler note_seq = [&last](const proto::job_event& e) { last = e.seq; };  // rule 2
  auto terminal = co_await c.async_stream(ids.front(), std::move(note_seq));
  if (!terminal || terminal->seq != last)
    throw std::runtime_error("async_stream did not end on the terminal event");
  co_return views;
}

TEST_F(client_test, the_async_client_in_a_coroutine) {
  asio::io_context io{1};
  const auto views = run_with_deadline(io, submit_many_async(server_.port(), 20), 60s);
  ASSERT_EQ(views.size(), 20u);
  for (std::size_t i = 0; i < views.size(); ++i) {
    EXPECT_EQ(views[i].state, proto::job_state::succeeded);
    const auto n = 1000 + i;
    EXPECT_EQ(views[i].result, (json{{"sum", std::to_string(n * (n - 1) / 2)}}));
  }
}

}  // namespace
}  // namespace offload::test
