// The error value carried by API responses and failed jobs: `{"code":…,"message":…}`.
#pragma once

#include <offload/proto/errc.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace offload::proto {

/// A machine-readable code with a human-readable message.
struct error {
  errc code = errc::internal;
  std::string message;

  friend bool operator==(const error&, const error&) = default;
};

/// `{"code":"…","message":"…"}`
void to_json(nlohmann::json& j, const error& e);
/// Reads `{"code","message"}`; an unknown code becomes `internal` with the text kept in the message.
void from_json(const nlohmann::json& j, error& e);

/// `not_found` for a job id that is unknown (or evicted): the one wording of that message.
error job_not_found(std::string_view id);

/// The full error response body: `{"error":{"code":…,"message":…}}`, serialised.
std::string error_body(const error& e);

}  // namespace offload::proto
