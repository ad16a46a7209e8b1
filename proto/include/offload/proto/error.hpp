// The error value carried by API responses and failed jobs: `{"code":…,"message":…}`.
#pragma once

#include <offload/proto/errc.hpp>

#include <nlohmann/json.hpp>

#include <string>

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

/// The full error response body: `{"error":{"code":…,"message":…}}`, serialised.
std::string error_body(const error& e);

}  // namespace offload::proto
