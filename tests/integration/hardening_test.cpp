// Hostile and clumsy clients against a real offloadd: tokens, oversize and slow requests, connection
// floods, malformed JSON at every depth, and a drain with jobs in both lanes. The service stays up.
#include "support/http_client.hpp"
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"
#include "support/proc_helpers.hpp"
#include "support/raw_socket.hpp"
#include "support/run_program.hpp"
#include "support/ws_client.hpp"

#include <offload/client/client.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace offload::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

bool healthy(unsigned short port) {
  return http_get(port, "/healthz").status == 200;
}

class auth_test : public ::testing::Test {
 protected:
  temp_dir dir_;
  std::string tokens_ = dir_.write("tokens", "# operators\n  file-token-one  \n\nfile-token-two\n");
  std::string config_ =
      dir_.write("commands.json",
                 json{{"commands", {{"env", test_command({"env"}, {{"result", "stdout_json"}})}}}}.dump());
  offloadd_process server_{
      {"--token-file", tokens_, "--config", config_, "--work-root", dir_.path().string()},
      {"OFFLOAD_TOKEN=env-token-secret"}};
  unsigned short port() const { return server_.port(); }

  http_response with_token(const std::string& method, const std::string& target, const std::string& token,
                           const std::string& body = {}) {
    return http_request(port(), method, target, body, {{"Authorization", token}});
  }
};

TEST_F(auth_test, v1_needs_a_valid_bearer_token) {
  const auto body = json{{"type", "echo"}, {"input", {{"a", 1}}}}.dump();
  for (const auto* bad :
       {"", "Bearer", "Bearer ", "Bearer wrong", "Bearer file-token-on", "Bearer file-token-one2",
        "Basic ZmlsZS10b2tlbi1vbmU=", "file-token-one", "Bearer env-token-secret x"}) {
    const auto r =
        *bad ? with_token("POST", "/v1/jobs", bad, body) : http_post(port(), "/v1/jobs", json::parse(body));
    EXPECT_EQ(r.status, 401u) << "'" << bad << "'";
    EXPECT_EQ(r.header("www-authenticate"), "Bearer realm=\"offload\"");
    EXPECT_EQ(r.json()["error"]["code"], "unauthorized");
  }
  for (const auto* path :
       {"/v1/jobs", "/v1/types", "/v1/jobs/000000000000deadbeef", "/nowhere", "/%761/jobs"})
    EXPECT_EQ(http_get(port(), path).status, 401u) << path << ": default-deny, even for unknown paths";
  EXPECT_EQ(with_token("POST", "/v1/jobs", "Bearer file-token-one", body).status, 202u);
  EXPECT_EQ(with_token("POST", "/v1/jobs", "bearer file-token-two", body).status, 202u);
  EXPECT_EQ(with_token("GET", "/v1/types", "Bearer env-token-secret").status, 200u);
  EXPECT_EQ(http_get(port(), "/healthz").status, 200u);
  EXPECT_EQ(http_get(port(), "/readyz").status, 200u);
  EXPECT_EQ(ws_client::refused_status(port(), "/v1/ws"), 401u);
  // The exemptions are GET routes: other methods on the same paths need a token too.
  for (const auto* method : {"POST", "DELETE", "PUT", "HEAD"})
    for (const auto* path : {"/healthz", "/readyz", "/metrics"})
      EXPECT_EQ(http_request(port(), method, path).status, 401u) << method << " " << path;
}

// The token is checked on the header: a client without one gets its 401 without sending the body it
// announced (before, the server waited up to --body-timeout, 30 s, for it), and no `100 Continue`.
TEST_F(auth_test, a_missing_token_is_refused_before_the_body_is_read) {
  for (const std::string expect : {"", "Expect: 100-continue\r\n"}) {
    raw_socket client{port()};
    ASSERT_TRUE(
        client.send("POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n" + expect + "\r\n"));
    const auto answer = client.read_until_closed(10s);
    ASSERT_TRUE(answer.has_value()) << "still waiting for a body it will not read";
    EXPECT_EQ(answer->rfind("HTTP/1.1 401", 0), 0u) << *answer;
    EXPECT_EQ(answer->find("100 Continue"), std::string::npos) << *answer;
    EXPECT_NE(answer->find("WWW-Authenticate: Bearer"), std::string::npos) << *answer;
  }
  // With a token the same request is read and answered as usual.
  const auto ok = with_token("POST", "/v1/jobs", "Bearer file-token-one", json{{"type", "echo"}}.dump());
  EXPECT_EQ(ok.status, 202u) << ok.body;
}

