// Runs allow-listed commands in the process lane: one child per job, output streamed as events,
// enforced output cap, private working directory, and the whole tree killed on cancel or timeout.
#pragma once

#include "core/job_lane.hpp"
#include "core/process/process_config.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>

namespace offload::core {

class command_runner final : public job_lane {
 public:
  /// Also sweeps what an offloadd that died left under the work root (`job_leftovers`): call before the
  /// reactor runs.
  command_runner(boost::asio::any_io_executor reactor, process_config config);
  ~command_runner() override;

  std::size_t capacity() const noexcept override { return config_.max_commands; }
  boost::asio::awaitable<lane_outcome> async_run(lane_request request) override;
  void join() override;
  /// A command's configured `timeout_ms` is a ceiling; a job's own may only shorten it.
  std::optional<std::chrono::milliseconds> timeout_for(
      const job_type& type, std::optional<std::chrono::milliseconds> requested) const override;

 private:
  boost::asio::any_io_executor reactor_;
  process_config config_;
  // Working directories, fork and exec block: they happen here, never on the reactor. Two threads, so one
  // slow start (a big parent to fork, a slow file system) does not hold up the next.
  boost::asio::thread_pool helpers_{2};
};

}  // namespace offload::core
