// The worker loop: request lines in, event lines out.
#include <offload/proto/worker_message.hpp>
#include <offload/worker/worker.hpp>

#include <csignal>
#include <iostream>
#include <stdexcept>

namespace offload::worker {
namespace {

class line_writer {
 public:
  explicit line_writer(std::FILE* out) : out_(out) {}
  void send(const proto::worker_event& event) const { write(proto::encode_line(event)); }
  void write(const std::string& line) const {
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
  }
  void send_error(proto::errc code, std::string message) const {
    proto::worker_event e;
    e.kind = proto::worker_event_kind::error;
    e.error = proto::error{code, std::move(message)};
    send(e);
  }

 private:
  std::FILE* out_;
};

// Progress and output become event lines as they happen.
class line_context final : public handler_context {
 public:
  explicit line_context(const line_writer& out) : out_(out) {}
  void progress(double fraction, std::string note) override {
    proto::worker_event e;
    e.kind = proto::worker_event_kind::progress;
    e.fraction = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
    e.note = std::move(note);
    out_.send(e);
  }
  void emit(std::string_view chunk) override {
    proto::worker_event e;
    e.kind = proto::worker_event_kind::output;
    e.data = std::string{chunk};
    out_.send(e);
  }
  // Never requested: the parent stops a worker job by killing the worker.
  std::stop_token stop_token() const override { return stop_.get_token(); }

 private:
  const line_writer& out_;
  std::stop_source stop_;
};

void serve_one(const registry& types, const std::string& line, const line_writer& out) {
  if (line.size() > proto::max_worker_line_bytes)
    return out.send_error(proto::errc::protocol_error, "request line too long");
  auto request = proto::decode_worker_request(line);
  if (!request) return out.send_error(request.error().code, request.error().message);
  const auto* t = types.find(request->type);
  if (!t)
    return out.send_error(proto::errc::unknown_type,
                          "this worker serves no type named '" + request->type + "'");
  if (t->validate) {
    if (auto invalid = t->validate(request->input))
      return out.send_error(invalid->code, "input." + invalid->message);
  }
  line_context ctx{out};
  try {
    auto result = t->run(request->input, ctx);
    if (!result) return out.send_error(result.error().code, result.error().message);
    proto::worker_event e;
    e.kind = proto::worker_event_kind::result;
    e.result = std::move(result).value();
    const auto encoded = proto::encode_line(e);
    if (encoded.size() > proto::max_worker_line_bytes)
      return out.send_error(proto::errc::handler_error, "the result is larger than the 16 MiB line limit");
    out.write(encoded);
  } catch (const std::bad_alloc&) {
    out.send_error(proto::errc::handler_error, "out of memory");
  } catch (const std::exception& e) {
    out.send_error(proto::errc::handler_error, std::string{"handler failed: "} + e.what());
  }
}

}  // namespace

void registry::add(type t) {
  if (t.name.empty()) throw std::invalid_argument{"a worker type needs a name"};
  if (!t.run) throw std::invalid_argument{"worker type '" + t.name + "' has no handler"};
  const auto name = t.name;
  if (!types_.emplace(name, std::move(t)).second)
    throw std::invalid_argument{"worker type '" + name + "' is registered twice"};
}

const type* registry::find(std::string_view name) const {
  const auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

int run(const registry& types, std::istream& in, std::FILE* out) {
  const line_writer writer{out};
  proto::worker_event ready;
  ready.protocol = proto::worker_protocol_version;
  ready.types.emplace();
  for (const auto& [name, t] : types.all())
    ready.types->push_back(name);
  writer.send(ready);
  std::string line;
  while (std::getline(in, line))
    serve_one(types, line, writer);
  return 0;
}

int run(const registry& types) {
  std::signal(SIGPIPE, SIG_DFL);
  std::ios::sync_with_stdio(false);
  return run(types, std::cin, stdout);
}

}  // namespace offload::worker
