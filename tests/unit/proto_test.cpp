// proto: parsing and validation of job specs, error codes, JSON limits, views and events.
#include "core/input_schema.hpp"

#include <offload/proto/errc.hpp>
#include <offload/proto/job_event.hpp>
#include <offload/proto/job_spec.hpp>
#include <offload/proto/job_view.hpp>
#include <offload/proto/json_fields.hpp>
#include <offload/proto/json_parse.hpp>
#include <offload/proto/timestamp.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>

namespace offload::proto {
namespace {

using nlohmann::json;

errc code_of(std::string_view text) {
  auto r = parse_job_spec_text(text);
  EXPECT_FALSE(r.has_value()) << text;
  return r ? errc::internal : r.error().code;
}

TEST(errc_test, every_code_round_trips_through_its_wire_name) {
  for (int i = 0; i <= static_cast<int>(errc::interrupted); ++i) {
    const auto code = static_cast<errc>(i);
    const auto name = to_string(code);
    EXPECT_NE(name, "") << i;
    EXPECT_EQ(errc_from_string(name), code) << name;
  }
  EXPECT_FALSE(errc_from_string("no_such_code").has_value());
}

TEST(job_spec_test, minimal_spec_gets_defaults) {
  const auto spec = parse_job_spec_text(R"({"type":"echo"})");
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->type, "echo");
  EXPECT_EQ(spec->input, json::object());
  EXPECT_EQ(spec->priority, job_spec::default_priority);
  EXPECT_FALSE(spec->lane || spec->timeout_ms || spec->idempotency_key);
}

TEST(job_spec_test, full_spec_is_read) {
  const auto spec = parse_job_spec_text(
      R"({"type":"sum","input":{"n":5},"lane":"process","priority":9,"timeout_ms":1e3,"idempotency_key":"k-1"})");
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->input, json({{"n", 5}}));
  EXPECT_EQ(spec->lane, lane::process);
  EXPECT_EQ(spec->priority, 9);
  EXPECT_EQ(spec->timeout_ms, 1000u);
  EXPECT_EQ(spec->idempotency_key, "k-1");
  // And it serialises back to an equal spec.
  EXPECT_EQ(parse_job_spec(json(*spec)).value(), *spec);
}

// A store keeps a spec as dump_job_spec writes it: the bytes of serialising its json, every optional member
// alone and all together, and an input that needs escaping.
TEST(job_spec_test, dump_job_spec_writes_the_bytes_of_its_json) {
  job_spec minimal;
  minimal.type = "echo";
  EXPECT_EQ(dump_job_spec(minimal), dump_json(json(minimal)));
  job_spec full = minimal;
  full.input = json::parse(R"({"text":"a \"quoted\" line\nand \u00e9\u0001","n":[1,2.5,null,true]})");
  full.lane = lane::process;
  full.priority = 0;
  full.timeout_ms = 1000;
  full.idempotency_key = "key-1";
  full.max_attempts = 3;
  full.retry_backoff_ms = 250;
  full.delay_ms = 5000;
  full.run_at = std::chrono::system_clock::time_point{std::chrono::milliseconds{1767225600123}};
  EXPECT_EQ(dump_job_spec(full), dump_json(json(full)));
  const auto each = [&](auto set) {
    auto one = minimal;
    set(one);
    EXPECT_EQ(dump_job_spec(one), dump_json(json(one)));
  };
  each([](job_spec& s) { s.lane = lane::thread; });
  each([](job_spec& s) { s.timeout_ms = 1; });
  each([](job_spec& s) { s.idempotency_key = "k"; });
  each([](job_spec& s) { s.max_attempts = 100; });
  each([](job_spec& s) { s.retry_backoff_ms = 0; });
  each([](job_spec& s) { s.delay_ms = 0; });
  each([&](job_spec& s) { s.run_at = full.run_at; });
  each([](job_spec& s) { s.input = "\xff not UTF-8"; });
}

TEST(job_spec_test, malformed_json_is_invalid_json) {
  EXPECT_EQ(code_of(""), errc::invalid_json);
  EXPECT_EQ(code_of("{"), errc::invalid_json);
  EXPECT_EQ(code_of(R"({"type":"echo",})"), errc::invalid_json);
  EXPECT_EQ(code_of("{\"type\":\"\xc3\x28\"}"), errc::invalid_json) << "invalid UTF-8";
  EXPECT_EQ(code_of(std::string(65, '[') + std::string(65, ']')), errc::invalid_json) << "too deep";
}

