// Wire spellings of the error codes.
#include "name_table.hpp"

#include <offload/proto/errc.hpp>

namespace offload::proto {
namespace {

constexpr detail::name_table<errc, 33> names{{
    {errc::invalid_json, "invalid_json"},
    {errc::invalid_input, "invalid_input"},
    {errc::unknown_type, "unknown_type"},
    {errc::lane_unavailable, "lane_unavailable"},
    {errc::not_found, "not_found"},
    {errc::method_not_allowed, "method_not_allowed"},
    {errc::upgrade_required, "upgrade_required"},
    {errc::payload_too_large, "payload_too_large"},
    {errc::bad_request, "bad_request"},
    {errc::headers_too_large, "headers_too_large"},
    {errc::queue_full, "queue_full"},
    {errc::draining, "draining"},
    {errc::idempotency_conflict, "idempotency_conflict"},
    {errc::already_finished, "already_finished"},
    {errc::unauthorized, "unauthorized"},
    {errc::internal, "internal"},
    {errc::cancelled, "cancelled"},
    {errc::timed_out, "timed_out"},
    {errc::shutdown, "shutdown"},
    {errc::handler_error, "handler_error"},
    {errc::command_failed, "command_failed"},
    {errc::crashed, "crashed"},
    {errc::output_limit, "output_limit"},
    {errc::protocol_error, "protocol_error"},
    {errc::spawn_failed, "spawn_failed"},
    {errc::worker_unavailable, "worker_unavailable"},
    {errc::overloaded, "overloaded"},
    {errc::cpu_limit, "cpu_limit"},
    {errc::memory_limit, "memory_limit"},
    {errc::storage_unavailable, "storage_unavailable"},
    {errc::interrupted, "interrupted"},
    {errc::too_many_subscriptions, "too_many_subscriptions"},
    {errc::result_too_large, "result_too_large"},
}};

}  // namespace

std::string_view to_string(errc code) noexcept {
  return detail::name_of(names, code, "internal");
}

std::optional<errc> errc_from_string(std::string_view text) noexcept {
  return detail::value_of(names, text);
}

}  // namespace offload::proto
