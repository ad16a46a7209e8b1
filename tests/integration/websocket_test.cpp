// Job events over WebSocket from a real offloadd: replay and resume without gaps or duplicates,
// the multiplexed socket, slow consumers, bad messages, a thousand subscribers, and process output.
#include "support/http_client.hpp"
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"
#include "support/proc_helpers.hpp"
#include "support/raw_socket.hpp"
#include "support/ws_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include <random>
#include <sys/resource.h>

namespace offload::test {
namespace {

using nlohmann::json;

std::string events_target(const std::string& id, std::uint64_t after = 0) {
  return "/v1/jobs/" + id + "/events?after=" + std::to_string(after);
}

std::vector<std::uint64_t> seqs(const std::vector<json>& events) {
  std::vector<std::uint64_t> out;
  for (const auto& e : events)
    out.push_back(e.at("seq").get<std::uint64_t>());
  return out;
}

// 1, 2, …, n
std::vector<std::uint64_t> one_to(std::uint64_t n) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t i = 1; i <= n; ++i)
    out.push_back(i);
  return out;
}

class websocket_test : public ::testing::Test {
 protected:
  temp_dir dir_;
  std::string config_ = dir_.write(
      "commands.json",
      json{
          {"commands",
           {{"cat",
             {{"argv", {TEST_CHILD_PATH, "echo"}}, {"stdin", "input.data"}, {"max_output_bytes", 64 << 20}}},
            {"drip", {{"argv", {TEST_CHILD_PATH, "drip", "{input.mib}"}}, {"max_output_bytes", 256 << 20}}},
            // ~1 MB/s: far below what any reading client manages, even a sanitizer build on a loaded machine.
            {"slow_drip",
             {{"argv", {TEST_CHILD_PATH, "drip", "{input.mib}", "16000"}},
              {"max_output_bytes", 256 << 20}}}}}}
          .dump());
  offloadd_process server_{{"--threads", "1", "--process-workers", "1", "--config", config_,
                            "--max-log-bytes", "128m", "--max-body", "8m"}};
  unsigned short port() const { return server_.port(); }
};

TEST_F(websocket_test, subscribing_before_start_and_after_the_end_gives_identical_sequences) {
  // A blocker holds the only thread, so the job is still queued when the first subscriber arrives.
  const auto blocker =
      submit(port(), {{"type", "sleep"}, {"input", {{"ms", 600000}}}})["id"].get<std::string>();
  const auto id = submit(port(), {{"type", "sum"}, {"input", {{"n", 300000000}}}})["id"].get<std::string>();
  ws_client early{port(), events_target(id)};
  const auto first = early.read_json();
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["type"], "queued");
  ASSERT_EQ(http_delete(port(), "/v1/jobs/" + blocker).status, 200u);

  auto live = early.read_all();
  live.insert(live.begin(), *first);
  EXPECT_EQ(early.close_code(), 1000);
  ASSERT_GE(live.size(), 5u);
  EXPECT_EQ(seqs(live), one_to(live.size()));
  EXPECT_EQ(live[1]["type"], "started");
  EXPECT_EQ(live[2]["type"], "progress");
  EXPECT_EQ(live.back()["type"], "succeeded");
  EXPECT_EQ(live.back()["result"]["sum"], "44999999850000000");

  ws_client late{port(), events_target(id)};
  EXPECT_EQ(late.read_all(), live) << "the replay is the same log, frame for frame";
  EXPECT_EQ(late.close_code(), 1000);
}

TEST_F(websocket_test, after_resumes_with_no_gap_and_no_duplicate) {
  const auto id = http_post(port(), "/v1/jobs?wait=60", {{"type", "sum"}, {"input", {{"n", 100000000}}}})
                      .json()["id"]
                      .get<std::string>();
  ws_client all{port(), events_target(id)};
  const auto full = all.read_all();
  ASSERT_GE(full.size(), 5u);
  for (std::uint64_t after = 0; after <= full.size(); ++after) {
    ws_client from{port(), events_target(id, after)};
    const auto rest = from.read_all();
    EXPECT_EQ(rest, std::vector<json>(full.begin() + static_cast<long>(after), full.end()))
        << "after=" << after;
  }
}

