// JSON-lines logger.
#include "core/logger.hpp"

#include "core/thread_name.hpp"

#include <offload/proto/json_parse.hpp>
#include <offload/proto/timestamp.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>

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

// The queue between every thread that logs and the one thread that writes stderr.
class log_sink {
 public:
  // Never destroyed: the writer thread is detached and may still be blocked on a full pipe at exit.
  static log_sink& instance() {
    static log_sink* sink = new log_sink;
    return *sink;
  }

  void push(std::string line) {
    const std::lock_guard lock{mutex_};
    if (queued_bytes_ + line.size() > max_queued_log_bytes) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queued_bytes_ += line.size();
    lines_.push_back(std::move(line));
    if (!started_) {
      started_ = true;
      std::thread{[this] {
        name_this_thread("offload-log");
        run();
      }}.detach();
    }
    wake_.notify_one();
  }

  bool flush(std::chrono::milliseconds limit) {
    std::unique_lock lock{mutex_};
    return drained_.wait_for(lock, limit, [this] { return lines_.empty() && !writing_; });
  }

  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  void run() {
    std::unique_lock lock{mutex_};
    for (;;) {
      wake_.wait(lock, [this] { return !lines_.empty(); });
      std::deque<std::string> batch;
      batch.swap(lines_);
      writing_ = true;
      lock.unlock();
      std::size_t bytes = 0;
      for (const auto& line : batch) {
        write_all(line);
        bytes += line.size();
      }
      lock.lock();
      writing_ = false;
      queued_bytes_ -= bytes;
      drained_.notify_all();
    }
  }

  // A failed write (stderr closed) drops the line: logging must never take the service down.
  static void write_all(std::string_view text) {
    while (!text.empty()) {
      const auto n = ::write(STDERR_FILENO, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      text.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<std::string> lines_;
  std::size_t queued_bytes_ = 0;
  bool started_ = false;
  bool writing_ = false;
  std::atomic<std::uint64_t> dropped_{0};
};

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
  log_sink::instance().push(std::move(text));
}

std::uint64_t log_lines_dropped() noexcept {
  return log_sink::instance().dropped();
}

bool flush_logs(std::chrono::milliseconds limit) {
  return log_sink::instance().flush(limit);
}

}  // namespace offload::core
