// JSON-lines logger.
#include "core/logger.hpp"

#include <offload/proto/json_parse.hpp>
#include <offload/proto/timestamp.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

namespace offload::core {
namespace {

std::atomic<log_level> min_level{log_level::info};

std::string_view name_of(log_level level) noexcept {
  switch (level) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
  }
  return "info";
}

}  // namespace

std::optional<log_level> log_level_from_string(std::string_view text) noexcept {
  for (auto l : {log_level::debug, log_level::info, log_level::warn, log_level::error})
    if (name_of(l) == text) return l;
  return std::nullopt;
}

void set_log_level(log_level level) noexcept {
  min_level.store(level, std::memory_order_relaxed);
}

bool log_enabled(log_level level) noexcept {
  return level >= min_level.load(std::memory_order_relaxed);
}

void log(log_level level, std::string_view msg, const nlohmann::json& fields) {
  if (!log_enabled(level)) return;
  nlohmann::json line = fields.is_object() ? fields : nlohmann::json::object();
  line["time"] = proto::format_timestamp(std::chrono::system_clock::now());
  line["level"] = name_of(level);
  line["msg"] = msg;
  auto text = proto::dump_json(line);
  text.push_back('\n');
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace offload::core
