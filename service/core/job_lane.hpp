// The interface between the job service and whatever runs jobs: the thread lane, the process lane.
#pragma once

#include "core/job_fsm.hpp"
#include "core/job_type.hpp"

#include <offload/proto/error.hpp>
#include <offload/proto/job_enums.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace offload::core {

/// One job handed to a lane. References stay valid until `async_run` completes.
struct lane_request {
  const job_type& type;
  const nlohmann::json& input;
  std::string job_id;
  /// Stop is requested on cancel, timeout and shutdown.
  std::stop_token stop;
  /// Records a progress or output event; must be called on the reactor (lanes post to it).
  std::function<void(proto::event_type, nlohmann::json)> on_event;
};

/// How a lane says a job ended: `succeed` with a result, or `fail`/`crash` with an error.
struct lane_outcome {
  job_input input = job_input::fail;
  nlohmann::json result;
  std::optional<proto::error> error;

  /// The job failed with `code` and `message`.
  static lane_outcome failure(proto::errc code, std::string message) {
    return {job_input::fail, nullptr, proto::error{code, std::move(message)}};
  }
};

/// A bounded set of execution slots. Called only on the reactor.
class job_lane {
 public:
  virtual ~job_lane() = default;

  /// How many jobs may run at once.
  virtual std::size_t capacity() const noexcept = 0;
  /// Runs one job and completes on the reactor. The service never runs more than `capacity()` at once.
  virtual boost::asio::awaitable<lane_outcome> async_run(lane_request request) = 0;
  /// Blocks until every worker has stopped; called once, after the reactor stopped.
  virtual void join() = 0;

  /// The running-time limit of a job of `type` that asked for `requested` (none: no limit). Lanes whose
  /// types carry a ceiling (commands) apply it here; the service enforces the answer.
  virtual std::optional<std::chrono::milliseconds> timeout_for(
      const job_type& type, std::optional<std::chrono::milliseconds> requested) const {
    (void)type;
    return requested;
  }
};

/// The lanes a service runs jobs in, one per slot pool; a null one means this server has no such pool.
struct job_lanes {
  std::unique_ptr<job_lane> thread;
  std::unique_ptr<job_lane> worker;
  std::unique_ptr<job_lane> command;
  /// The operator's worker pools, in the order of `job_type::external_pool`.
  std::vector<std::unique_ptr<job_lane>> external;
};

}  // namespace offload::core
