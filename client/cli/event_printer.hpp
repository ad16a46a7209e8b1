// How `offload watch` and `offload submit --follow` show a job's events.
#pragma once

#include <offload/proto/job_event.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace offload::cli {

enum class output_mode {
  /// One JSON object per line, exactly as the server sent it.
  json,
  /// One readable line per event (pipes, files, CI logs).
  lines,
  /// A terminal: a status line (state, progress bar, elapsed time, note) that redraws in place at the
  /// terminal's width, output chunks written through as they come.
  terminal,
};

/// An error as a person reads it next to the job's state: `code: message`, or only the message when the code
/// merely repeats the state (`crashed`, `timed_out`, `cancelled`).
std::string error_text(std::string_view code, std::string_view message, std::string_view state);

/// The status line for a terminal `columns` wide: `running [######----] 45% 0:07 note`, never wider than
/// `columns - 1` (so it cannot wrap), the bar dropped on narrow terminals and the note cut at a character
/// boundary. `fraction` is absent until the job reported progress.
std::string status_line(std::string_view state, std::optional<double> fraction, std::chrono::seconds elapsed,
                        std::string_view note, int columns);

/// Thread-safe: events arrive on the client's thread; in terminal mode a ticker thread redraws the status
/// line four times a second (elapsed time, a resized terminal).
class event_printer {
 public:
  event_printer(output_mode mode, std::FILE* out, std::FILE* err);
  ~event_printer();
  event_printer(const event_printer&) = delete;
  event_printer& operator=(const event_printer&) = delete;

  void print(const proto::job_event& event);
  /// Clears the status line and stops redrawing it, so that a message can follow (Ctrl-C).
  void stop();
  /// The newest `seq` printed (0 before the first event).
  std::uint64_t last_seq() const;

 private:
  void draw_status();
  void clear_status();
  void tick(std::stop_token stop);

  output_mode mode_;
  std::FILE* out_;
  std::FILE* err_;
  mutable std::mutex mutex_;
  std::condition_variable_any wake_;
  bool stopped_ = false;
  bool status_shown_ = false;
  std::string state_ = "queued";
  std::optional<double> fraction_;
  std::string note_;
  std::optional<std::chrono::system_clock::time_point> since_;  // when the job (or its attempt) started
  std::uint64_t last_seq_ = 0;
  std::jthread ticker_;
};

}  // namespace offload::cli
