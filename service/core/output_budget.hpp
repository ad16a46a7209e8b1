// The cap on a job's logged output (`--max-log-bytes`): what was logged so far, and when to stop logging.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>

namespace offload::core {

/// One per job, touched only on the reactor.
class output_budget {
 public:
  output_budget() = default;
  /// A budget read back from a store.
  output_budget(std::uint64_t logged, bool truncated) noexcept : logged_(logged), truncated_(truncated) {}

  /// What to do with an `output` event.
  enum class decision {
    /// Log it: it fits.
    log,
    /// It does not fit: log one `output_truncated` marker instead, and nothing after it.
    truncate,
    /// The log was already truncated: drop it.
    drop,
  };

  /// Charges an output event carrying `bytes` against `limit`.
  decision charge(std::uint64_t bytes, std::uint64_t limit) noexcept {
    if (truncated_) return decision::drop;
    if (logged_ + bytes > limit) {
      truncated_ = true;
      return decision::truncate;
    }
    logged_ += bytes;
    return decision::log;
  }

  std::uint64_t logged() const noexcept { return logged_; }
  bool truncated() const noexcept { return truncated_; }

  /// What one logged event costs besides its payload: its frame's JSON around the data (about 85 bytes),
  /// the frame's allocation and shared ownership, and its entry in the log (about 190 bytes in all for a
  /// one-byte chunk, measured). Charged per event, so that a child writing one byte at a time cannot log
  /// two hundred times more than the limit says.
  static constexpr std::uint64_t event_overhead = 192;

  /// What an `output` event's data costs the budget: its `data` or `data_base64` text plus the overhead.
  static std::uint64_t cost_of(const nlohmann::json& data) {
    for (const char* field : {"data", "data_base64"})
      if (const auto it = data.find(field); it != data.end() && it->is_string())
        return it->get_ref<const std::string&>().size() + event_overhead;
    return event_overhead;
  }

 private:
  std::uint64_t logged_ = 0;
  bool truncated_ = false;
};

}  // namespace offload::core
