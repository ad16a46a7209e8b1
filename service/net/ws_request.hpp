// Messages a client sends on the multiplexed WebSocket (`GET /v1/ws`), parsed and validated. No I/O.
#pragma once

#include <offload/proto/error.hpp>
#include <offload/proto/job_spec.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace offload::net {

/// `{"op":"submit","job":{…}}`, `{"op":"subscribe","id":…,"after"?:N}`, `{"op":"unsubscribe","id":…}`,
/// `{"op":"cancel","id":…}`, `{"op":"watch","stats"?:bool,"jobs"?:bool}` (both default to true),
/// `{"op":"unwatch"}`; each may carry a `req` value that the reply echoes.
struct ws_request {
  enum class kind { submit, subscribe, unsubscribe, cancel, watch, unwatch };
  kind op = kind::submit;
  nlohmann::json req = nullptr;
  /// `submit` only.
  proto::job_spec job{};
  /// Every other op.
  std::string id{};
  /// `subscribe` only: replay the events after this sequence number.
  std::uint64_t after = 0;
  /// `watch` only: the topics.
  bool stats = true;
  bool jobs = true;
};

/// Why a message was refused, with the `req` to echo (null when it could not be read).
struct ws_request_error {
  nlohmann::json req = nullptr;
  proto::error error;
};

/// Parses one text message. Never throws.
std::variant<ws_request, ws_request_error> parse_ws_request(std::string_view text);

}  // namespace offload::net
