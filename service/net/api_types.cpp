// Request target parsing and response construction.
#include "net/api_request.hpp"
#include "net/api_response.hpp"

#include <offload/proto/json_parse.hpp>

namespace offload::net {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; `+` means space in query components only.
std::optional<std::string> decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::optional<api_request> api_request::from_target(std::string method, std::string_view target,
                                                    std::string body) {
  if (target.empty() || target.front() != '/') return std::nullopt;
  api_request req;
  req.method = std::move(method);
  req.body = std::move(body);
  const auto q = target.find('?');
  auto path = decode(target.substr(0, q), false);
  if (!path) return std::nullopt;
  req.path = std::move(*path);
  if (q == std::string_view::npos) return req;

  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = decode(pair.substr(0, eq), true);
    auto value = decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!key || !value) return std::nullopt;
    req.query.emplace_back(std::move(*key), std::move(*value));
  }
  return req;
}

api_response api_response::json(unsigned status, const nlohmann::json& body) {
  return api_response{status, "application/json", proto::dump_json(body), {}};
}

api_response api_response::json(unsigned status, const proto::job_view& view) {
  return api_response{status, "application/json", proto::dump_view(view), {}};
}

api_response api_response::text(unsigned status, std::string body) {
  return api_response{status, "text/plain; charset=utf-8", std::move(body), {}};
}

api_response api_response::error(const proto::error& e) {
  return api_response{http_status(e.code), "application/json", proto::error_body(e), {}};
}

unsigned http_status(proto::errc code) noexcept {
  using proto::errc;
  switch (code) {
    case errc::invalid_json:
    case errc::invalid_input:
    case errc::unknown_type:
    case errc::lane_unavailable:
    case errc::bad_request:
      return 400;
    case errc::unauthorized:
      return 401;
    case errc::not_found:
      return 404;
    case errc::method_not_allowed:
      return 405;
    case errc::upgrade_required:
      return 426;
    case errc::idempotency_conflict:
    case errc::already_finished:
      return 409;
    case errc::payload_too_large:
      return 413;
    case errc::queue_full:
    case errc::too_many_subscriptions:
      return 429;
    case errc::headers_too_large:
      return 431;
    case errc::draining:
    case errc::overloaded:
    case errc::storage_unavailable:
      return 503;
    case errc::internal:
    case errc::cancelled:
    case errc::timed_out:
    case errc::shutdown:
    case errc::handler_error:
    case errc::command_failed:
    case errc::crashed:
    case errc::output_limit:
    case errc::protocol_error:
    case errc::spawn_failed:
    case errc::worker_unavailable:
    case errc::cpu_limit:
    case errc::interrupted:
    case errc::result_too_large:
    case errc::memory_limit:
      return 500;
  }
  return 500;
}

}  // namespace offload::net