TEST(job_spec_test, wrong_shapes_are_invalid_input_naming_the_field) {
  const std::pair<const char*, const char*> cases[] = {
      {"[]", "object"},
      {"{}", "type"},
      {R"({"type":""})", "type"},
      {R"({"type":"Echo"})", "type"},
      {R"({"type":"x y"})", "type"},
      {R"({"type":"echo","extra":1})", "extra"},
      {R"({"type":"echo","input":[]})", "input"},
      {R"({"type":"echo","lane":"gpu"})", "lane"},
      {R"({"type":"echo","lane":1})", "lane"},
      {R"({"type":"echo","priority":-1})", "priority"},
      {R"({"type":"echo","priority":10})", "priority"},
      {R"({"type":"echo","priority":1.5})", "priority"},
      {R"({"type":"echo","priority":"high"})", "priority"},
      {R"({"type":"echo","timeout_ms":0})", "timeout_ms"},
      {R"({"type":"echo","timeout_ms":86400001})", "timeout_ms"},
      {R"({"type":"echo","idempotency_key":""})", "idempotency_key"},
      {R"({"type":"echo","idempotency_key":"has space"})", "idempotency_key"},
      {R"({"type":"echo","idempotency_key":7})", "idempotency_key"},
  };
  for (const auto& [text, field] : cases) {
    const auto r = parse_job_spec_text(text);
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_EQ(r.error().code, errc::invalid_input) << text;
    EXPECT_NE(r.error().message.find(field), std::string::npos) << text << " → " << r.error().message;
  }
  EXPECT_FALSE(parse_job_spec_text(R"({"type":")" + std::string(65, 'a') + "\"}").has_value());
  EXPECT_FALSE(parse_job_spec_text(R"({"type":"echo","idempotency_key":")" + std::string(129, 'k') + "\"}"));
}

TEST(json_parse_test, depth_limit_counts_only_real_brackets) {
  EXPECT_TRUE(parse_json(std::string(64, '[') + std::string(64, ']')).has_value());
  EXPECT_FALSE(parse_json(std::string(65, '[') + std::string(65, ']')).has_value());
  // Brackets inside strings (including escaped quotes) do not count.
  EXPECT_TRUE(parse_json("[\"" + std::string(200, '[') + "\\\"" + std::string(200, '{') + "\"]").has_value());
}

TEST(json_parse_test, out_of_range_numbers_are_invalid_json_not_exceptions) {
  for (const auto* text : {"1e400", "[-1e999]", "{\"a\":1.5e308000}"}) {
    const auto parsed = parse_json(text);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, errc::invalid_json);
  }
}

TEST(json_parse_test, approximate_size_is_exact_but_for_numbers_and_escapes) {
  const json exact = {{"text", "hello"},
                      {"flags", {true, false, nullptr}},
                      {"nested", {{"a", json::array()}}},
                      {"empty", json::object()}};
  EXPECT_EQ(approximate_json_size(exact), dump_json(exact).size());
  EXPECT_EQ(approximate_json_size(json{{"n", 1}}), 2u + 4u + 12u) << "braces, \"n\":, and 12 for any number";
  const json big = {{"blob", std::string(1 << 20, 'b')}};
  EXPECT_EQ(approximate_json_size(big), dump_json(big).size());
}

TEST(json_fields_test, read_uint_checks_type_and_range) {
  const json j{{"a", 5},
               {"a_unsigned", 5u},
               {"b", -1},
               {"c", 2.5},
               {"d", "7"},
               {"e", 1e3},
               {"f", 18446744073709551615ull}};
  EXPECT_EQ(read_uint(j, "a", 0, 10).value(), 5u);
  EXPECT_EQ(read_uint(j, "a_unsigned", 0, 10).value(), 5u);
  EXPECT_FALSE(read_uint(j, "a", 6, 10).has_value());
  EXPECT_FALSE(read_uint(j, "b", 0, 10).has_value());
  EXPECT_FALSE(read_uint(j, "c", 0, 10).has_value());
  EXPECT_FALSE(read_uint(j, "d", 0, 10).has_value());
  EXPECT_EQ(read_uint(j, "e", 0, 1000).value(), 1000u);
  EXPECT_FALSE(read_uint(j, "f", 0, 1000).has_value());
  EXPECT_FALSE(read_uint(j, "missing", 0, 10).has_value());
  EXPECT_FALSE(read_optional_uint(j, "missing", 0, 10).value().has_value());
}