TEST_F(websocket_test, a_client_dropped_mid_stream_reconnects_and_reassembles_everything) {
  // About 0.4 s of work here (progress at each tenth: 12 events whatever n), 20–25 s in CI's ThreadSanitizer
  // build, well inside read_all's 60 s (2·10⁹ took 68–77 s there and timed out).
  const auto id = submit(port(), {{"type", "sum"}, {"lane", "process"}, {"input", {{"n", 600000000}}}})["id"]
                      .get<std::string>();
  std::vector<json> got;
  {
    ws_client first{port(), events_target(id)};
    for (int i = 0; i < 4; ++i)
      got.push_back(*first.read_json());
    first.drop();  // vanishes without a closing handshake
  }
  ws_client second{port(), events_target(id, got.back()["seq"].get<std::uint64_t>())};
  for (auto& e : second.read_all())
    got.push_back(std::move(e));
  EXPECT_EQ(seqs(got), one_to(got.size()));
  EXPECT_EQ(got.back()["type"], "succeeded");
  ws_client replay{port(), events_target(id)};
  EXPECT_EQ(replay.read_all(), got);
}

TEST_F(websocket_test, two_subscribers_see_the_same_order) {
  const auto id = submit(port(), {{"type", "sha256"}, {"input", {{"data", "x"}, {"rounds", 3000000}}}})["id"]
                      .get<std::string>();
  ws_client a{port(), events_target(id)};
  ws_client b{port(), events_target(id)};
  const auto from_a = a.read_all();
  const auto from_b = b.read_all();
  EXPECT_EQ(from_a, from_b);
  EXPECT_EQ(from_a.back()["type"], "succeeded");
}

TEST_F(websocket_test, process_output_arrives_in_order_and_byte_exact) {
  std::mt19937 rng{42};
  std::string data;
  for (int i = 0; i < 2 * 1024 * 1024; ++i)
    data.push_back(static_cast<char>('a' + rng() % 26));
  data += "\n€ and ü survive chunking\n";
  const auto id = submit(port(), {{"type", "cat"}, {"input", {{"data", data}}}})["id"].get<std::string>();
  ws_client client{port(), events_target(id)};
  std::string out;
  std::size_t chunks = 0;
  const auto events = client.read_all();
  for (const auto& e : events) {
    if (e["type"] != "output") continue;
    EXPECT_EQ(e["stream"], "stdout");
    out += e["data"].get<std::string>();
    ++chunks;
  }
  EXPECT_GT(chunks, 1u) << "streamed as it came, not in one piece";
  EXPECT_EQ(out.size(), data.size());
  EXPECT_TRUE(out == data) << "the output differs from the input";
  EXPECT_EQ(events.back()["type"], "succeeded");
}

TEST_F(websocket_test, a_slow_reader_is_closed_with_1013_while_others_keep_going) {
  // Only relative speed matters, so the margins are wide: the producer writes ~1 MB/s, a reading client
  // only falls behind if it stalls for seconds (the kernel's buffers plus the 256 KiB queue absorb that),
  // while the client that never reads (receive window of a few KiB) backs up into its queue after the
  // server's send buffer (at most ~4 MiB) fills, well before the 8 MiB are out.
  offloadd_process server{{"--config", config_, "--max-log-bytes", "128m", "--ws-max-queued-bytes", "256k"}};
  const auto port = [&] { return server.port(); };
  const auto id = submit(port(), {{"type", "slow_drip"}, {"input", {{"mib", 8}}}})["id"].get<std::string>();
  ws_client fast{port(), events_target(id)};
  ws_client slow{port(), events_target(id), {.receive_buffer_bytes = 4096}};  // never reads until the end
  const auto events = fast.read_all(std::chrono::seconds{120});
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["type"], "succeeded");
  EXPECT_EQ(fast.close_code(), 1000);
  EXPECT_EQ(http_get(port(), "/healthz").status, 200u);

  // The slow one finds, after whatever was already in flight, a 1013 close; it can resume from its last seq.
  const auto seen = slow.read_all(std::chrono::seconds{120});
  EXPECT_EQ(slow.close_code(), 1013);
  ASSERT_LT(seen.size(), events.size());
  const auto last = seen.empty() ? 0 : seen.back()["seq"].get<std::uint64_t>();
  ws_client resumed{port(), events_target(id, last)};
  auto rest = resumed.read_all(std::chrono::seconds{120});
  auto all = seen;
  all.insert(all.end(), rest.begin(), rest.end());
  EXPECT_EQ(seqs(all), one_to(all.size()));
}

