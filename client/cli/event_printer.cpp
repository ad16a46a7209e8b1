// Rendering events for people and for programs.
#include "event_printer.hpp"

#include <offload/proto/json_parse.hpp>
#include <offload/proto/timestamp.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <sys/ioctl.h>
#include <unistd.h>

namespace offload::cli {
namespace {

constexpr int max_bar_width = 30;
constexpr auto redraw_every = std::chrono::milliseconds{250};

std::string percent(double fraction) {
  return std::to_string(static_cast<int>(std::lround(std::clamp(fraction, 0.0, 1.0) * 100))) + "%";
}

// The text of an output chunk (`data`, or `data_base64` shown as such).
std::string chunk_text(const nlohmann::json& data) {
  if (const auto it = data.find("data"); it != data.end() && it->is_string()) return it->get<std::string>();
  if (const auto it = data.find("data_base64"); it != data.end() && it->is_string())
    return "[base64] " + it->get<std::string>() + "\n";
  return {};
}

std::string details(const proto::job_event& event) {
  const auto& d = event.data;
  switch (event.type) {
    case proto::event_type::progress:
      return percent(d.value("fraction", 0.0)) +
             (d.value("note", "").empty() ? "" : " " + d.value("note", ""));
    case proto::event_type::output: {
      const auto stream = d.value("stream", "stdout");
      const auto text =
          d.contains("data") ? proto::dump_json(d["data"]) : "base64:" + d.value("data_base64", "");
      return stream + " " + text;
    }
    case proto::event_type::succeeded:
      return d.contains("result") ? proto::dump_json(d["result"]) : "";
    case proto::event_type::failed:
    case proto::event_type::cancelled:
    case proto::event_type::timed_out:
    case proto::event_type::crashed:
      if (d.contains("error") && d["error"].is_object())
        return error_text(d["error"].value("code", ""), d["error"].value("message", ""),
                          to_string(event.type));
      return {};
    default:
      return d.empty() ? "" : proto::dump_json(d);
  }
}

// The terminal's width in columns (80 when it cannot be told).
int columns_of(std::FILE* out) {
  winsize size{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

std::string elapsed_text(std::chrono::seconds elapsed) {
  const auto s = std::max<long long>(0, elapsed.count());
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%lld:%02lld", s / 60, s % 60);
  return text;
}

// At most `columns` characters of `text` (code points, as a terminal shows them), never splitting one.
std::string_view cut(std::string_view text, std::size_t columns) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // a continuation byte
    if (chars++ == columns) return text.substr(0, i);
  }
  return text;
}

}  // namespace

std::string error_text(std::string_view code, std::string_view message, std::string_view state) {
  if (code == state) return std::string{message};
  return std::string{code} + ": " + std::string{message};
}

std::string status_line(std::string_view state, std::optional<double> fraction, std::chrono::seconds elapsed,
                        std::string_view note, int columns) {
  const auto room = static_cast<std::size_t>(std::max(columns - 1, 1));
  std::string line{state};
  const auto time = elapsed_text(elapsed);
  if (fraction) {
    const auto pct = percent(*fraction);
    // state, " [", bar, "] ", pct (padded to 4), " ", time: the bar takes what is left, up to 30.
    const auto fixed = line.size() + 4 + 4 + 1 + time.size();
    const auto bar = std::min<long>(max_bar_width, static_cast<long>(room) - static_cast<long>(fixed) - 8);
    if (bar >= 5) {
      const auto filled = static_cast<std::size_t>(std::lround(std::clamp(*fraction, 0.0, 1.0) * bar));
      line +=
          " [" + std::string(filled, '#') + std::string(static_cast<std::size_t>(bar) - filled, '-') + "]";
    }
    line += " " + std::string(pct.size() < 4 ? 4 - pct.size() : 0, ' ') + pct;
  }
  line += " " + time;
  if (!note.empty() && line.size() + 4 < room) line += " " + std::string{cut(note, room - line.size() - 1)};
  line.resize(cut(line, room).size());
  while (line.ends_with(' '))
    line.pop_back();
  return line;
}

event_printer::event_printer(output_mode mode, std::FILE* out, std::FILE* err)
    : mode_(mode), out_(out), err_(err) {
  if (mode_ == output_mode::terminal) ticker_ = std::jthread{[this](std::stop_token stop) { tick(stop); }};
}

event_printer::~event_printer() {
  if (ticker_.joinable()) {
    ticker_.request_stop();
    wake_.notify_all();
    ticker_.join();
  }
}

void event_printer::print(const proto::job_event& event) {
  std::lock_guard lock{mutex_};
  last_seq_ = event.seq;
  switch (mode_) {
    case output_mode::json: {
      nlohmann::json j;
      to_json(j, event);
      std::fprintf(out_, "%s\n", proto::dump_json(j).c_str());
      break;
    }
    case output_mode::lines: {
      const auto text = details(event);
      std::fprintf(out_, "%llu %s%s%s\n", static_cast<unsigned long long>(event.seq),
                   std::string{to_string(event.type)}.c_str(), text.empty() ? "" : " ", text.c_str());
      break;
    }
    case output_mode::terminal:
      if (stopped_) break;
      if (event.type == proto::event_type::queued) {
        state_ = "queued";
        if (!since_) since_ = proto::parse_timestamp(event.time);
        draw_status();
      } else if (event.type == proto::event_type::started) {
        state_ = "running";
        since_ = proto::parse_timestamp(event.time);
        draw_status();
      } else if (event.type == proto::event_type::retrying) {
        state_ = "retrying";
        fraction_.reset();
        note_ = event.data.contains("error") && event.data["error"].is_object()
                    ? event.data["error"].value("message", "")
                    : "";
        draw_status();
      } else if (event.type == proto::event_type::progress) {
        fraction_ = std::clamp(event.data.value("fraction", 0.0), 0.0, 1.0);
        note_ = event.data.value("note", "");
        draw_status();
      } else if (event.type == proto::event_type::output) {
        clear_status();
        const auto text = chunk_text(event.data);
        std::FILE* target = event.data.value("stream", "stdout") == "stderr" ? err_ : out_;
        std::fwrite(text.data(), 1, text.size(), target);
        std::fflush(target);
        draw_status();
      } else if (event.type == proto::event_type::output_truncated) {
        clear_status();
        std::fprintf(err_, "[output truncated by the server's log cap]\n");
        draw_status();
      } else if (proto::is_terminal(event.type)) {
        clear_status();
        stopped_ = true;
        const auto text = details(event);
        std::fprintf(out_, "%s%s%s\n", std::string{to_string(event.type)}.c_str(), text.empty() ? "" : ": ",
                     text.c_str());
      }
      break;
  }
  std::fflush(out_);
}

void event_printer::stop() {
  std::lock_guard lock{mutex_};
  clear_status();
  stopped_ = true;
  std::fflush(out_);
}

std::uint64_t event_printer::last_seq() const {
  std::lock_guard lock{mutex_};
  return last_seq_;
}

void event_printer::draw_status() {
  const auto elapsed =
      since_ ? std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - *since_)
             : std::chrono::seconds{0};
  const auto line = status_line(state_, fraction_, elapsed, note_, columns_of(out_));
  // \r and erase-line redraw in place; the line is never as wide as the terminal, so it never wraps.
  std::fprintf(out_, "\r\033[K%s", line.c_str());
  std::fflush(out_);
  status_shown_ = true;
}

void event_printer::clear_status() {
  if (!status_shown_) return;
  std::fprintf(out_, "\r\033[K");
  status_shown_ = false;
}

void event_printer::tick(std::stop_token stop) {
  std::unique_lock lock{mutex_};
  while (!wake_.wait_for(lock, stop, redraw_every, [] { return false; })) {
    if (stop.stop_requested()) return;
    if (status_shown_ && !stopped_) draw_status();
  }
}

}  // namespace offload::cli
