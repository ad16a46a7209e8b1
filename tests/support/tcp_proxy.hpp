// A TCP proxy in front of offloadd that misbehaves on request: cuts streams, swallows answers, refuses
// WebSocket upgrades. For testing how clients survive a network in between.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

namespace offload::test {

class tcp_proxy {
 public:
  /// What the proxy does to the next connections; every counter is consumed one connection at a time.
  struct faults {
    /// WebSocket upgrades to cut (both sides closed, no closing handshake) after `cut_after_bytes` bytes
    /// of server-to-client traffic.
    std::atomic<int> cut_streams{0};
    std::atomic<std::size_t> cut_after_bytes{4096};
    /// POST requests whose answer is read from the server and thrown away; the client sees the
    /// connection close without an answer (the server did process the request).
    std::atomic<int> swallow_posts{0};
    /// Answer every WebSocket upgrade with `501 Not Implemented`, as some proxies do.
    std::atomic<bool> refuse_upgrades{false};
  };

  /// Listens on 127.0.0.1, an ephemeral port, and forwards to 127.0.0.1:`upstream_port`.
  explicit tcp_proxy(unsigned short upstream_port);
  ~tcp_proxy();
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  unsigned short port() const noexcept;
  faults& fault() noexcept;
  /// Connections accepted so far, and how many of them were WebSocket upgrades.
  int connections() const noexcept;
  int upgrades() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A server that accepts connections and reads requests but never answers.
class silent_server {
 public:
  silent_server();
  ~silent_server();
  silent_server(const silent_server&) = delete;
  silent_server& operator=(const silent_server&) = delete;
  unsigned short port() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace offload::test
