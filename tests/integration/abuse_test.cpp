// Hostile clients against a real offloadd on loopback, each bounded in time and count: request smuggling,
// garbage bytes, broken WebSocket frames and an idle-connection flood. The service answers each with a clear
// refusal (or a close), its memory stays bounded, and it keeps serving everyone else. (The other hostile
// cases have their tests beside the feature: slow and deaf clients in hardening_test, replay and backlog
// floods in websocket_test, output floods and fork bombs in process_test and cgroup_test.)
#include "support/http_client.hpp"
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"
#include "support/proc_helpers.hpp"
#include "support/raw_socket.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <random>
#include <sys/resource.h>

namespace offload::test {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using nlohmann::json;

// Resident memory of a process, in bytes (/proc/PID/status VmRSS).
std::uint64_t resident_bytes(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

// The status lines of every answer in `bytes` ("HTTP/1.1 400 Bad Request", …).
std::vector<std::string> status_lines(const std::string& bytes) {
  std::vector<std::string> out;
  for (auto at = bytes.find("HTTP/1.1 "); at != std::string::npos; at = bytes.find("HTTP/1.1 ", at + 1))
    out.push_back(bytes.substr(at, bytes.find("\r\n", at) - at));
  return out;
}

class abuse_test : public ::testing::Test {
 protected:
  offloadd_process server_{{"--store", "memory", "--threads", "2", "--process-workers", "1"}};
  unsigned short port() const { return server_.port(); }
  // The service still runs a job for a well-behaved client.
  void expect_serving() {
    EXPECT_EQ(http_get(port(), "/healthz").status, 200u);
    EXPECT_EQ(run_job(port(), {{"type", "echo"}, {"input", {{"ok", true}}}})["state"], "succeeded");
  }
};

// Requests whose body length two parsers could read differently get one 400 and a closed connection: what
// follows them is never taken for a request of its own.
TEST_F(abuse_test, ambiguous_message_lengths_get_one_400_and_a_close) {
  const std::string smuggled = "GET /v1/types HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const std::string head : {
           "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
           "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\n",
           "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
           "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n",
           "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
           "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n",
       }) {
    raw_socket conn{port()};
    ASSERT_TRUE(conn.send(head + "0\r\n\r\n" + smuggled));
    const auto answer = conn.read_until_closed(10s);
    ASSERT_TRUE(answer.has_value()) << "left open after: " << head;
    const auto lines = status_lines(*answer);
    ASSERT_EQ(lines.size(), 1u) << head << *answer;
    EXPECT_EQ(lines[0].rfind("HTTP/1.1 400", 0), 0u) << head << *answer;
  }
  expect_serving();
}

// Random bytes, random bytes after a valid request line, and lines without CRLF: 400 or a close, never a
// crash, a hang, or an answer to something that was not a request.
TEST_F(abuse_test, garbage_gets_400_or_a_close_and_the_service_stays_up) {
  std::mt19937 random{20261130};
  for (int i = 0; i < 150; ++i) {
    std::string bytes(1 + random() % 2048, '\0');
    for (auto& c : bytes)
      c = static_cast<char>(random());
    if (i % 3 == 1) bytes = "GET /healthz HTTP/1.1\r\n" + bytes;
    if (i % 3 == 2) bytes = "POST /v1/jobs HTTP/1.1\nHost: x\n" + bytes;
    raw_socket conn{port()};
    conn.send(bytes + "\r\n\r\n");
    const auto answer = conn.read_until_closed(10s);
    ASSERT_TRUE(answer.has_value()) << "connection " << i << " was left open";
    for (const auto& line : status_lines(*answer))
      EXPECT_EQ(line.rfind("HTTP/1.1 4", 0), 0u) << "connection " << i << ": " << line;
  }
  expect_serving();
}

// Frames a client must not send: unmasked, reserved bits, unknown opcodes, a fragmented or oversize control
// frame, a length of 2^63. Each socket is closed; the service is unharmed.
TEST_F(abuse_test, broken_websocket_frames_close_the_socket) {
  const std::string upgrade =
      "GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  const auto mask = "\x01\x02\x03\x04"s;
  const std::vector<std::string> frames{
      "\x81\x05hello"s,                                    // text, not masked
      "\xC1\x85"s + mask + "hello",                        // RSV1 without an extension
      "\x83\x85"s + mask + "hello",                        // reserved opcode 3
      "\x09\x85"s + mask + "hello",                        // ping without FIN (fragmented)
      "\x89\xFE\x00\x80"s + mask + std::string(128, 'p'),  // ping longer than 125 bytes
      "\x81\xFF\x80\x00\x00\x00\x00\x00\x00\x00"s + mask,  // 2^63 bytes
      "\x80\x85"s + mask + "hello",                        // continuation with nothing to continue
  };
  for (std::size_t i = 0; i < frames.size(); ++i) {
    raw_socket conn{port()};
    ASSERT_TRUE(conn.send(upgrade));
    ASSERT_NE(conn.read_some(10s).find("101 Switching Protocols"), std::string::npos);
    conn.send(frames[i]);
    EXPECT_TRUE(conn.read_until_closed(15s).has_value()) << "frame " << i << " left the socket open";
  }
  expect_serving();
}

// 2,000 connections that send nothing hold little memory and do not stop anyone else from being served.
TEST_F(abuse_test, two_thousand_idle_connections_cost_little_and_block_no_one) {
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_cur < 2100 && files.rlim_max >= 2100) {
    files.rlim_cur = 2100;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  if (files.rlim_cur < 2100) GTEST_SKIP() << "skipped: this process may not open 2,000 sockets";
  const auto before = resident_bytes(server_.pid());
  std::vector<std::unique_ptr<raw_socket>> idle;
  for (int i = 0; i < 2000; ++i)
    idle.push_back(std::make_unique<raw_socket>(port()));
  // Accepted: the last one is served when it finally asks (the accept loop went through all of them).
  ASSERT_TRUE(idle.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(idle.back()->read_some(20s).rfind("HTTP/1.1 200", 0), 0u);
  expect_serving();
  const auto grown = resident_bytes(server_.pid()) - before;
  if (offloadd_process::plain()) {  // sanitizer builds hold many times the memory
    EXPECT_LT(grown, 40u << 20) << "about " << grown / 2000 << " bytes per idle connection";
  }
  idle.clear();
  expect_serving();
}

}  // namespace
}  // namespace offload::test