TEST(job_view_test, round_trips_through_json_and_has_links) {
  job_view v;
  v.id = "00000000002aabcdef01";
  v.type = "sum";
  v.lane = lane::thread;
  v.priority = 3;
  v.state = job_state::failed;
  v.created_at = "2026-01-01T00:00:00.000Z";
  v.finished_at = "2026-01-01T00:00:01.000Z";
  v.error = error{errc::handler_error, "boom"};
  v.progress = job_progress{0.5, "half"};
  v.last_seq = 4;
  const json j = v;
  EXPECT_EQ(j["links"]["self"], "/v1/jobs/00000000002aabcdef01");
  EXPECT_EQ(j["links"]["events"], "/v1/jobs/00000000002aabcdef01/events");
  EXPECT_EQ(j["error"]["code"], "handler_error");
  const auto back = j.get<job_view>();
  EXPECT_EQ(back.id, v.id);
  EXPECT_EQ(back.state, v.state);
  EXPECT_EQ(back.error, v.error);
  EXPECT_EQ(back.progress->note, "half");
  EXPECT_FALSE(back.started_at.has_value());
  EXPECT_EQ(back.last_seq, 4u);
}

// proto/schema/job_view.schema.json is what clients are told: every view the service can build conforms,
// and the schema is strict enough to notice a field it does not document.
// The server answers with `dump_view`, which writes a result's text as it is: the same bytes as serialising
// the parsed value, wherever `result` falls among the keys.
TEST(job_view_test, dump_view_writes_result_text_exactly_where_serialising_puts_it) {
  job_view v;
  v.id = "0000000000010000abcd";
  v.type = "echo";
  v.state = job_state::succeeded;
  v.created_at = "2026-01-01T00:00:00.000Z";
  v.finished_at = "2026-01-01T00:00:01.000Z";
  v.progress = job_progress{1.0, "done"};
  for (const auto* text : {R"({"a":[1,2,{"b":"c,\"seq\":1"}]})", "null", "\"\"", "42", "[]"}) {
    auto parsed = v;
    parsed.result = nlohmann::json::parse(text);
    auto raw = v;
    const auto owner = std::make_shared<const std::string>(std::string{"xx"} + text + "yy");
    raw.result_owner = owner;
    raw.result_text = std::string_view{*owner}.substr(2, owner->size() - 4);
    EXPECT_EQ(dump_view(raw), dump_json(nlohmann::json(parsed))) << text;
    EXPECT_EQ(nlohmann::json(raw), nlohmann::json(parsed)) << "to_json parses the text";
  }
  EXPECT_EQ(dump_view(v), dump_json(nlohmann::json(v))) << "no result";
}

// dump_view writes its text member by member instead of serialising a json value: every optional member,
// alone and all together, and strings that need escaping (or replacing, for invalid UTF-8), give the bytes
// that serialising the view gives.
TEST(job_view_test, dump_view_is_byte_for_byte_the_serialised_view) {
  job_view base;
  base.id = "00000000002aabcdef01";
  base.type = "sum";
  base.created_at = "2026-01-01T00:00:00.000Z";
  std::vector<std::function<void(job_view&)>> members{
      [](job_view& v) { v.started_at = "2026-01-01T00:00:00.100Z"; },
      [](job_view& v) { v.finished_at = "2026-01-01T00:00:01.000Z"; },
      [](job_view& v) { v.timeout_ms = 18446744073709551615u; },
      [](job_view& v) { v.idempotency_key = "order-42"; },
      [](job_view& v) {
        v.progress = job_progress{0.1 + 0.2, "a \"third\"\n"};
      },
      [](job_view& v) {
        v.input = json{{"n", -3}, {"list", {1.5, "x", nullptr}}};
      },
      [](job_view& v) {
        v.result = json{{"sum", "10"}};
      },
      [](job_view& v) { v.run_at = "2026-01-01T00:01:00.000Z"; },
      [](job_view& v) {
        v.earlier_errors = {error{errc::timed_out, "late"}, error{errc::crashed, "x"}};
      },
      [](job_view& v) {
        v.error = error{errc::handler_error, "boom"};
      },
      [](job_view& v) {
        v.priority = -7;
        v.attempt = 4294967295u;
        v.max_attempts = 9;
        v.last_seq = 123456789012345u;
        v.lane = lane::process;
        v.state = job_state::timed_out;
      },
  };
  auto all = base;
  std::vector<job_view> views{base};
  for (const auto& add : members) {
    auto one = base;
    add(one);
    views.push_back(one);
    add(all);
  }
  views.push_back(all);
  for (const auto* odd : {"quote \" and backslash \\", "tab\t bell\x07 del\x7f", "caf\xc3\xa9 \xe2\x82\xac",
                          "bad \xff\xfe utf-8 \xc3", ""}) {
    auto v = all;
    v.type = odd;
    v.id = std::string{"id-"} + odd;
    v.idempotency_key = odd;
    v.progress = job_progress{1, odd};
    v.created_at = odd;
    views.push_back(v);
  }
  for (const auto& v : views)
    EXPECT_EQ(dump_view(v), dump_json(json(v)));
}