// `n` finished echo jobs whose result (and so whose log) holds `bytes` bytes each.
std::vector<std::string> finished_echo_jobs(unsigned short port, int n, std::size_t bytes) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    const auto view = http_post(port, "/v1/jobs?wait=30",
                                {{"type", "echo"}, {"input", {{"i", i}, {"blob", std::string(bytes, 'b')}}}})
                          .json();
    EXPECT_EQ(view["state"], "succeeded");
    ids.push_back(view["id"].get<std::string>());
  }
  return ids;
}

json subscribe_message(const std::string& id, int req) {
  return {{"op", "subscribe"}, {"req", req}, {"id", id}, {"after", 0}};
}

// Reads until the socket closes or `terminal_events` terminal events have arrived; how many did.
int read_terminal_events(ws_client& ws, int terminal_events) {
  int seen = 0;
  while (seen < terminal_events) {
    const auto message = ws.read_json(std::chrono::seconds{60});
    if (!message) break;
    if ((*message)["op"] == "event" && (*message)["event"]["type"] == "succeeded") ++seen;
  }
  return seen;
}

// 2,500 subscriptions of one finished 1 MB job on one socket that does not read: each is a cursor into the
// job's log, not a copy of it (before, the socket queued 2,500 copies: 2.5 GB).
TEST(websocket_limits_test, resubscribing_a_big_log_costs_a_cursor_not_a_copy) {
  offloadd_process server{{"--store", "memory"}};
  const auto id = finished_echo_jobs(server.port(), 1, 1000 * 1000).front();
  const auto before = status_bytes(server.pid(), "VmRSS");
  ws_client ws{server.port(), "/v1/ws", {.receive_buffer_bytes = 4096}};
  constexpr int subscribes = 2500;
  for (int i = 0; i < subscribes; ++i)
    ws.send(subscribe_message(id, i));
  // Every subscribe is acknowledged, and the last one's log arrives whole after its ack.
  int acks = 0;
  bool terminal_after_last_ack = false;
  while (!terminal_after_last_ack) {
    const auto message = ws.read_json(std::chrono::seconds{60});
    ASSERT_TRUE(message) << "closed with " << ws.close_code().value_or(0);
    if ((*message)["op"] == "ack") ++acks;
    terminal_after_last_ack =
        acks == subscribes && (*message)["op"] == "event" && (*message)["event"]["type"] == "succeeded";
  }
  const auto peak = status_bytes(server.pid(), "VmHWM");
  EXPECT_LT(peak, before + 200 * 1024 * 1024) << "peak RSS " << peak << " from " << before;
}

// A socket whose subscriptions bring more than --ws-max-queued-bytes that it does not read is closed with
// 1013; the same subscriptions past --ws-max-total-queued-bytes (all sockets together) too; and with room
// for them, every job's log arrives.
TEST(websocket_limits_test, unsent_replay_counts_against_the_socket_and_the_global_limits) {
  const auto subscribe_all = [](unsigned short port, const std::vector<std::string>& ids) {
    ws_client ws{port, "/v1/ws", {.receive_buffer_bytes = 4096}};
    for (std::size_t i = 0; i < ids.size(); ++i)
      ws.send(subscribe_message(ids[i], static_cast<int>(i)));
    const auto seen = read_terminal_events(ws, static_cast<int>(ids.size()));
    return std::pair{seen, ws.close_code()};
  };
  constexpr int jobs = 20;
  {
    offloadd_process server{{"--store", "memory", "--ws-max-queued-bytes", "8m"}};
    const auto [seen, code] =
        subscribe_all(server.port(), finished_echo_jobs(server.port(), jobs, 1000 * 1000));
    EXPECT_EQ(code, 1013) << "per socket";
    EXPECT_LT(seen, jobs);
  }
  {
    offloadd_process server{
        {"--store", "memory", "--ws-max-queued-bytes", "64m", "--ws-max-total-queued-bytes", "8m"}};
    const auto [seen, code] =
        subscribe_all(server.port(), finished_echo_jobs(server.port(), jobs, 1000 * 1000));
    EXPECT_EQ(code, 1013) << "all sockets together";
    EXPECT_LT(seen, jobs);
  }
  {
    offloadd_process server{{"--store", "memory", "--ws-max-queued-bytes", "64m"}};
    const auto [seen, code] =
        subscribe_all(server.port(), finished_echo_jobs(server.port(), jobs, 1000 * 1000));
    EXPECT_EQ(seen, jobs) << "with room for them, every log arrives";
    EXPECT_FALSE(code.has_value());
  }
}

