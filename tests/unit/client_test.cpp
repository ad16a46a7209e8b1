// The client library's pure parts: error codes, URLs, the CLI's input fields and event rendering.
#include "base_url.hpp"
#include "event_printer.hpp"
#include "input_builder.hpp"

#include <offload/client/error.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace offload {
namespace {

using nlohmann::json;

TEST(client_errors, every_server_code_maps_to_a_client_code_of_the_same_name) {
  for (int i = 0; i <= static_cast<int>(proto::errc::interrupted); ++i) {
    const auto server = static_cast<proto::errc>(i);
    const auto code = make_error_code(from_proto(server));
    EXPECT_EQ(&code.category(), &client_category());
    EXPECT_EQ(to_string(from_proto(server)), proto::to_string(server));
    EXPECT_EQ(code.message(), proto::to_string(server));
    EXPECT_NE(code.value(), 0);
  }
  for (const auto transport : {errc::invalid_url, errc::connect_failed, errc::timeout, errc::connection_lost,
                               errc::bad_response, errc::wait_timeout, errc::reconnect_exhausted}) {
    const std::error_code code = transport;  // implicit: errc is an error code enum
    EXPECT_FALSE(code.message().empty());
    EXPECT_NE(to_string(transport), "unknown");
  }
  error e = make_error(errc::queue_full, "full");
  EXPECT_TRUE(e.is(errc::queue_full));
  EXPECT_FALSE(e.is(errc::timeout));
  result<int> r = e;
  EXPECT_THROW(r.value(), client_error);
  try {
    r.value();
  } catch (const client_error& thrown) {
    EXPECT_EQ(thrown.details().message, "full");
    EXPECT_EQ(thrown.code(), errc::queue_full);
  }
}

TEST(client_url, parses_hosts_ports_and_prefixes) {
  using client_detail::base_url;
  const auto plain = base_url::parse("http://localhost").value();
  EXPECT_EQ(plain.host, "localhost");
  EXPECT_EQ(plain.port, "80");
  EXPECT_EQ(plain.host_header(), "localhost");
  const auto full = base_url::parse("http://10.0.0.1:8080/api/offload/").value();
  EXPECT_EQ(full.port, "8080");
  EXPECT_EQ(full.prefix, "/api/offload");
  EXPECT_EQ(full.host_header(), "10.0.0.1:8080");
  const auto v6 = base_url::parse("http://[::1]:9000").value();
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.host_header(), "[::1]:9000");
  for (const auto* bad : {"", "ftp://x", "https://x", "http://", "http://:80", "http://x:", "http://x:65536",
                          "http://x:8o", "http://u:p@x", "http://[::1", "http://x/a?b", "http://x/a#b"})
    EXPECT_TRUE(base_url::parse(bad).has_error()) << bad;
  EXPECT_EQ(client_detail::url_encode("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
}

TEST(cli_input, fields_are_typed_like_json) {
  json input = json::object();
  for (const auto* field :
       {"n=1000", "neg=-5", "f=2.5e3", "yes=true", "no=false", "nothing=null", "word=hello", "zip=01234",
        "hex=0x10", "plus=+1", "empty=", "eq=a=b", "raw:={\"k\":[1]}", "str:=\"7\"", "dotted.key=x"})
    EXPECT_FALSE(cli::add_input_field(input, field).has_value()) << field;
  EXPECT_EQ(input, (json{{"n", 1000},
                         {"neg", -5},
                         {"f", 2500.0},
                         {"yes", true},
                         {"no", false},
                         {"nothing", nullptr},
                         {"word", "hello"},
                         {"zip", "01234"},
                         {"hex", "0x10"},
                         {"plus", "+1"},
                         {"empty", ""},
                         {"eq", "a=b"},
                         {"raw", {{"k", {1}}}},
                         {"str", "7"},
                         {"dotted.key", "x"}}));
  for (const auto* bad : {"novalue", "=x", ":=1", "sp ace=1", "j:=nope", "j:={", "e=1e400", "e=-1e999"})
    EXPECT_TRUE(cli::add_input_field(input, bad).has_value()) << bad;
  EXPECT_TRUE(cli::is_input_field("a=1"));
  EXPECT_FALSE(cli::is_input_field("--a"));
}

std::string render(cli::output_mode mode, const std::vector<json>& events) {
  char* text = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&text, &size);
  {
    cli::event_printer printer(mode, out, out);
    for (const auto& e : events)
      printer.print(e.get<proto::job_event>());
  }
  std::fclose(out);
  std::string result(text, size);
  std::free(text);
  return result;
}

TEST(cli_events, lines_json_and_terminal_rendering) {
  const std::vector<json> events{
      {{"seq", 1}, {"type", "queued"}, {"time", "t"}},
      {{"seq", 2}, {"type", "progress"}, {"time", "t"}, {"fraction", 0.5}, {"note", "half"}},
      {{"seq", 3}, {"type", "output"}, {"time", "t"}, {"stream", "stdout"}, {"data", "line\n"}},
      {{"seq", 4},
       {"type", "failed"},
       {"time", "t"},
       {"error", {{"code", "handler_error"}, {"message", "no"}}}},
  };
  EXPECT_EQ(render(cli::output_mode::lines, events),
            "1 queued\n2 progress 50% half\n3 output stdout \"line\\n\"\n4 failed handler_error: no\n");
  const auto as_json = render(cli::output_mode::json, events);
  EXPECT_EQ(std::count(as_json.begin(), as_json.end(), '\n'), 4);
  EXPECT_EQ(json::parse(as_json.substr(0, as_json.find('\n')))["seq"], 1);
  const auto terminal = render(cli::output_mode::terminal, events);
  EXPECT_NE(terminal.find("\r\033[Kqueued [###############---------------]  50% 0:00 half"),
            std::string::npos)
      << terminal;
  EXPECT_NE(terminal.find("line\n"), std::string::npos);
  EXPECT_NE(terminal.find("failed: handler_error: no\n"), std::string::npos);
}

// The status line never reaches the terminal's last column (so it cannot wrap), gives up the bar before the
// numbers on a narrow terminal, and cuts the note between characters, never inside one.
TEST(cli_events, the_status_line_fits_the_terminal_width) {
  using std::chrono::seconds;
  const auto code_points = [](const std::string& s) {
    return std::count_if(s.begin(), s.end(),
                         [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
  };
  EXPECT_EQ(cli::status_line("running", 0.5, seconds{65}, "summed 5 of 10", 80),
            "running [###############---------------]  50% 1:05 summed 5 of 10");
  EXPECT_EQ(cli::status_line("queued", std::nullopt, seconds{3725}, "", 80), "queued 1:02:05");
  EXPECT_EQ(cli::status_line("running", 0.25, seconds{7}, "a long note about what happens", 40),
            "running [###--------]  25% 0:07 a long");
  EXPECT_EQ(cli::status_line("running", 0.25, seconds{7}, "note", 24), "running  25% 0:07 note");
  EXPECT_EQ(cli::status_line("running", 1.0, seconds{7}, "note", 10), "running 1");
  const std::string wide_note = "ééééééééééééééééééééééééééééééé";
  for (int columns = 1; columns <= 120; ++columns) {
    const auto line = cli::status_line("running", 0.75, seconds{59}, wide_note, columns);
    EXPECT_LE(code_points(line), std::max(columns - 1, 1)) << columns;
    EXPECT_TRUE(nlohmann::json::accept(nlohmann::json(line).dump())) << "whole characters only";
    EXPECT_EQ(line.find('\n'), std::string::npos);
  }
}

}  // namespace
}  // namespace offload