// A view read back (the C++ client reads the server's) refuses numbers its fields cannot hold instead of
// converting them (a double out of range converts to undefined behaviour; the job_view fuzz target found it).
TEST(job_view_test, reading_a_view_refuses_numbers_out_of_range) {
  const json good = json::parse(R"({"id":"1","type":"t","lane":"thread","state":"queued","last_seq":3,
                                    "priority":-2,"attempt":1,"max_attempts":2,"timeout_ms":5})");
  const auto read = good.get<job_view>();
  EXPECT_EQ(read.last_seq, 3u);
  EXPECT_EQ(read.priority, -2);
  EXPECT_EQ(read.timeout_ms, 5u);
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, json>>{{"last_seq", 1.8446744073709552e19},
                                                 {"last_seq", -1},
                                                 {"priority", 1e10},
                                                 {"priority", 4294967296},
                                                 {"priority", 0.5},
                                                 {"attempt", 4294967296},
                                                 {"max_attempts", "2"},
                                                 {"timeout_ms", 1e300}}) {
    auto bad = good;
    bad[key] = value;
    EXPECT_THROW(bad.get<job_view>(), nlohmann::json::exception) << key << " = " << value.dump();
  }
}

TEST(job_view_test, every_shape_of_view_conforms_to_the_published_schema) {
  std::ifstream file{std::string{OFFLOAD_SOURCE_DIR} + "/proto/schema/job_view.schema.json"};
  const auto compiled = core::input_schema::compile(json::parse(file));
  ASSERT_TRUE(compiled) << compiled.error().message;
  const auto& schema = *compiled;
  job_view queued;
  queued.id = "00000000002aabcdef01";
  queued.type = "sum";
  queued.priority = 5;
  queued.created_at = "2026-01-01T00:00:00.000Z";
  queued.last_seq = 1;
  auto delayed = queued;
  delayed.run_at = "2026-01-01T00:01:00.000Z";
  delayed.attempt = 2;
  delayed.max_attempts = 3;
  delayed.earlier_errors = {error{errc::timed_out, "late"}};
  auto running = queued;
  running.state = job_state::running;
  running.started_at = "2026-01-01T00:00:00.100Z";
  running.progress = job_progress{0.25, "a quarter"};
  running.timeout_ms = 10000;
  running.idempotency_key = "order-42";
  auto succeeded = running;
  succeeded.state = job_state::succeeded;
  succeeded.finished_at = "2026-01-01T00:00:01.000Z";
  succeeded.result = json{{"sum", "10"}};
  auto failed = delayed;
  failed.state = job_state::failed;
  failed.run_at.reset();
  failed.finished_at = "2026-01-01T00:00:01.000Z";
  failed.error = error{errc::handler_error, "boom"};
  for (const auto& v : {queued, delayed, running, succeeded, failed}) {
    const json j = v;
    EXPECT_EQ(schema.validate(j), std::nullopt) << j.dump();
  }
  json extra = succeeded;
  extra["surprise"] = 1;
  EXPECT_NE(schema.validate(extra), std::nullopt);
  json no_links = queued;
  no_links.erase("links");
  EXPECT_NE(schema.validate(no_links), std::nullopt);
}

TEST(job_event_test, fields_are_flattened_and_read_back) {
  const job_event e{7, event_type::progress, "2026-01-01T00:00:00.000Z", {{"fraction", 0.25}, {"note", "q"}}};
  const json j = e;
  EXPECT_EQ(j, json({{"seq", 7},
                     {"type", "progress"},
                     {"time", "2026-01-01T00:00:00.000Z"},
                     {"fraction", 0.25},
                     {"note", "q"}}));
  const auto back = j.get<job_event>();
  EXPECT_EQ(back.seq, 7u);
  EXPECT_EQ(back.type, event_type::progress);
  EXPECT_EQ(back.data, e.data);
}

TEST(job_enums_test, terminal_states_and_events_agree) {
  for (auto s : {job_state::succeeded, job_state::failed, job_state::cancelled, job_state::timed_out,
                 job_state::crashed}) {
    EXPECT_TRUE(is_terminal(s));
    EXPECT_TRUE(is_terminal(terminal_event(s)));
    EXPECT_EQ(to_string(terminal_event(s)), to_string(s));
    EXPECT_EQ(job_state_from_string(to_string(s)), s);
  }
  EXPECT_FALSE(is_terminal(job_state::queued));
  EXPECT_FALSE(is_terminal(job_state::running));
  EXPECT_FALSE(is_terminal(event_type::progress));
}