// One subscription whose log is larger than --ws-max-queued-bytes still goes out when nothing else waits
// (its own ack, queued before it, does not count); the ack says where the job is, so a subscription past a
// finished job's end is known to bring nothing.
TEST(websocket_limits_test, one_log_larger_than_the_limit_goes_out_on_the_multiplexed_socket) {
  offloadd_process server{{"--store", "memory", "--ws-max-queued-bytes", "256k"}};
  const auto id = finished_echo_jobs(server.port(), 1, 1000 * 1000).front();
  ws_client ws{server.port(), "/v1/ws"};
  ws.send(subscribe_message(id, 1));
  const auto ack = ws.read_json();
  ASSERT_TRUE(ack) << "closed with " << ws.close_code().value_or(0);
  EXPECT_EQ((*ack)["op"], "ack");
  EXPECT_EQ((*ack)["state"], "succeeded");
  const auto last_seq = (*ack)["last_seq"].get<std::uint64_t>();
  EXPECT_EQ(read_terminal_events(ws, 1), 1) << "closed with " << ws.close_code().value_or(0);
  ws.send({{"op", "subscribe"}, {"req", 2}, {"id", id}, {"after", last_seq}});
  const auto past_end = ws.read_json();
  ASSERT_TRUE(past_end);
  EXPECT_EQ((*past_end)["last_seq"], last_seq);
}

// One socket follows at most --ws-max-subscriptions jobs; an unsubscribe makes room.
TEST(websocket_limits_test, subscriptions_per_socket_are_capped) {
  offloadd_process server{{"--store", "memory", "--ws-max-subscriptions", "2"}};
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(
        submit(server.port(), {{"type", "sleep"}, {"input", {{"ms", 30000}}}})["id"].get<std::string>());
  ws_client ws{server.port(), "/v1/ws"};
  const auto request = [&ws](const json& message) {
    ws.send(message);
    for (;;) {
      auto reply = ws.read_json();
      if (!reply || (*reply)["op"] != "event") return reply.value_or(json{});
    }
  };
  EXPECT_EQ(request(subscribe_message(ids[0], 1))["op"], "ack");
  EXPECT_EQ(request(subscribe_message(ids[1], 2))["op"], "ack");
  EXPECT_EQ(request(subscribe_message(ids[1], 3))["op"], "ack") << "subscribing again to a followed job";
  const auto refused = request(subscribe_message(ids[2], 4));
  EXPECT_EQ(refused["op"], "error");
  EXPECT_EQ(refused["error"]["code"], "too_many_subscriptions") << refused;
  const auto refused_submit = request({{"op", "submit"}, {"req", 5}, {"job", {{"type", "echo"}}}});
  EXPECT_EQ(refused_submit["error"]["code"], "too_many_subscriptions") << refused_submit;
  EXPECT_EQ(request({{"op", "unsubscribe"}, {"req", 6}, {"id", ids[0]}})["op"], "ack");
  EXPECT_EQ(request(subscribe_message(ids[2], 7))["op"], "ack");
  for (const auto& id : ids)
    http_delete(server.port(), "/v1/jobs/" + id);
}

