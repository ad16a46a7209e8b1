// A real redis-server for a test: on a free loopback port, with its files in a private temporary directory;
// stopped, killed, paused or restarted (same port, same files) as the test says.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace offload::test {

class temp_dir;

class redis_server {
 public:
  struct options {
    /// `appendonly yes` with `appendfsync always`: every write acknowledged survives a kill -9 of Redis.
    bool appendonly = false;
    /// `requirepass`: clients must log in.
    std::string password{};
  };

  /// Starts `redis-server` (Debian's, from PATH) and waits up to 20 s until it answers PING. Throws,
  /// naming what went wrong, when there is no redis-server (scripts/bootstrap.sh installs it).
  explicit redis_server(options o);
  redis_server() : redis_server(options{}) {}
  /// Kills it (SIGKILL) if it still runs; removes its files.
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  unsigned short port() const noexcept { return port_; }
  int pid() const noexcept { return pid_; }
  /// `redis://127.0.0.1:PORT` (no password: tests pass it through OFFLOAD_REDIS_PASSWORD).
  std::string url() const;

  /// Stops it: `SIGTERM` (Redis saves and exits) or `SIGKILL`; waits until it is gone.
  void stop(int signal);
  /// Starts it again on the same port with the same files (the append-only file is read back).
  void start();
  /// `SIGSTOP` / `SIGCONT`: a hung Redis that keeps its connections open.
  void pause();
  void resume();

  /// Runs one command through a connection of its own: strings and integers as JSON strings and numbers,
  /// nil as null, arrays as arrays, an error reply as `{"error": text}`. Throws when Redis is unreachable.
  nlohmann::json call(const std::vector<std::string>& args) const;

 private:
  void launch();
  // Waits for the stopped or killed server and forgets its pid.
  void reap();

  options options_;
  std::unique_ptr<temp_dir> dir_;
  unsigned short port_ = 0;
  int pid_ = -1;
};

}  // namespace offload::test
