// Parsing the multiplexed socket's client messages.
#include "net/ws_request.hpp"

#include <offload/proto/json_parse.hpp>

namespace offload::net {
namespace {

using proto::errc;

ws_request_error refuse(nlohmann::json req, errc code, std::string message) {
  return ws_request_error{std::move(req), proto::error{code, std::move(message)}};
}

}  // namespace

std::variant<ws_request, ws_request_error> parse_ws_request(std::string_view text) {
  auto parsed = proto::parse_json(text);
  if (!parsed) return ws_request_error{nullptr, parsed.error()};
  const auto& msg = *parsed;
  if (!msg.is_object()) return refuse(nullptr, errc::invalid_input, "a message must be a JSON object");
  ws_request request;
  if (const auto req = msg.find("req"); req != msg.end()) request.req = *req;
  const auto op = msg.find("op");
  if (op == msg.end() || !op->is_string())
    return refuse(request.req, errc::invalid_input,
                  "op: required, one of submit, subscribe, unsubscribe, cancel, watch, unwatch");
  const auto& name = op->get_ref<const std::string&>();

  if (name == "submit") {
    request.op = ws_request::kind::submit;
    const auto body = msg.find("job");
    if (body == msg.end()) return refuse(request.req, errc::invalid_input, "job: required");
    auto spec = proto::parse_job_spec(*body);
    if (!spec) return ws_request_error{request.req, spec.error()};
    request.job = std::move(spec).value();
    return request;
  }
  if (name == "watch" || name == "unwatch") {
    request.op = name == "watch" ? ws_request::kind::watch : ws_request::kind::unwatch;
    if (request.op == ws_request::kind::unwatch) return request;
    for (auto [field, flag] : {std::pair{"stats", &request.stats}, std::pair{"jobs", &request.jobs}}) {
      const auto value = msg.find(field);
      if (value == msg.end()) continue;
      if (!value->is_boolean())
        return refuse(request.req, errc::invalid_input, std::string{field} + ": must be true or false");
      *flag = value->get<bool>();
    }
    if (!request.stats && !request.jobs)
      return refuse(request.req, errc::invalid_input, "watch: stats or jobs must be true (or send unwatch)");
    return request;
  }
  if (name == "subscribe")
    request.op = ws_request::kind::subscribe;
  else if (name == "unsubscribe")
    request.op = ws_request::kind::unsubscribe;
  else if (name == "cancel")
    request.op = ws_request::kind::cancel;
  else
    return refuse(request.req, errc::invalid_input, "op: unknown operation '" + name + "'");

  const auto id = msg.find("id");
  if (id == msg.end() || !id->is_string()) return refuse(request.req, errc::invalid_input, "id: required");
  request.id = id->get<std::string>();
  if (request.op == ws_request::kind::subscribe) {
    if (const auto after = msg.find("after"); after != msg.end()) {
      if (!after->is_number_unsigned())
        return refuse(request.req, errc::invalid_input, "after: must be a sequence number");
      request.after = after->get<std::uint64_t>();
    }
  }
  return request;
}

}  // namespace offload::net
