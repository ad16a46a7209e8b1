// Encoding and strict decoding of worker protocol lines.
#include <offload/proto/json_parse.hpp>
#include <offload/proto/worker_message.hpp>

namespace offload::proto {
namespace {

error protocol(std::string what) {
  return error{errc::protocol_error, "worker protocol: " + std::move(what)};
}

std::string with_newline(const nlohmann::json& j) {
  auto text = dump_json(j);
  text.push_back('\n');
  return text;
}

}  // namespace

std::string encode_line(const worker_request& request) {
  return with_newline({{"type", request.type}, {"input", request.input}});
}

std::string encode_line(const worker_event& event) {
  switch (event.kind) {
    case worker_event_kind::ready: {
      nlohmann::json j = {{"event", "ready"}};
      if (event.protocol) j["protocol"] = *event.protocol;
      if (event.types) j["types"] = *event.types;
      return with_newline(j);
    }
    case worker_event_kind::progress:
      return with_newline({{"event", "progress"}, {"fraction", event.fraction}, {"note", event.note}});
    case worker_event_kind::output:
      return with_newline({{"event", "output"}, {"data", event.data}});
    case worker_event_kind::result:
      return with_newline({{"event", "result"}, {"result", event.result}});
    case worker_event_kind::error:
      return with_newline({{"event", "error"}, {"error", event.error}});
  }
  return with_newline({{"event", "error"}, {"error", error{errc::internal, "unknown event"}}});
}

result<worker_request> decode_worker_request(std::string_view line) {
  auto j = parse_json(line);
  if (!j) return protocol("request is not JSON");
  if (!j->is_object()) return protocol("request is not an object");
  const auto type = j->find("type");
  const auto input = j->find("input");
  if (type == j->end() || !type->is_string()) return protocol("request has no string 'type'");
  if (input == j->end() || !input->is_object()) return protocol("request has no object 'input'");
  return worker_request{type->get<std::string>(), std::move(*input)};
}

result<worker_event> decode_worker_event(std::string_view line) {
  auto j = parse_json(line);
  if (!j || !j->is_object()) return protocol("event line is not a JSON object");
  const auto kind = j->find("event");
  if (kind == j->end() || !kind->is_string()) return protocol("event line has no string 'event'");
  const auto& name = kind->get_ref<const std::string&>();
  worker_event e;
  if (name == "ready") {
    e.kind = worker_event_kind::ready;
    if (const auto v = j->find("protocol"); v != j->end()) {
      if (!v->is_number_integer() || v->get<std::int64_t>() < 0 || v->get<std::int64_t>() > 1'000'000)
        return protocol("ready's 'protocol' must be a version number");
      e.protocol = v->get<int>();
    }
    if (const auto t = j->find("types"); t != j->end()) {
      if (!t->is_array() || t->size() > 10'000) return protocol("ready's 'types' must be an array of names");
      std::vector<std::string> names;
      for (const auto& n : *t) {
        if (!n.is_string()) return protocol("ready's 'types' must be an array of names");
        names.push_back(n.get<std::string>());
      }
      e.types = std::move(names);
    }
  } else if (name == "progress") {
    e.kind = worker_event_kind::progress;
    const auto f = j->find("fraction");
    if (f == j->end() || !f->is_number() || f->get<double>() < 0 || f->get<double>() > 1)
      return protocol("progress needs a 'fraction' from 0 to 1");
    e.fraction = f->get<double>();
    const auto note = j->find("note");
    if (note != j->end() && note->is_string()) e.note = note->get<std::string>();
  } else if (name == "output") {
    e.kind = worker_event_kind::output;
    const auto data = j->find("data");
    if (data == j->end() || !data->is_string()) return protocol("output needs a string 'data'");
    e.data = data->get<std::string>();
  } else if (name == "result") {
    e.kind = worker_event_kind::result;
    const auto r = j->find("result");
    if (r == j->end()) return protocol("result needs 'result'");
    e.result = std::move(*r);
  } else if (name == "error") {
    e.kind = worker_event_kind::error;
    const auto err = j->find("error");
    if (err == j->end() || !err->is_object() || !err->contains("code") || !(*err)["code"].is_string() ||
        (err->contains("message") && !(*err)["message"].is_string()))
      return protocol("error needs an 'error' object with a string 'code' and 'message'");
    e.error = err->get<error>();
    // A worker's own codes ("bad_image") are the handler's failure, with the code kept in the message.
    if (!errc_from_string((*err)["code"].get_ref<const std::string&>())) e.error.code = errc::handler_error;
  } else {
    return protocol("unknown event '" + name + "'");
  }
  return e;
}

}  // namespace offload::proto