TEST_F(auth_test, the_client_library_sends_its_token_over_http_and_websocket) {
  client_options options;
  options.url = "http://127.0.0.1:" + std::to_string(port());
  offload::client anonymous{options};
  const auto refused = anonymous.submit({.type = "echo"});
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(errc::unauthorized));
  const auto stream_refused = anonymous.stream("000000000000deadbeef", [](const proto::job_event&) {});
  ASSERT_FALSE(stream_refused);
  EXPECT_TRUE(stream_refused.error().is(errc::unauthorized));

  options.token = "file-token-two";
  offload::client c{options};
  const auto sub = c.submit({.type = "sleep", .input = {{"ms", 50}}}).value();
  std::size_t events = 0;
  EXPECT_EQ(c.stream(sub.id, [&](const proto::job_event&) { ++events; }).value().type,
            proto::event_type::succeeded);
  EXPECT_EQ(events, 3u);
  EXPECT_EQ(c.wait(sub.id, 10s).value().state, proto::job_state::succeeded);
}

TEST_F(auth_test, tokens_never_reach_children) {
  client_options options;
  options.url = "http://127.0.0.1:" + std::to_string(port());
  options.token = "env-token-secret";
  offload::client c{options};
  const auto done = c.submit({.type = "env"}, 30s).value();
  ASSERT_EQ(done.state, proto::job_state::succeeded);
  const auto text = done.result->dump();
  EXPECT_EQ(text.find("OFFLOAD_TOKEN"), std::string::npos) << text;
  EXPECT_EQ(text.find("env-token-secret"), std::string::npos) << text;
}

// Start-up failures name what is wrong and never the tokens offloadd was given (from the environment, or
// from a token file that did load while something else failed).
TEST(auth_config, a_bad_token_file_stops_start_up_without_echoing_tokens) {
  temp_dir dir;
  const std::vector<std::string> env{"OFFLOAD_TOKEN=env-secret-8c1f"};
  const auto [code, err] =
      offloadd_process::run_to_exit({"--listen", "127.0.0.1:0", "--token-file", "/no/such/file"}, env);
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("cannot read the token file"), std::string::npos) << err;
  const auto empty = dir.write("tokens", "# nothing here\n\n");
  const auto [code2, err2] =
      offloadd_process::run_to_exit({"--listen", "127.0.0.1:0", "--token-file", empty}, env);
  EXPECT_EQ(code2, 2);
  EXPECT_NE(err2.find("holds no token"), std::string::npos) << err2;
  const auto good = dir.write("good-tokens", "file-secret-51d2\n");
  const auto [code3, err3] = offloadd_process::run_to_exit(
      {"--listen", "127.0.0.1:0", "--token-file", good, "--config", "/no/such/config.json"}, env);
  EXPECT_EQ(code3, 2);
  EXPECT_NE(err3.find("/no/such/config.json"), std::string::npos) << err3;
  for (const auto& output : {err, err2, err3}) {
    EXPECT_EQ(output.find("env-secret-8c1f"), std::string::npos) << output;
    EXPECT_EQ(output.find("file-secret-51d2"), std::string::npos) << output;
  }
}

// A port in use is one clear line naming the address and the reason, not a Boost source location.
TEST(startup_test, a_port_in_use_is_one_clear_line) {
  offloadd_process first;
  const auto address = "127.0.0.1:" + std::to_string(first.port());
  const auto [code, err] = offloadd_process::run_to_exit({"--listen", address});
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("cannot listen on " + address + ": Address already in use"), std::string::npos) << err;
  EXPECT_EQ(err.find(".hpp"), std::string::npos) << "no source location: " << err;
}

