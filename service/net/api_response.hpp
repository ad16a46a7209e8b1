// An HTTP response as the API handlers produce it: status, content type, body and extra headers.
#pragma once

#include <offload/proto/error.hpp>
#include <offload/proto/job_view.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace offload::net {

struct api_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  /// Extra headers such as `Allow`, `Retry-After` or `Location`.
  std::vector<std::pair<std::string, std::string>> headers;
  /// The route pattern that answered (`/v1/jobs/{id}`), for metrics; set by the router.
  std::string_view route = "unmatched";

  static api_response json(unsigned status, const nlohmann::json& body);
  /// A job view, its result text copied as it is (`proto::dump_view`).
  static api_response json(unsigned status, const proto::job_view& view);
  static api_response text(unsigned status, std::string body);
  /// `{"error":{…}}` with the status the wire API assigns to `e.code`.
  static api_response error(const proto::error& e);
};

/// The HTTP status of an API error code (400, 401, 404, 405, 409, 413, 429, 431, 500 or 503).
unsigned http_status(proto::errc code) noexcept;

}  // namespace offload::net