TEST(timestamp_test, formats_rfc3339_utc_with_milliseconds) {
  const auto t = std::chrono::system_clock::time_point{std::chrono::milliseconds{1'700'000'000'123}};
  EXPECT_EQ(format_timestamp(t), "2023-11-14T22:13:20.123Z");
}

TEST(timestamp_test, formats_every_day_like_gmtime) {
  // The formatter computes dates by hand; gmtime_r is the reference, over the whole range of
  // system_clock (nanoseconds: 1677 to 2262), across leap days and month ends.
  const auto reference = [](long long ms) {
    const long long floor_secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    const auto secs = static_cast<std::time_t>(floor_secs);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms - floor_secs * 1000));
    return std::string{buf};
  };
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  const auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (long long day = -106'000; day <= 106'000; day += 7) {
    const long long ms = day * 86'400'000 + static_cast<long long>(next() % 86'400'000);
    const auto t = std::chrono::system_clock::time_point{std::chrono::milliseconds{ms}};
    ASSERT_EQ(format_timestamp(t), reference(ms)) << ms;
    ASSERT_EQ(format_timestamp_text(t).view(), reference(ms)) << ms;
  }
  for (const long long ms : {0LL, -1LL, 951'782'400'000LL, 4'102'444'799'999LL, 4'107'542'400'000LL}) {
    const auto t = std::chrono::system_clock::time_point{std::chrono::milliseconds{ms}};
    EXPECT_EQ(format_timestamp(t), reference(ms)) << ms;
  }
}

}  // namespace
}  // namespace offload::proto

namespace offload::proto {
namespace {

TEST(timestamp_test, parses_rfc3339_and_round_trips_what_it_formats) {
  using namespace std::chrono;
  const auto t = parse_timestamp("2026-11-29T18:30:05.123Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(format_timestamp(*t), "2026-11-29T18:30:05.123Z");
  EXPECT_EQ(parse_timestamp("2026-11-29T19:30:05.123+01:00"), t) << "offsets are applied";
  EXPECT_EQ(parse_timestamp("2026-11-29t18:30:05.1239z"), t) << "digits past milliseconds are dropped";
  EXPECT_EQ(parse_timestamp("1970-01-01T00:00:00Z"), system_clock::time_point{});
  EXPECT_EQ(parse_timestamp("2024-02-29T00:00:00Z").has_value(), true) << "a leap day";
  for (const char* bad :
       {"", "2026-11-29", "2026-11-29T18:30Z", "2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-11-29T24:00:00Z", "2026-11-29T18:30:05", "2026-11-29T18:30:05.Z", "2026-11-29T18:30:05Z ",
        "1969-12-31T23:59:59Z", "2026-11-29T18:30:05+1:00", "2262-04-12T00:00:00Z", "4052-12-01T08:00:00Z",
        "9999-12-31T23:59:59Z"})
    EXPECT_FALSE(parse_timestamp(bad).has_value()) << bad;
  EXPECT_TRUE(parse_timestamp("2262-04-10T23:59:59Z").has_value()) << "the clock's last whole day";
}

TEST(job_spec_test, retry_and_delay_fields_are_checked) {
  const auto ok = parse_job_spec_text(
      R"({"type":"echo","max_attempts":3,"retry_backoff_ms":250,"run_at":"2026-12-01T08:00:00Z"})");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->attempts(), 3u);
  EXPECT_EQ(ok->backoff_ms(), 250u);
  EXPECT_EQ(format_timestamp(*ok->run_at), "2026-12-01T08:00:00.000Z");
  nlohmann::json round;
  to_json(round, *ok);
  EXPECT_EQ(parse_job_spec(round).value(), *ok) << "what to_json writes parses back to the same spec";
  EXPECT_EQ(parse_job_spec_text(R"({"type":"echo"})")->attempts(), 1u);
  for (const char* bad : {R"({"type":"echo","max_attempts":0})", R"({"type":"echo","max_attempts":101})",
                          R"({"type":"echo","retry_backoff_ms":0})", R"({"type":"echo","delay_ms":-1})",
                          R"({"type":"echo","delay_ms":2592000001})", R"({"type":"echo","run_at":5})",
                          R"({"type":"echo","delay_ms":5,"run_at":"2026-12-01T08:00:00Z"})"}) {
    const auto r = parse_job_spec_text(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, errc::invalid_input) << bad;
  }
}

}  // namespace
}  // namespace offload::proto
