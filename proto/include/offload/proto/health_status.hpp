// `GET /healthz` and `GET /readyz` answers: `{"status":"ok"}`, `{"status":"ready"}`. A server that is
// not ready answers 503 with an error body instead.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace offload::proto {

struct health_status {
  /// `ok` (alive) or `ready` (accepting jobs).
  std::string status;
  /// `/readyz` only: what works only in part (a worker pool that cannot start its workers, …). The
  /// server is ready for everything else. Absent from the JSON when empty.
  std::vector<std::string> degraded;
  /// The server's version (`proto::version()` of its build); empty when not said.
  std::string version;
};

void to_json(nlohmann::json& j, const health_status& h);
void from_json(const nlohmann::json& j, health_status& h);

}  // namespace offload::proto
