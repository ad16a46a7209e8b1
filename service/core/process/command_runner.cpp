// One child per command job: spawn, feed stdin, stream stdout/stderr, wait, map the ending to a job state.
#include "core/process/command_runner.hpp"

#include "core/logger.hpp"
#include "core/process/command_spec.hpp"
#include "core/process/job_leftovers.hpp"
#include "core/process/output_chunker.hpp"

#include <offload/asio_support.hpp>
#include <offload/proto/json_parse.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stop_token>
#include <unistd.h>

namespace offload::core {
using namespace asio::experimental::awaitable_operators;
using proto::errc;

namespace {

constexpr std::size_t stderr_tail_bytes = 2048;

// Everything read from one child, shared by its two output pumps.
struct run_state {
  child_process& child;
  const command_spec& spec;
  const lane_request& request;
  std::uint64_t total = 0;
  bool over_limit = false;
  std::string stdout_text{};
  std::string stderr_tail{};
};

asio::awaitable<void> feed_stdin(child_process& child, std::string data) {
  if (!data.empty()) co_await asio::async_write(child.stdin_pipe(), asio::buffer(data), use_tuple);
  // EOF for the child (an EPIPE from a child that never reads is fine: SIGPIPE is ignored).
  boost::system::error_code ignored;
  child.stdin_pipe().close(ignored);
}

asio::awaitable<void> pump(asio::readable_pipe& pipe, const char* stream, run_state& st) {
  output_chunker chunker{stream};
  const bool is_stdout = std::string_view{stream} == "stdout";
  std::array<char, 16 * 1024> buffer;
  for (;;) {
    auto [ec, n] = co_await pipe.async_read_some(asio::buffer(buffer), use_tuple);
    if (n > 0 && !st.over_limit) {
      std::string_view bytes{buffer.data(), n};
      if (st.total + n > st.spec.max_output_bytes) {
        // Keep what fits, then stop the tree: the job fails with output_limit.
        bytes = bytes.substr(0, st.spec.max_output_bytes - st.total);
        st.over_limit = true;
        st.child.signal_group(SIGKILL);
      }
      st.total += bytes.size();
      if (is_stdout) {
        st.stdout_text.append(bytes);
      } else {
        st.stderr_tail.append(bytes);
        if (st.stderr_tail.size() > stderr_tail_bytes)
          st.stderr_tail.erase(0, st.stderr_tail.size() - stderr_tail_bytes);
      }
      if (auto payload = chunker.feed(bytes))
        st.request.on_event(proto::event_type::output, std::move(*payload));
    }
    if (ec) break;
  }
  if (auto payload = chunker.flush()) st.request.on_event(proto::event_type::output, std::move(*payload));
}

// The child's pipes are read until EOF, but a grandchild that left the process group (setsid) may hold
// them open long after the child is gone. `output_drain` after the child's exit the pipes are closed,
// whatever still holds the other ends: the job ends, its slot is freed, its work dir removed.
constexpr auto output_drain = std::chrono::milliseconds{500};

// Shared by the two halves below.
struct drain_state {
  asio::steady_timer cut;
  bool io_done = false;
};

asio::awaitable<void> run_io(child_process& child, std::string stdin_data, run_state& st,
                             drain_state& drain) {
  co_await (feed_stdin(child, std::move(stdin_data)) && pump(child.stdout_pipe(), "stdout", st) &&
            pump(child.stderr_pipe(), "stderr", st));
  drain.io_done = true;
  drain.cut.cancel();
}

asio::awaitable<exit_status> wait_then_cut(child_process& child, drain_state& drain) {
  // The wait also kills the group as soon as the child exits, so grandchildren that stayed in it cannot
  // keep the pumps alive; the cut below is for the ones that left it.
  const auto status = co_await child.async_wait();
  if (drain.io_done) co_return status;
  drain.cut.expires_after(output_drain);
  auto [ec] = co_await drain.cut.async_wait(use_tuple);
  if (!ec && !drain.io_done) {
    log(log_level::warn, "closing a command's output: a process outside its group still holds it",
        {{"pid", child.pid()}});
    boost::system::error_code ignored;
    child.stdin_pipe().close(ignored);
    child.stdout_pipe().close(ignored);
    child.stderr_pipe().close(ignored);
  }
  co_return status;
}

lane_outcome outcome_of(const exit_status& status, run_state& st) {
  if (st.over_limit)
    return lane_outcome::failure(
        errc::output_limit,
        "output exceeded max_output_bytes (" + std::to_string(st.spec.max_output_bytes) + "); killed");
  if (status.memory_limit && !status.success())
    return lane_outcome::failure(
        errc::memory_limit,
        "the command went over its memory limit (limits.memory_mb = " +
            std::to_string(st.spec.limits.memory_mb.value_or(0)) +
            " MiB): the kernel killed a process of the job, and the command ended "
            "with " +
            (status.signal != 0 ? signal_name(status.signal) : "exit code " + std::to_string(status.code)));
  if (status.signal == SIGXCPU && st.spec.limits.cpu_seconds)
    return lane_outcome::failure(errc::cpu_limit, "the command used its " +
                                                      std::to_string(*st.spec.limits.cpu_seconds) +
                                                      " s of CPU (limits.cpu_seconds) and was stopped");
  if (status.signal != 0)
    return lane_outcome{job_input::crash, nullptr,
                        proto::error{errc::crashed, "the command was killed by " + status.describe()}};
  if (st.spec.result == command_result::exit_code)
    return lane_outcome{job_input::succeed, nlohmann::json{{"exit_code", status.code}}, std::nullopt};
  if (status.code != 0) {
    auto message = "the command exited with code " + std::to_string(status.code);
    if (!st.stderr_tail.empty()) message += "; stderr: " + st.stderr_tail;
    return lane_outcome::failure(errc::command_failed, std::move(message));
  }
  if (st.spec.result == command_result::stdout_json) {
    auto parsed = proto::parse_json(st.stdout_text);
    if (!parsed)
      return lane_outcome::failure(errc::command_failed,
                                   "the command's stdout is not JSON: " + parsed.error().message);
    return lane_outcome{job_input::succeed, std::move(*parsed), std::nullopt};
  }
  return lane_outcome{job_input::succeed,
                      nlohmann::json{{"stdout", std::move(st.stdout_text)}, {"exit_code", 0}}, std::nullopt};
}

}  // namespace

command_runner::command_runner(asio::any_io_executor reactor, process_config config)
    : reactor_(std::move(reactor)), config_(std::move(config)) {
  if (config_.work_root.empty()) config_.work_root = std::filesystem::temp_directory_path().string();
  // Before any job runs (the reactor is not running yet): what an offloadd that died left under this root.
  if (const auto swept = job_leftovers::sweep(config_.work_root); swept.directories > 0)
    log(log_level::warn, "cleaned up after an offloadd that stopped without doing so",
        {{"work_root", config_.work_root},
         {"directories", swept.directories},
         {"process_groups_killed", swept.process_groups}});
}

command_runner::~command_runner() {
  join();
}

void command_runner::join() {
  helpers_.join();
}

namespace {

struct launched {
  std::string dir;
  std::unique_ptr<child_process> child;
};

void remove_work_dir(const std::string& dir) {
  job_leftovers::remove(dir);
  if (std::filesystem::exists(dir)) log(log_level::warn, "cannot remove a working directory", {{"dir", dir}});
}

// On a helper thread (mkdtemp, fork and the wait for exec all block): the job's private working directory,
// then the child in it. A plain coroutine function taking values, not a lambda (rule 2).
asio::awaitable<proto::result<launched>> prepare_and_spawn(asio::any_io_executor reactor, std::string root,
                                                           child_options options) {
  std::string dir = root + "/offload-job-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr)
    co_return proto::error{errc::spawn_failed, "cannot create a working directory under " + root};
  options.work_dir = dir;
  // A command run as another account owns its directory (mkdtemp made it 0700 for offloadd's user).
  if (options.user && ::chown(dir.c_str(), options.user->uid, options.user->gid) != 0) {
    const int err = errno;
    remove_work_dir(dir);
    co_return proto::error{errc::spawn_failed, "cannot hand the working directory to user " +
                                                   options.user->name + ": " + std::strerror(err)};
  }
  // Its own process group (pgid = pid) is what a later offloadd kills if this one dies without cleaning up:
  // the child records it (with its start time, which tells it from a later process with the same pid)
  // before it execs.
  const auto record = job_leftovers::child_record::open(dir);
  if (record) {
    options.before_exec = &job_leftovers::child_record::write_in_child;
    options.before_exec_arg = record.get();
  } else {
    log(log_level::warn, "cannot write a command job's record: if offloadd dies, its processes stay",
        {{"dir", dir}, {"error", std::strerror(errno)}});
  }
  auto child = child_process::spawn(std::move(reactor), options);
  if (!child) {
    remove_work_dir(dir);
    co_return proto::error{errc::spawn_failed, child.error().message};
  }
  launched out;
  out.dir = std::move(dir);
  out.child = std::move(*child);
  co_return out;
}

}  // namespace

asio::awaitable<lane_outcome> command_runner::async_run(lane_request request) {
  const command_spec& spec = *request.type.command;
  auto argv = expand_argv(spec, request.input);
  child_options options;
  options.executable = argv.front();
  options.args.assign(argv.begin() + 1, argv.end());
  for (const auto& [k, v] : spec.env)
    options.env.push_back(k + "=" + v);
  options.limits = spec.limits;
  options.nice = config_.nice;
  options.user = spec.account;
  options.cgroups = config_.cgroups;
  auto started = co_await asio::co_spawn(
      helpers_, prepare_and_spawn(reactor_, config_.work_root, std::move(options)), asio::use_awaitable);
  if (!started) co_return lane_outcome{job_input::fail, nullptr, started.error()};
  auto& child = *started->child;

  // Cancel and timeout reach us through the stop token, on the reactor: kill the whole tree.
  const auto grace = config_.kill_grace;
  const std::stop_callback on_stop{request.stop, [&child, grace] { child.terminate_group(grace); }};

  std::string stdin_data;
  if (spec.stdin_field) stdin_data = request.input.at(*spec.stdin_field).get<std::string>();
  run_state state{child, spec, request};
  drain_state drain{asio::steady_timer{reactor_}};
  const auto status =
      co_await (run_io(child, std::move(stdin_data), state, drain) && wait_then_cut(child, drain));
  // The outcome does not wait for the clean-up; join() does.
  asio::post(helpers_, [dir = std::move(started->dir)] { remove_work_dir(dir); });
  co_return outcome_of(status, state);
}

std::optional<std::chrono::milliseconds> command_runner::timeout_for(
    const job_type& type, std::optional<std::chrono::milliseconds> requested) const {
  if (!type.command || !type.command->timeout_ms) return requested;
  const std::chrono::milliseconds ceiling{*type.command->timeout_ms};
  return requested ? std::min(*requested, ceiling) : ceiling;
}

}  // namespace offload::core
