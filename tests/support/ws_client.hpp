// A small blocking WebSocket client for tests. Every call has a deadline, so a hung server fails the test.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace offload::test {

struct ws_connect_options {
  std::chrono::milliseconds timeout = std::chrono::seconds{10};
  /// SO_RCVBUF set before connecting (0: the kernel's autotuned default). A small one makes a client that
  /// does not read back up into the server after a few KiB instead of several MiB.
  int receive_buffer_bytes = 0;
};

class ws_client {
 public:
  /// Connects and completes the opening handshake on `target` (e.g. `/v1/ws`). Throws on failure.
  ws_client(unsigned short port, const std::string& target, ws_connect_options options = {});
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  /// The next text message, or nothing once the server closed the socket (see `close_code`).
  /// Throws on timeout.
  std::optional<std::string> read(std::chrono::milliseconds timeout = std::chrono::seconds{30});
  std::optional<nlohmann::json> read_json(std::chrono::milliseconds timeout = std::chrono::seconds{30});
  /// Every message until the server closes the socket.
  std::vector<nlohmann::json> read_all(std::chrono::milliseconds timeout = std::chrono::seconds{60});
  /// Reads a job's events (per-job stream) until `outputs` of them were `output` events; each must follow
  /// `last` (updated to the newest seq read). Throws if one does not, or on close or timeout.
  void read_outputs(int outputs, std::uint64_t& last,
                    std::chrono::milliseconds timeout = std::chrono::seconds{10});
  void send(const std::string& text);
  void send(const nlohmann::json& message) { send(message.dump()); }
  /// Sends `bytes` as one binary message.
  void send_binary(const std::string& bytes);
  /// Drops the TCP connection without a closing handshake (a client that vanished).
  void drop();
  /// The close code the server sent, once `read` returned nothing.
  std::optional<int> close_code() const noexcept { return close_code_; }
  /// Pings received so far (each answered while a `read` was waiting).
  int pings() const noexcept { return pings_; }

  /// The HTTP status with which the server refused an upgrade on `target` (0 if it accepted).
  static unsigned refused_status(unsigned short port, const std::string& target);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::optional<int> close_code_;
  int pings_ = 0;
};

}  // namespace offload::test
