#include "support/redis_server.hpp"

#include "support/child_guard.hpp"
#include "support/proc_helpers.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace offload::test {
namespace {

/// A port the kernel just handed out on 127.0.0.1 (free now; the caller retries if it is taken meanwhile).
unsigned short free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::runtime_error(std::string{"cannot find a free port: "} + std::strerror(errno));
  ::close(fd);
  return ntohs(address.sin_port);
}

nlohmann::json to_json(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return std::string(r.str, r.len);
    case REDIS_REPLY_ERROR:
      return {{"error", std::string(r.str, r.len)}};
    case REDIS_REPLY_INTEGER:
      return r.integer;
    case REDIS_REPLY_ARRAY: {
      auto out = nlohmann::json::array();
      for (std::size_t i = 0; i < r.elements; ++i)
        out.push_back(to_json(*r.element[i]));
      return out;
    }
    default:
      return nullptr;
  }
}

/// Whether the server on `port` answers PING (with `password` when it has one).
bool answers(unsigned short port, const std::string& password) {
  const timeval timeout{1, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  bool ok = false;
  if (c && !c->err) {
    if (!password.empty()) freeReplyObject(redisCommand(c, "AUTH %s", password.c_str()));
    auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
    ok = reply && reply->type == REDIS_REPLY_STATUS && std::string(reply->str, reply->len) == "PONG";
    if (reply) freeReplyObject(reply);
  }
  if (c) redisFree(c);
  return ok;
}

}  // namespace

redis_server::redis_server(options o) : options_(std::move(o)), dir_(std::make_unique<temp_dir>()) {
  // The port is free when picked; another process may take it before Redis binds it: then pick again.
  for (int attempt = 0;; ++attempt) {
    port_ = free_port();
    try {
      launch();
      return;
    } catch (const std::exception&) {
      if (attempt == 4) throw;
    }
  }
}

redis_server::~redis_server() {
  stop(SIGKILL);
}

void redis_server::reap() {
  ::waitpid(pid_, nullptr, 0);
  unguard_child(pid_);
  pid_ = -1;
}

std::string redis_server::url() const {
  return "redis://127.0.0.1:" + std::to_string(port_);
}

void redis_server::launch() {
  const auto dir = dir_->path().string();
  std::vector<std::string> argv{"redis-server",
                                "--port",
                                std::to_string(port_),
                                "--bind",
                                "127.0.0.1",
                                "--dir",
                                dir,
                                "--logfile",
                                dir + "/redis.log",
                                "--save",
                                "",
                                "--daemonize",
                                "no",
                                "--appendonly",
                                options_.appendonly ? "yes" : "no"};
  if (options_.appendonly) argv.insert(argv.end(), {"--appendfsync", "always"});
  if (!options_.password.empty()) argv.insert(argv.end(), {"--requirepass", options_.password});
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, "redis-server", &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw std::runtime_error(std::string{"cannot start redis-server (scripts/bootstrap.sh installs it): "} +
                             std::strerror(rc));
  pid_ = pid;
  guard_child(pid_);
  try {
    wait_until(
        [&] {
          if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
            unguard_child(pid_);
            pid_ = -1;
            std::ifstream log{dir + "/redis.log"};
            std::string text{std::istreambuf_iterator<char>{log}, {}};
            throw std::runtime_error("redis-server exited at start: " +
                                     text.substr(text.size() > 2000 ? text.size() - 2000 : 0));
          }
          return answers(port_, options_.password);
        },
        "redis-server on port " + std::to_string(port_));
  } catch (...) {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap();
    }
    throw;
  }
}

void redis_server::stop(int signal) {
  if (pid_ <= 0) return;
  ::kill(pid_, signal);
  ::kill(pid_, SIGCONT);
  reap();
}

void redis_server::start() {
  if (pid_ > 0) throw std::logic_error("redis-server already runs");
  // The port was ours a moment ago; a socket in TIME_WAIT does not stop Redis (it sets SO_REUSEADDR).
  launch();
}

void redis_server::pause() {
  ::kill(pid_, SIGSTOP);
}
void redis_server::resume() {
  ::kill(pid_, SIGCONT);
}

nlohmann::json redis_server::call(const std::vector<std::string>& args) const {
  const timeval timeout{5, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, timeout);
  if (!c || c->err) {
    const std::string why = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    throw std::runtime_error("cannot reach redis-server: " + why);
  }
  if (!options_.password.empty()) freeReplyObject(redisCommand(c, "AUTH %s", options_.password.c_str()));
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  if (!reply) {
    const std::string why = c->errstr;
    redisFree(c);
    throw std::runtime_error("redis-server did not answer: " + why);
  }
  auto out = to_json(*reply);
  freeReplyObject(reply);
  redisFree(c);
  return out;
}

}  // namespace offload::test
