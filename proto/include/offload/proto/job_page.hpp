// `GET /v1/jobs`: one page of job views and the cursor of the next.
#pragma once

#include <offload/proto/job_view.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace offload::proto {

/// `{"jobs":[…],"next":ID|null}`, oldest first.
struct job_page {
  std::vector<job_view> jobs;
  /// Pass as `after` to get the following page; null on the last page.
  std::optional<std::string> next;
};

void to_json(nlohmann::json& j, const job_page& p);
void from_json(const nlohmann::json& j, job_page& p);

}  // namespace offload::proto