// `--listen localhost:0` resolves the name; a name that does not resolve is one clear line and exit 1.
TEST(startup_test, listen_accepts_a_host_name) {
  offloadd_process server{{"--listen", "localhost:0"}};
  EXPECT_EQ(http_get(server.port(), "/healthz").status, 200u) << "listening on 127.0.0.1";
  const auto [code, err] = offloadd_process::run_to_exit({"--listen", "no-such-host.invalid:8080"}, {},
                                                         std::chrono::seconds{60});  // a slow resolver
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("cannot listen on no-such-host.invalid:8080: cannot resolve 'no-such-host.invalid'"),
            std::string::npos)
      << err;
}

// `[::1]:0`: an IPv6 loopback listener on a free port, answering over IPv6.
TEST(startup_test, listen_accepts_an_ipv6_address) {
  const int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 loopback{};
  loopback.sin6_family = AF_INET6;
  loopback.sin6_addr = in6addr_loopback;
  const bool ipv6 = probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr*>(&loopback), sizeof loopback) == 0;
  if (probe >= 0) ::close(probe);
  if (!ipv6) GTEST_SKIP() << "skipped: no IPv6 loopback on this machine";
  offloadd_process server{{"--listen", "[::1]:0", "--store", "memory"}};
  ASSERT_NE(server.port(), 0);
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  loopback.sin6_port = htons(server.port());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&loopback), sizeof loopback), 0)
      << std::strerror(errno);
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string answer;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
    answer.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
}

// Both programs say their version (the project's, and the commit when built from git); so do /healthz and
// the start-up line.
TEST(startup_test, offloadd_and_offload_say_their_version) {
  const auto daemon = run_program({offloadd_process::binary(), "--version"});
  EXPECT_EQ(daemon.exit_code, 0);
  ASSERT_TRUE(daemon.out.starts_with("offloadd 0.")) << daemon.out;
  const auto version = daemon.out.substr(9, daemon.out.size() - 10);
  const auto cli = run_program({OFFLOAD_CLI_PATH, "--version"});
  EXPECT_EQ(cli.exit_code, 0);
  EXPECT_EQ(cli.out, "offload " + version + "\n");
  offloadd_process server;
  EXPECT_EQ(http_get(server.port(), "/healthz").json()["version"], version);
  EXPECT_EQ(http_get(server.port(), "/readyz").json()["version"], version);
}

// What an operator reads at the default level: the start line names the store and the configured commands;
// each job that did not succeed is one line (id, type, lane, state, error code, durations) and a success is
// none; each 401 names the peer, never the token.
TEST(logging_test, failures_and_refused_tokens_are_logged_at_info_and_successes_are_not) {
  temp_dir dir;
  const auto config =
      dir.write("config.json", json{{"commands", {{"exit3", test_command({"exit", "3"})}}}}.dump());
  const auto log_file = (dir.path() / "offloadd.log").string();
  const std::string token = "token-7f3a-secret";
  offloadd_process server{
      {"--log-level", "info", "--config", config, "--store", "memory"}, {"OFFLOAD_TOKEN=" + token}, log_file};
  const header_list auth{{"Authorization", "Bearer " + token}};
  const auto failed = http_request(server.port(), "POST", "/v1/jobs?wait=30", R"({"type":"exit3"})", auth);
  ASSERT_EQ(failed.status, 200u) << failed.body;
  const auto failed_id = failed.json()["id"].get<std::string>();
  const auto ok = http_request(server.port(), "POST", "/v1/jobs?wait=30", R"({"type":"echo"})", auth);
  ASSERT_EQ(ok.json()["state"], "succeeded");
  EXPECT_EQ(
      http_request(server.port(), "GET", "/v1/jobs", "", {{"Authorization", "Bearer wrong-guess-91"}}).status,
      401u);
  EXPECT_EQ(http_get(server.port(), "/v1/types").status, 401u);

  const auto read_log = [&] {
    std::ifstream in{log_file};
    std::vector<json> lines;
    for (std::string line; std::getline(in, line);)
      lines.push_back(json::parse(line));
    return lines;
  };
  const auto count = [](const std::vector<json>& lines, const std::string& msg) {
    return std::count_if(lines.begin(), lines.end(), [&](const json& l) { return l["msg"] == msg; });
  };
  wait_until(
      [&] {
        return count(read_log(), "unauthorised request") == 2 && count(read_log(), "job finished") >= 1;
      },
      "the log lines");
  const auto lines = read_log();
  for (const auto& l : lines) {
    if (l["msg"] == "offloadd started") {
      EXPECT_EQ(l["commands"], json::array({"exit3"})) << l;
      EXPECT_EQ(l["store"], "memory") << l;
      EXPECT_TRUE(l.contains("version") && l.contains("pid")) << l;
    } else if (l["msg"] == "job finished") {
      EXPECT_EQ(l["job"], failed_id) << "only the failure is logged at info: " << l;
      EXPECT_EQ(l["type"], "exit3");
      EXPECT_EQ(l["lane"], "process");
      EXPECT_EQ(l["state"], "failed");
      EXPECT_EQ(l["code"], "command_failed");
      EXPECT_TRUE(l["run_ms"].is_number() && l["total_ms"].is_number()) << l;
    } else if (l["msg"] == "unauthorised request") {
      EXPECT_TRUE(l["peer"].get<std::string>().starts_with("127.0.0.1:")) << l;
      EXPECT_TRUE(l["credentials"] == "refused" || l["credentials"] == "none") << l;
      EXPECT_TRUE(l["path"] == "/v1/jobs" || l["path"] == "/v1/types") << l;
    }
  }
  EXPECT_EQ(count(lines, "offloadd started"), 1);
  EXPECT_EQ(count(lines, "job finished"), 1);
  const auto text = file_text(log_file);
  EXPECT_EQ(text.find("wrong-guess-91"), std::string::npos) << "a refused token is never logged";
  EXPECT_EQ(text.find(token), std::string::npos);
}

