// A small blocking HTTP client for tests. Every call has a deadline, so a hung server fails the test.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace offload::test {

struct http_response {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  nlohmann::json json() const { return nlohmann::json::parse(body); }
  std::string header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

using header_list = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::chrono::milliseconds default_timeout{30'000};

/// One request on a fresh connection. Throws `std::runtime_error` on transport failure or timeout.
http_response http_request(unsigned short port, const std::string& method, const std::string& target,
                           const std::string& body = {}, const header_list& headers = {},
                           std::chrono::milliseconds timeout = default_timeout);

/// Convenience wrappers.
http_response http_get(unsigned short port, const std::string& target);
http_response http_post(unsigned short port, const std::string& target, const nlohmann::json& body);
http_response http_delete(unsigned short port, const std::string& target);

/// Sends raw bytes and returns everything received until the server closes or `timeout` passes.
std::string raw_exchange(unsigned short port, const std::string& bytes,
                         std::chrono::milliseconds timeout = default_timeout);

/// A kept-alive connection on which requests are sent and responses read one after another.
class http_connection {
 public:
  explicit http_connection(unsigned short port);
  ~http_connection();
  http_response request(const std::string& method, const std::string& target, const std::string& body = {},
                        std::chrono::milliseconds timeout = default_timeout);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace offload::test