TEST(websocket_limits_test, output_past_max_log_bytes_becomes_one_output_truncated_event) {
  temp_dir dir;
  const auto config = dir.write(
      "c.json",
      json{{"commands", {{"cat", {{"argv", {TEST_CHILD_PATH, "echo"}}, {"stdin", "input.data"}}}}}}.dump());
  offloadd_process server{{"--config", config, "--max-log-bytes", "64k"}};
  const auto view = http_post(server.port(), "/v1/jobs?wait=30",
                              {{"type", "cat"}, {"input", {{"data", std::string(512 * 1024, 'z')}}}})
                        .json();
  ASSERT_EQ(view["state"], "succeeded");
  EXPECT_EQ(view["result"]["stdout"].get<std::string>().size(), 512u * 1024) << "the result itself is whole";
  ws_client ws{server.port(), events_target(view["id"])};
  const auto events = ws.read_all();
  std::size_t logged = 0, outputs = 0, truncated = 0;
  for (const auto& e : events) {
    if (e["type"] == "output") {
      logged += e["data"].get<std::string>().size();
      ++outputs;
    }
    if (e["type"] == "output_truncated") {
      ++truncated;
      EXPECT_EQ(e["logged_bytes"], logged + outputs * 192) << "each event counts its overhead too";
    }
  }
  EXPECT_LE(logged + outputs * 192, 64u * 1024);
  EXPECT_EQ(truncated, 1u);
  EXPECT_EQ(events.back()["type"], "succeeded");
  EXPECT_EQ(events.back()["output_truncated"], true);
}

TEST_F(websocket_test, multiplexed_socket_submits_subscribes_and_cancels) {
  ws_client ws{port(), "/v1/ws"};
  ws.send(json{{"op", "submit"}, {"req", 1}, {"job", {{"type", "echo"}, {"input", {{"k", "v"}}}}}});
  const auto ack = *ws.read_json();
  EXPECT_EQ(ack["op"], "ack");
  EXPECT_EQ(ack["req"], 1);
  const auto id = ack["id"].get<std::string>();
  std::vector<json> events;
  while (events.empty() || events.back()["event"]["type"] != "succeeded") {
    auto m = *ws.read_json();
    ASSERT_EQ(m["op"], "event") << m.dump();
    EXPECT_EQ(m["id"], id);
    events.push_back(m);
  }
  EXPECT_EQ(events.back()["event"]["result"], json({{"k", "v"}}));
  for (std::size_t i = 0; i < events.size(); ++i)
    EXPECT_EQ(events[i]["seq"], i + 1);

  // Subscribe to a finished job from seq 2: its replay.
  ws.send(json{{"op", "subscribe"}, {"req", "two"}, {"id", id}, {"after", 2}});
  EXPECT_EQ((*ws.read_json())["op"], "ack");
  EXPECT_EQ((*ws.read_json())["seq"], 3);

  // Cancel through the socket.
  ws.send(json{{"op", "submit"}, {"req", 3}, {"job", {{"type", "sleep"}, {"input", {{"ms", 600000}}}}}});
  const auto sleep_id = (*ws.read_json())["id"].get<std::string>();
  ws.send(json{{"op", "cancel"}, {"req", 4}, {"id", sleep_id}});
  bool acked = false, cancelled = false;
  while (!(acked && cancelled)) {
    const auto m = *ws.read_json();
    if (m["op"] == "ack" && m["req"] == 4) acked = true;
    if (m["op"] == "event" && m["event"]["type"] == "cancelled") cancelled = true;
  }
}

TEST_F(websocket_test, bad_messages_get_error_replies_and_the_socket_survives) {
  ws_client ws{port(), "/v1/ws"};
  const std::pair<std::string, std::string> cases[] = {
      {"not json at all", "invalid_json"},
      {"[1,2,3]", "invalid_input"},
      {R"({"req":1})", "invalid_input"},
      {R"({"op":"launch","req":2})", "invalid_input"},
      {R"({"op":"subscribe","req":3})", "invalid_input"},
      {R"({"op":"subscribe","req":4,"id":"000000000999aaaaaaaa"})", "not_found"},
      {R"({"op":"subscribe","req":5,"id":"x","after":-1})", "invalid_input"},
      {R"({"op":"submit","req":6,"job":{"type":"nope"}})", "unknown_type"},
      {R"({"op":"submit","req":7,"job":{"type":"sum","input":{"n":"x"}}})", "invalid_input"},
      {R"({"op":"cancel","req":8,"id":"000000000999aaaaaaaa"})", "not_found"},
      {std::string(100, '[') + std::string(100, ']'), "invalid_json"},
  };
  for (const auto& [message, code] : cases) {
    ws.send(message);
    const auto reply = ws.read_json();
    ASSERT_TRUE(reply) << message;
    EXPECT_EQ((*reply)["op"], "error") << message;
    EXPECT_EQ((*reply)["error"]["code"], code) << message << " → " << reply->dump();
  }
  // Still usable afterwards.
  ws.send(json{{"op", "submit"}, {"req", 9}, {"job", {{"type", "echo"}}}});
  EXPECT_EQ((*ws.read_json())["op"], "ack");
}

