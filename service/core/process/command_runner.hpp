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
  command_runner(boost::asio::any_io_executor reactor, process_config config);
  ~command_runner() override;

  std::size_t capacity() const noexcept override { return config_.max_commands; }
  boost::asio::awaitable<lane_outcome> async_run(lane_request request) override;
  void join() override;

 private:
  boost::asio::awaitable<proto::result<std::string>> async_make_work_dir();
  boost::asio::awaitable<void> async_remove_work_dir(std::string dir);

  boost::asio::any_io_executor reactor_;
  process_config config_;
  // Directory creation and removal are blocking syscalls: they run here, never on the reactor.
  boost::asio::thread_pool files_{1};
};

}  // namespace offload::core
