// The blocking client: the asynchronous client on a private I/O thread, for code that does not use Asio.
#pragma once

#include <offload/client/error.hpp>
#include <offload/client/options.hpp>
#include <offload/client/types.hpp>
#include <offload/proto/job_spec.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace offload {

/// Same operations as `async_client`, each blocking the caller until it completes; timeouts come from
/// `client_options`. Thread-safe: calls from several threads run concurrently on the private I/O thread.
/// Stream handlers run on that I/O thread and must not call back into the same client.
///
/// ```
/// offload::client c{{.url = "http://127.0.0.1:8080"}};
/// auto job = c.submit({.type = "sum", .input = {{"n", 1000000}}}).value();   // throws client_error
/// auto done = c.wait(job.id, std::chrono::seconds{30});
/// if (done) std::cout << done->result->dump() << '\n';
/// ```
class client {
 public:
  /// Throws `client_error` (`invalid_url`) when `options.url` cannot be used.
  explicit client(client_options options = {});
  /// Stops the I/O thread. Must not run while calls are in flight on other threads.
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  result<submission> submit(proto::job_spec spec,
                            std::optional<std::chrono::milliseconds> wait = std::nullopt);
  result<proto::job_view> get(const std::string& id);
  result<proto::job_view> wait(const std::string& id, std::chrono::milliseconds timeout);
  result<proto::job_view> cancel(const std::string& id);
  result<job_page> list(const list_filter& filter = {});
  result<std::vector<type_info>> types();
  /// The server's statistics (proto/schema/stats.schema.json).
  result<nlohmann::json> stats();
  result<void> health();
  result<proto::job_event> stream(const std::string& id, event_handler handler, std::uint64_t after = 0);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace offload