TEST_F(websocket_test, a_binary_frame_on_the_multiplexed_socket_closes_with_1003) {
  ws_client ws{port(), "/v1/ws"};
  ws.send_binary(R"({"op":"submit","req":1,"job":{"type":"echo"}})");
  EXPECT_FALSE(ws.read().has_value()) << "no ack: a binary frame is not a request";
  EXPECT_EQ(ws.close_code(), 1003);
  EXPECT_EQ(http_get(port(), "/v1/jobs").json()["jobs"].size(), 0u) << "nothing was submitted";
}

// `after` applies to live events as well as to the replay: a client that resumes past the end of the log
// receives nothing it did not ask for, and the stream still closes with 1000 when the job ends.
TEST_F(websocket_test, live_events_honour_after) {
  const auto id = submit(port(), {{"type", "sleep"}, {"input", {{"ms", 1500}}}})["id"].get<std::string>();
  wait_for_job(port(), id, [](const json& v) { return is_state(v, "running"); });
  ws_client late{port(), events_target(id, 100)};
  EXPECT_EQ(late.read_all(), std::vector<json>{}) << "seq 1..3 are all below after=100";
  EXPECT_EQ(late.close_code(), 1000);
  // Now ended: the replay from after=2 is exactly the terminal event (the stream itself works).
  ws_client from_two{port(), events_target(id, 2)};
  const auto rest = from_two.read_all();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0]["type"], "succeeded");
}

TEST_F(websocket_test, an_oversize_message_closes_with_1009) {
  ws_client ws{port(), "/v1/ws"};
  ws.send(std::string(70 * 1024, ' '));
  EXPECT_FALSE(ws.read().has_value()) << "the server closes the socket";
  // The server's teardown reads (and drops) what the client still sends, so the close frame arrives.
  EXPECT_EQ(ws.close_code(), 1009);
  EXPECT_EQ(http_get(port(), "/healthz").status, 200u);
}

TEST_F(websocket_test, unknown_jobs_and_plain_requests_are_refused_before_the_upgrade) {
  EXPECT_EQ(ws_client::refused_status(port(), "/v1/jobs/000000000999aaaaaaaa/events"), 404u);
  EXPECT_EQ(ws_client::refused_status(port(), "/v1/nothing"), 404u);
  const auto id = submit(port(), {{"type", "echo"}})["id"].get<std::string>();
  EXPECT_EQ(ws_client::refused_status(port(), "/v1/jobs/" + id + "/events?after=x"), 400u);
  const auto plain = http_get(port(), "/v1/jobs/" + id + "/events");
  EXPECT_EQ(plain.status, 426u);
  EXPECT_EQ(plain.json()["error"]["code"], "upgrade_required");
  EXPECT_EQ(plain.header("upgrade"), "websocket");
  // The multiplexed socket too (it answered 404 before the route table knew it).
  const auto mux = http_get(port(), "/v1/ws");
  EXPECT_EQ(mux.status, 426u) << mux.body;
  EXPECT_EQ(mux.json()["error"]["code"], "upgrade_required");
  EXPECT_EQ(mux.header("upgrade"), "websocket");
  EXPECT_EQ(http_request(port(), "POST", "/v1/ws").status, 405u);
}

TEST_F(websocket_test, a_thousand_subscribers_all_receive_the_terminal_event) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  const auto blocker =
      submit(port(), {{"type", "sleep"}, {"input", {{"ms", 600000}}}})["id"].get<std::string>();
  const auto id = submit(port(), {{"type", "sum"}, {"input", {{"n", 100000000}}}})["id"].get<std::string>();

  constexpr int subscribers = 1000;
  // A thousand sockets need more descriptors than some default soft limits allow.
  if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  asio::io_context ioc;
  int connected = 0, finished = 0;
  auto subscriber = [&]() -> asio::awaitable<void> {
    beast::websocket::stream<beast::tcp_stream> ws{co_await asio::this_coro::executor};
    co_await beast::get_lowest_layer(ws).async_connect(
        asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port()}, asio::use_awaitable);
    co_await ws.async_handshake("127.0.0.1", events_target(id), asio::use_awaitable);
    ++connected;
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await ws.async_read(buffer, asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      const auto event = json::parse(beast::buffers_to_string(buffer.data()));
      buffer.consume(n);
      if (event["type"] == "succeeded") ++finished;
    }
  };
  for (int i = 0; i < subscribers; ++i)
    asio::co_spawn(ioc, subscriber(), asio::detached);
  // All subscribed while the job is still queued, then let it run.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  while (connected < subscribers && std::chrono::steady_clock::now() < deadline)
    ioc.run_one_for(std::chrono::milliseconds{50});
  ASSERT_EQ(connected, subscribers);
  ASSERT_EQ(http_delete(port(), "/v1/jobs/" + blocker).status, 200u);
  while (finished < subscribers && std::chrono::steady_clock::now() < deadline)
    ioc.run_one_for(std::chrono::milliseconds{50});
  EXPECT_EQ(finished, subscribers);
}

}  // namespace
}  // namespace offload::test

