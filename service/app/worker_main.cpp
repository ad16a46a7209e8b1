// The worker loop. It runs in a child process with its own process group and rlimits; a crash here only
// costs the job it was running.
#include "app/worker_main.hpp"

#include "core/type_registry.hpp"

#include <offload/proto/worker_message.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

namespace offload::app {
namespace {

void send(const proto::worker_event& event) {
  const auto line = proto::encode_line(event);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

void send_error(proto::errc code, std::string message) {
  proto::worker_event e;
  e.kind = proto::worker_event_kind::error;
  e.error = proto::error{code, std::move(message)};
  send(e);
}

// Progress and output become event lines as they happen.
class line_context final : public core::handler_context {
 public:
  void progress(double fraction, std::string note) override {
    proto::worker_event e;
    e.kind = proto::worker_event_kind::progress;
    e.fraction = fraction;
    e.note = std::move(note);
    send(e);
  }
  void emit(std::string_view chunk) override {
    proto::worker_event e;
    e.kind = proto::worker_event_kind::output;
    e.data = std::string{chunk};
    send(e);
  }
  // Never requested: the parent stops a worker job by killing the worker.
  std::stop_token stop_token() const override { return stop_.get_token(); }

 private:
  std::stop_source stop_;
};

}  // namespace

int run_worker() {
  std::signal(SIGPIPE, SIG_DFL);
  std::ios::sync_with_stdio(false);
  core::type_registry types;
  core::register_builtin_types(types);
  send(proto::worker_event{});  // kind `ready`

  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.size() > proto::max_worker_line_bytes) {
      send_error(proto::errc::protocol_error, "request line too long");
      continue;
    }
    auto request = proto::decode_worker_request(line);
    if (!request) {
      send_error(request.error().code, request.error().message);
      continue;
    }
    const auto* type = types.find(request->type);
    if (!type || !type->run) {
      send_error(proto::errc::unknown_type, "no built-in type named '" + request->type + "'");
      continue;
    }
    if (auto invalid = type->validate(request->input)) {
      send_error(invalid->code, "input." + invalid->message);
      continue;
    }
    line_context ctx;
    try {
      auto result = type->run(request->input, ctx);
      if (result) {
        proto::worker_event e;
        e.kind = proto::worker_event_kind::result;
        e.result = std::move(result).value();
        send(e);
      } else {
        send_error(result.error().code, result.error().message);
      }
    } catch (const std::bad_alloc&) {
      send_error(proto::errc::handler_error, "out of memory");
    } catch (const std::exception& e) {
      send_error(proto::errc::handler_error, std::string{"handler failed: "} + e.what());
    }
  }
  return 0;
}

}  // namespace offload::app
