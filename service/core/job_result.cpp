// Finding a result inside its terminal frame.
#include "core/job_result.hpp"

#include <offload/proto/json_parse.hpp>

namespace offload::core {

std::optional<job_result> job_result::from_frame(std::shared_ptr<const std::string> frame) {
  if (!frame) return std::nullopt;
  // The frame is the data object with seq, time and type beside it, keys sorted: `result` comes after
  // `output_truncated` (if present) and before `seq`, which follows the result's text directly.
  const std::string_view text{*frame};
  constexpr std::string_view key = "\"result\":";
  constexpr std::string_view after = ",\"seq\":";
  std::size_t begin = std::string_view::npos;
  for (const std::string_view head :
       {"{\"result\":", "{\"output_truncated\":true,\"result\":", "{\"output_truncated\":false,\"result\":"})
    if (text.starts_with(head)) begin = head.size();
  const auto end = text.rfind(after);
  if (begin != std::string_view::npos && end != std::string_view::npos && end > begin &&
      text.substr(begin - key.size(), key.size()) == key)
    return job_result{std::move(frame), text.substr(begin, end - begin)};
  // Another shape (not expected of frames this service wrote): parse it and keep the result apart.
  const auto parsed = proto::parse_json(text);
  if (!parsed || !parsed->is_object()) return std::nullopt;
  const auto it = parsed->find("result");
  if (it == parsed->end()) return std::nullopt;
  return from_json(*it);
}

job_result job_result::from_json(const nlohmann::json& value) {
  auto text = std::make_shared<const std::string>(proto::dump_json(value));
  const std::string_view view{*text};
  return job_result{std::move(text), view};
}

nlohmann::json job_result::value() const {
  // Text this service serialised: it parses (no depth limit: it was a value once).
  return nlohmann::json::parse(text_);
}

}  // namespace offload::core