// A result past --max-result-bytes fails its job (result_too_large) instead of being kept and sent; smaller
// ones are untouched.
TEST(result_limit_test, a_result_past_max_result_bytes_fails_the_job) {
  offloadd_process server{{"--max-result-bytes", "64k", "--store", "memory"}};
  const auto big = http_post(server.port(), "/v1/jobs?wait=30",
                             {{"type", "echo"}, {"input", {{"blob", std::string(100 * 1024, 'b')}}}})
                       .json();
  EXPECT_EQ(big["state"], "failed");
  EXPECT_EQ(big["error"]["code"], "result_too_large") << big["error"];
  EXPECT_FALSE(big.contains("result"));
  const auto in_process =
      http_post(server.port(), "/v1/jobs?wait=30",
                {{"type", "echo"}, {"lane", "process"}, {"input", {{"blob", std::string(100 * 1024, 'b')}}}})
          .json();
  EXPECT_EQ(in_process["error"]["code"], "result_too_large") << in_process;
  const auto small = http_post(server.port(), "/v1/jobs?wait=30",
                               {{"type", "echo"}, {"input", {{"blob", std::string(60 * 1024, 's')}}}})
                         .json();
  EXPECT_EQ(small["state"], "succeeded");
  EXPECT_EQ(small["result"]["blob"].get<std::string>().size(), 60u * 1024);
}

// Each deadline alone: the one under test is 1 s, the others far longer than the test, so that only it can
// close the connection.
std::vector<std::string> with_deadline(const std::string& flag) {
  std::vector<std::string> args{"--max-body", "64k"};
  for (const auto* f : {"--header-timeout", "--body-timeout", "--idle-timeout", "--write-timeout"}) {
    args.push_back(f);
    args.push_back(f == flag ? "1" : "120");
  }
  return args;
}

// The gauge of open HTTP connections, the scraping one included.
double open_connections(unsigned short port) {
  const auto body = http_get(port, "/metrics").body;
  const auto at = body.find("\noffload_http_connections ");
  return at == std::string::npos ? -1 : std::stod(body.substr(at + 26));
}

