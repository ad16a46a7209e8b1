// Errors of the client library: every server error code and every transport failure, as one enum with a
// std::error_category, plus the server's message and HTTP details.
#pragma once

#include <offload/proto/errc.hpp>

#include <boost/system/result.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

namespace offload {

/// What went wrong with a call. Values 1–99 mirror the server's `proto::errc` wire codes one to one;
/// values from 100 are failures on the client's side of the wire.
enum class errc {
  // Codes the server sends in `{"error":{"code":…}}` (same names as on the wire).
  invalid_json = 1,
  invalid_input,
  unknown_type,
  lane_unavailable,
  not_found,
  method_not_allowed,
  upgrade_required,
  payload_too_large,
  bad_request,
  headers_too_large,
  queue_full,
  draining,
  idempotency_conflict,
  already_finished,
  unauthorized,
  internal,
  cancelled,
  timed_out,
  shutdown,
  handler_error,
  command_failed,
  crashed,
  output_limit,
  protocol_error,
  spawn_failed,
  worker_unavailable,
  overloaded,
  cpu_limit,
  storage_unavailable,
  interrupted,
  too_many_subscriptions,
  result_too_large,
  memory_limit,

  // Client-side failures.
  /// The base URL cannot be used (not `http://host[:port][/prefix]`).
  invalid_url = 100,
  /// The host name did not resolve or no address accepted the connection.
  connect_failed,
  /// The connection was not established or the server did not answer within the configured timeout.
  timeout,
  /// The connection broke while a request or an event stream was in flight.
  connection_lost,
  /// The server's answer was not what the protocol promises (bad JSON, unexpected status, oversize body).
  bad_response,
  /// `wait` gave up: the job had not reached a terminal state when the caller's timeout ran out.
  wait_timeout,
  /// A stream kept failing to reconnect and gave up after the configured number of attempts.
  reconnect_exhausted,
};

/// The category of `offload::errc`; its name is `"offload"`.
const std::error_category& client_category() noexcept;

std::error_code make_error_code(errc e) noexcept;

/// The client code for a server wire code.
errc from_proto(proto::errc code) noexcept;

/// The snake_case name of a code (`"queue_full"`, `"connect_failed"`, …).
std::string_view to_string(errc e) noexcept;

/// A failed call: the code, a human-readable message (the server's, when the server answered) and, when an
/// HTTP answer arrived, its status and `Retry-After`.
struct error {
  std::error_code code;
  std::string message;
  /// The HTTP status of the answer, 0 when none arrived.
  unsigned http_status = 0;
  /// Set with `queue_full` when the server advised when to retry.
  std::optional<std::chrono::seconds> retry_after;

  /// True when `code` is `e`.
  bool is(errc e) const noexcept { return code == make_error_code(e); }
};

/// An error with a code and a message (no HTTP details).
error make_error(errc code, std::string message);

/// What `result<T>::value()` throws when it holds an error.
class client_error : public std::system_error {
 public:
  explicit client_error(const error& e) : std::system_error(e.code, e.message), error_(e) {}
  const offload::error& details() const noexcept { return error_; }

 private:
  offload::error error_;
};

/// Lets `boost::system::result<T, offload::error>::value()` throw `client_error`.
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

/// Every call returns `result<T>`: a value or an `error`; nothing throws except `value()` on an error.
template <class T>
using result = boost::system::result<T, error>;

}  // namespace offload

template <>
struct std::is_error_code_enum<offload::errc> : std::true_type {};
