// A succeeded job's result, kept once: as the JSON text inside the job's terminal event frame, which the
// event log already holds for replays. Views, API answers and the stores read that text; nothing keeps a
// parsed copy of it beside the frame.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace offload::core {

class job_result {
 public:
  /// The result inside a `succeeded` event frame (`{["output_truncated":…,]"result":R,"seq":…}`); nothing
  /// when the frame holds none.
  static std::optional<job_result> from_frame(std::shared_ptr<const std::string> frame);
  /// A result with text of its own (tests; a frame of another shape).
  static job_result from_json(const nlohmann::json& value);

  /// The result as compact JSON text.
  std::string_view text() const noexcept { return text_; }
  /// What keeps `text()` alive (the frame).
  const std::shared_ptr<const std::string>& owner() const noexcept { return owner_; }
  /// The result parsed (a copy: for callers that need a value, not for the API's answers).
  nlohmann::json value() const;

  friend bool operator==(const job_result& a, const job_result& b) noexcept { return a.text_ == b.text_; }

 private:
  job_result(std::shared_ptr<const std::string> owner, std::string_view text)
      : owner_(std::move(owner)), text_(text) {}

  std::shared_ptr<const std::string> owner_;
  std::string_view text_;
};

}  // namespace offload::core