namespace offload::test {
namespace {

// After `unsubscribe` (acknowledged) nothing more of that job arrives, though it goes on and ends.
TEST(websocket_feature_test, after_an_unsubscribe_no_event_of_that_job_arrives) {
  offloadd_process server{{"--store", "memory", "--threads", "2"}};
  const auto a =
      submit(server.port(), {{"type", "sleep"}, {"input", {{"ms", 60000}}}})["id"].get<std::string>();
  ws_client ws{server.port(), "/v1/ws"};
  // The reply to request `req`, skipping events (of `a` while it is followed).
  const auto reply_to = [&ws](int req) {
    for (;;) {
      const auto m = ws.read_json();
      if (!m) throw std::runtime_error("socket closed");
      if ((*m)["op"] != "event") {
        EXPECT_EQ((*m)["req"], req) << *m;
        return *m;
      }
    }
  };
  ws.send(json{{"op", "subscribe"}, {"req", 1}, {"id", a}, {"after", 0}});
  EXPECT_EQ(reply_to(1)["op"], "ack");
  ws.send(json{{"op", "unsubscribe"}, {"req", 2}, {"id", a}});
  EXPECT_EQ(reply_to(2)["op"], "ack");
  // The job ends (cancelled) after the unsubscribe; then a second job is followed to its end.
  EXPECT_EQ(http_delete(server.port(), "/v1/jobs/" + a).json()["state"], "cancelled");
  ws.send(json{{"op", "submit"}, {"req", 3}, {"job", {{"type", "echo"}}}});
  std::string b;
  for (;;) {
    const auto m = ws.read_json();
    ASSERT_TRUE(m.has_value()) << "socket closed";
    if ((*m)["op"] == "ack") b = (*m)["id"].get<std::string>();
    if ((*m)["op"] != "event") continue;
    ASSERT_NE((*m)["id"], a) << "an event of the unsubscribed job: " << *m;
    if ((*m)["id"] == b && (*m)["event"]["type"] == "succeeded") break;
  }
}

// Keep-alive (`--ws-idle-seconds 2`): a quiet socket is pinged and a client that answers stays open past
// the idle time; one that never answers (it never reads) is closed.
TEST(websocket_feature_test, quiet_sockets_are_pinged_and_a_silent_client_is_closed) {
  offloadd_process server{{"--store", "memory", "--ws-idle-seconds", "2"}};
  const auto id =
      submit(server.port(), {{"type", "sleep"}, {"input", {{"ms", 4000}}}})["id"].get<std::string>();
  // Reading (and so answering pings) through 4 s without a message: queued, started, then silence.
  ws_client reader{server.port(), events_target(id)};
  const auto events = reader.read_all();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["type"], "succeeded") << "the socket outlived twice the idle time";
  EXPECT_GE(reader.pings(), 2) << "a ping after every second of silence";

  // A client that completed the handshake and then reads nothing never answers a ping.
  raw_socket silent{server.port()};
  ASSERT_TRUE(
      silent.send("GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  ASSERT_NE(silent.read_some(std::chrono::seconds{10}).find("101 Switching Protocols"), std::string::npos);
  const auto started = std::chrono::steady_clock::now();
  wait_until([&] { return silent.closed_by_peer(); }, "the silent client to be closed",
             std::chrono::seconds{15});
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds{1500});
}

}  // namespace
}  // namespace offload::test
