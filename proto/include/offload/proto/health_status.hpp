// `GET /healthz` and `GET /readyz` answers: `{"status":"ok"}`, `{"status":"ready"}`. A server that is
// not ready answers 503 with an error body instead.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace offload::proto {

struct health_status {
  /// `ok` (alive) or `ready` (accepting jobs).
  std::string status;
};

void to_json(nlohmann::json& j, const health_status& h);
void from_json(const nlohmann::json& j, health_status& h);

}  // namespace offload::proto
