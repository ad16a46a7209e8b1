// How `offload watch` and `offload submit --follow` show a job's events.
#pragma once

#include <offload/proto/job_event.hpp>

#include <cstdio>
#include <string>
#include <string_view>

namespace offload::cli {

enum class output_mode {
  /// One JSON object per line, exactly as the server sent it.
  json,
  /// One readable line per event (pipes, files, CI logs).
  lines,
  /// A terminal: a progress bar that redraws in place, output chunks written through as they come.
  terminal,
};

/// An error as a person reads it next to the job's state: `code: message`, or only the message when the code
/// merely repeats the state (`crashed`, `timed_out`, `cancelled`).
std::string error_text(std::string_view code, std::string_view message, std::string_view state);

class event_printer {
 public:
  event_printer(output_mode mode, std::FILE* out, std::FILE* err) : mode_(mode), out_(out), err_(err) {}
  void print(const proto::job_event& event);

 private:
  void draw_bar(double fraction, const std::string& note);
  void clear_bar();

  output_mode mode_;
  std::FILE* out_;
  std::FILE* err_;
  bool bar_shown_ = false;
  double fraction_ = 0;
  std::string note_;
};

}  // namespace offload::cli
