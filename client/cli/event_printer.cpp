// Rendering events for people and for programs.
#include "event_printer.hpp"

#include <offload/proto/json_parse.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace offload::cli {
namespace {

constexpr int bar_width = 30;

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

}  // namespace

std::string error_text(std::string_view code, std::string_view message, std::string_view state) {
  if (code == state) return std::string{message};
  return std::string{code} + ": " + std::string{message};
}

void event_printer::print(const proto::job_event& event) {
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
      if (event.type == proto::event_type::progress) {
        draw_bar(event.data.value("fraction", 0.0), event.data.value("note", ""));
      } else if (event.type == proto::event_type::output) {
        clear_bar();
        const auto text = chunk_text(event.data);
        std::FILE* target = event.data.value("stream", "stdout") == "stderr" ? err_ : out_;
        std::fwrite(text.data(), 1, text.size(), target);
        std::fflush(target);
        if (fraction_ > 0) draw_bar(fraction_, note_);
      } else if (event.type == proto::event_type::output_truncated) {
        clear_bar();
        std::fprintf(err_, "[output truncated by the server's log cap]\n");
      } else if (proto::is_terminal(event.type)) {
        clear_bar();
        const auto text = details(event);
        std::fprintf(out_, "%s%s%s\n", std::string{to_string(event.type)}.c_str(), text.empty() ? "" : ": ",
                     text.c_str());
      }
      break;
  }
  std::fflush(out_);
}

void event_printer::draw_bar(double fraction, const std::string& note) {
  fraction_ = std::clamp(fraction, 0.0, 1.0);
  note_ = note;
  const auto filled = static_cast<int>(std::lround(fraction_ * bar_width));
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(bar_width - filled), '-');
  // \r and erase-line redraw in place; the note is cut so the line does not wrap on narrow terminals.
  std::fprintf(out_, "\r\033[K[%s] %4s %.40s", bar.c_str(), percent(fraction_).c_str(), note_.c_str());
  std::fflush(out_);
  bar_shown_ = true;
}

void event_printer::clear_bar() {
  if (!bar_shown_) return;
  std::fprintf(out_, "\r\033[K");
  bar_shown_ = false;
}

}  // namespace offload::cli