TEST(limits_test, oversize_bodies_and_headers_are_refused) {
  offloadd_process server{{"--max-body", "64k"}};
  const auto port = server.port();
  const auto big = json{{"type", "echo"}, {"input", {{"x", std::string(70'000, 'x')}}}};
  const auto r = http_post(port, "/v1/jobs", big);
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(r.json()["error"]["code"], "payload_too_large");
  // Chunked, so the size is only known while reading.
  std::string chunked = "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i)
    chunked += "1000\r\n" + std::string(4096, 'a') + "\r\n";
  chunked += "0\r\n\r\n";
  EXPECT_NE(raw_exchange(port, chunked).find("413"), std::string::npos);
  const auto headers = http_request(port, "GET", "/healthz", {}, {{"X-Big", std::string(20'000, 'h')}});
  EXPECT_EQ(headers.status, 431u);
  EXPECT_EQ(headers.json()["error"]["code"], "headers_too_large");
  EXPECT_TRUE(healthy(port));
}

TEST(limits_test, a_client_trickling_its_headers_is_cut_off_at_the_header_deadline) {
  offloadd_process server{with_deadline("--header-timeout")};
  raw_socket headers{server.port()};
  ASSERT_TRUE(headers.send("POST /v1/jobs HTTP/1.1\r\nHost: x\r\n"));
  // A header byte every 100 ms: the deadline runs from the first byte, not the last.
  const auto start = std::chrono::steady_clock::now();
  bool cut = false;
  while (std::chrono::steady_clock::now() - start < 10s) {
    if (!headers.send("X")) {
      cut = true;
      break;
    }
    std::this_thread::sleep_for(100ms);  // the trickle's pace, not a synchronisation
  }
  EXPECT_TRUE(cut || headers.read_until_closed(5s).has_value()) << "a trickling client was never closed";
  EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);
  EXPECT_TRUE(healthy(server.port()));
}

TEST(limits_test, a_stalled_body_is_cut_off_at_the_body_deadline) {
  offloadd_process server{with_deadline("--body-timeout")};
  raw_socket body{server.port()};
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(body.send("POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"type\":"));
  EXPECT_TRUE(body.read_until_closed(10s).has_value()) << "a stalled body was never closed";
  EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);
  EXPECT_TRUE(healthy(server.port()));
}

TEST(limits_test, idle_keep_alive_connections_are_closed_at_the_idle_deadline) {
  offloadd_process server{with_deadline("--idle-timeout")};
  raw_socket conn{server.port()};
  ASSERT_TRUE(conn.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto started = std::chrono::steady_clock::now();
  const auto received = conn.read_until_closed(10s);
  ASSERT_TRUE(received.has_value()) << "the idle connection was never closed";
  EXPECT_EQ(received->rfind("HTTP/1.1 200", 0), 0u) << "answered first, then closed";
  EXPECT_GE(std::chrono::steady_clock::now() - started, 900ms) << "kept alive for the idle timeout";
  EXPECT_TRUE(healthy(server.port()));
}

TEST(limits_test, a_client_that_never_reads_is_dropped_at_the_write_deadline) {
  offloadd_process server{with_deadline("--write-timeout")};
  const auto port = server.port();
  const auto view =
      submit(port, {{"type", "echo"}, {"input", {{"x", std::string(60'000, 'x')}}}}, "?wait=10", 200);
  const std::string get = "GET /v1/jobs/" + view["id"].get<std::string>() + " HTTP/1.1\r\nHost: x\r\n\r\n";
  raw_socket reader{port, 4096};
  // 400 pipelined requests ask for ~24 MB of answers; the client reads none, so the server's writes stall.
  std::string requests;
  for (int i = 0; i < 400; ++i)
    requests += get;
  reader.send(requests);
  // Dropped by the server while the client still reads nothing: only the scrape's connection stays open.
  wait_until([&] { return open_connections(port) == 1; }, "the server to drop the stalled client", 20s);
  const auto received = reader.read_until_closed(20s);
  ASSERT_TRUE(received.has_value()) << "the server never closed the stalled client";
  EXPECT_LT(received->size(), 400u * 60'000u);
  EXPECT_TRUE(healthy(port));
}

TEST(connection_limit_test, connections_over_the_limit_are_closed_at_once) {
  // The idle timeout (30 s) is far longer than the test: only the limit can close these connections.
  offloadd_process server{{"--max-connections", "20"}};
  std::vector<std::unique_ptr<raw_socket>> held;
  for (int i = 0; i < 20; ++i) {
    held.push_back(std::make_unique<raw_socket>(server.port()));
    // Accepted and served: it answers a request and stays open (kept alive).
    ASSERT_TRUE(held.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(held.back()->read_some(10s).rfind("HTTP/1.1 200", 0), 0u);
  }
  int refused = 0;
  for (int i = 0; i < 30; ++i) {
    raw_socket extra{server.port()};
    if (extra.read_until_closed(2s).has_value()) ++refused;
  }
  EXPECT_EQ(refused, 30);
  // The held ones are still served.
  ASSERT_TRUE(held.front()->send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const auto answer = held.front()->read_until_closed(10s);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->rfind("HTTP/1.1 200", 0), 0u) << *answer;
  held.clear();
  wait_until([&] { return http_get(server.port(), "/healthz").status == 200; }, "health after the flood");
}

class input_test : public ::testing::Test {
 protected:
  offloadd_process server_;
  unsigned short port() const { return server_.port(); }
};

TEST_F(input_test, json_at_every_nesting_depth_up_to_the_cap) {
  http_connection conn{port()};
  const auto post = [&](const std::string& body) { return conn.request("POST", "/v1/jobs", body); };
  // The spec object and the input object take two levels; the cap is 64 in all.
  for (int depth = 1; depth <= 70; ++depth) {
    const std::string nested = std::string(depth, '[') + std::string(depth, ']');
    const auto ok = post(R"({"type":"echo","input":{"a":)" + nested + "}}");
    if (depth + 2 <= 64) {
      EXPECT_EQ(ok.status, 202u) << depth << ok.body;
    } else {
      EXPECT_EQ(ok.status, 400u) << depth;
      EXPECT_EQ(ok.json()["error"]["code"], "invalid_json") << depth;
    }
    const auto truncated = post(R"({"type":"echo","input":{"a":)" + std::string(depth, '['));
    EXPECT_EQ(truncated.status, 400u) << depth;
    EXPECT_EQ(truncated.json()["error"]["code"], "invalid_json") << depth;
  }
  EXPECT_EQ(post(std::string(100'000, '[')).json()["error"]["code"], "invalid_json");
  EXPECT_TRUE(healthy(port()));
}

TEST_F(input_test, bad_values_get_a_code_and_the_field_name) {
  struct bad_case {
    std::string body;
    std::string code;
    std::string field;
  };
  const std::vector<bad_case> cases{
      {"{\"type\":\"echo\",\"input\":{\"s\":\"\xff\xfe\"}}", "invalid_json", ""},
      {"{\"type\":\"echo\",\"input\":{\"s\":\"\xc0\xaf\"}}", "invalid_json", ""},
      {R"({"type":"echo","input":{},"colour":"red"})", "invalid_input", "colour"},
      {R"({"type":5})", "invalid_input", "type"},
      {R"({"type":"echo","input":[]})", "invalid_input", "input"},
      {R"({"type":"echo","priority":"high"})", "invalid_input", "priority"},
      {R"({"type":"echo","priority":-1})", "invalid_input", "priority"},
      {R"({"type":"echo","priority":1e400})", "invalid_json", ""},
      {R"({"type":"echo","timeout_ms":-5})", "invalid_input", "timeout_ms"},
      {R"({"type":"echo","timeout_ms":18446744073709551616})", "invalid_input", "timeout_ms"},
      {R"({"type":"echo","lane":"gpu"})", "invalid_input", "lane"},
      {R"({"type":"sum","input":{"n":-1}})", "invalid_input", "input.n"},
      {R"({"type":"sum","input":{"n":1e30}})", "invalid_input", "input.n"},
      {R"({"type":"sum","input":{"n":"12"}})", "invalid_input", "input.n"},
      {R"({"type":"sleep","input":{"ms":99999999999999999999}})", "invalid_input", "input.ms"},
      {R"({"type":"Not A Type"})", "invalid_input", "type"},
      {R"({"type":"no_such"})", "unknown_type", ""},
      {R"({"type":"echo","idempotency_key":""})", "invalid_input", "idempotency_key"},
      {"", "invalid_json", ""},
      {"null", "invalid_input", ""},
  };
  http_connection conn{port()};
  for (const auto& c : cases) {
    const auto r = conn.request("POST", "/v1/jobs", c.body);
    EXPECT_EQ(r.status, 400u) << c.body;
    const auto error = r.json()["error"];
    EXPECT_EQ(error["code"], c.code) << c.body << " → " << r.body;
    if (!c.field.empty()) {
      EXPECT_EQ(error["message"].get<std::string>().rfind(c.field, 0), 0u) << c.body << " → " << r.body;
    }
  }
  EXPECT_TRUE(healthy(port()));
}

// Drain with jobs in both lanes (memory store): short ones finish, long ones are cancelled at the deadline
// (process trees killed), subscribers see every terminal event and then a 1001 close, and offloadd exits 0.
TEST(drain_test, both_lanes_finish_or_are_cancelled_and_subscribers_get_1001) {
  temp_dir dir;
  const auto config =
      dir.write("commands.json",
                json{{"commands", {{"tree", test_command({"fork-grandchild", "{input.pidfile}"})}}}}.dump());
  offloadd_process server{{"--drain-seconds", "2", "--config", config, "--work-root", dir.path().string(),
                           "--process-workers", "2", "--kill-grace-ms", "200", "--store", "memory"}};
  const auto port = server.port();
  const auto pidfile = (dir.path() / "grandchild.pid").string();
  std::vector<std::pair<std::string, std::string>> jobs;  // id, expected state
  const auto add = [&](const json& body, const std::string& expected) {
    jobs.emplace_back(submit(port, body)["id"].get<std::string>(), expected);
  };
  add({{"type", "sleep"}, {"input", {{"ms", 300}}}, {"lane", "thread"}}, "succeeded");
  add({{"type", "sleep"}, {"input", {{"ms", 300}}}, {"lane", "process"}}, "succeeded");
  add({{"type", "sleep"}, {"input", {{"ms", 60000}}}, {"lane", "thread"}}, "cancelled");
  add({{"type", "sleep"}, {"input", {{"ms", 60000}}}, {"lane", "process"}}, "cancelled");
  add({{"type", "tree"}, {"input", {{"pidfile", pidfile}}}}, "cancelled");
  for (const auto& [id, expected] : jobs)
    wait_for_job(port, id, [](const json& v) { return is_state(v, "running"); });
  const int grandchild = wait_for_pid_file(pidfile);

  ws_client ws{port, "/v1/ws"};
  for (const auto& [id, expected] : jobs)
    ws.send(json{{"op", "subscribe"}, {"id", id}});
  server.signal(SIGTERM);
  // Still listening: readiness says no, submissions say draining.
  wait_until([&] { return http_get(port, "/readyz").status == 503; }, "readyz 503");
  const auto refused = http_post(port, "/v1/jobs", {{"type", "echo"}});
  EXPECT_EQ(refused.status, 503u);
  EXPECT_EQ(refused.json()["error"]["code"], "draining");

  std::map<std::string, std::string> terminal;
  while (auto message = ws.read_json(30s)) {
    if ((*message)["op"] != "event") continue;
    const auto& event = (*message)["event"];
    const auto type = event["type"].get<std::string>();
    if (type == "succeeded" || type == "cancelled" || type == "failed" || type == "crashed" ||
        type == "timed_out") {
      terminal[(*message)["id"]] = type;
      if (type == "cancelled") {
        EXPECT_EQ(event["error"]["code"], "shutdown");
      }
    }
  }
  EXPECT_EQ(ws.close_code(), 1001);
  for (const auto& [id, expected] : jobs)
    EXPECT_EQ(terminal[id], expected) << id;
  EXPECT_EQ(server.wait_exit(30s), 0);
  wait_until([&] { return process_dead(grandchild); }, "the cancelled command's grandchild to die");
}

TEST(drain_test, a_second_signal_exits_at_once_and_still_kills_children) {
  temp_dir dir;
  const auto config =
      dir.write("commands.json",
                json{{"commands", {{"tree", test_command({"fork-grandchild", "{input.pidfile}"})}}}}.dump());
  offloadd_process server{{"--drain-seconds", "600", "--config", config, "--work-root", dir.path().string()}};
  const auto pidfile = (dir.path() / "grandchild.pid").string();
  submit(server.port(), {{"type", "tree"}, {"input", {{"pidfile", pidfile}}}});
  const int grandchild = wait_for_pid_file(pidfile);
  server.signal(SIGTERM);
  wait_until([&] { return http_get(server.port(), "/readyz").status == 503; }, "draining");
  server.signal(SIGTERM);
  const auto code = server.wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << "a second signal must not wait for the 600 s grace";
  wait_until([&] { return process_dead(grandchild); }, "the grandchild to die");
}

}  // namespace
}  // namespace offload::test
