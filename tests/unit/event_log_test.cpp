// The event log: numbering, frames, listeners and their removal at any time.
#include "core/event_log.hpp"

#include <offload/proto/json_parse.hpp>
#include <offload/proto/timestamp.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace offload::core {
namespace {

using nlohmann::json;

TEST(event_log_test, numbers_events_and_serialises_frames_once) {
  event_log log;
  EXPECT_EQ(log.last_seq(), 0u);
  log.append(proto::event_type::queued, json::object());
  const auto& e = log.append(proto::event_type::progress, {{"fraction", 0.5}, {"note", "half"}});
  EXPECT_EQ(e.seq, 2u);
  EXPECT_EQ(log.last_seq(), 2u);
  const auto frame = json::parse(*e.frame);
  EXPECT_EQ(frame["seq"], 2);
  EXPECT_EQ(frame["type"], "progress");
  EXPECT_EQ(frame["fraction"], 0.5);
  EXPECT_TRUE(frame.contains("time"));
}

// Frames are written member by member: the same bytes as serialising the data with seq, time and type set
// in it, wherever those fall among the data's own members and when the data has members of those names.
TEST(event_log_test, a_frame_is_the_serialised_data_with_seq_time_and_type) {
  const auto when = std::chrono::system_clock::time_point{std::chrono::milliseconds{1767225600123}};
  const std::vector<json> shapes{
      json::object(),
      json{{"a", 1},
           {"s", "x"},
           {"sf", -2},
           {"ti", true},
           {"tz", nullptr},
           {"u", {{"v", 1.5}}},
           {"zz", "\u00e9"}},
      json{{"seq", 99}, {"time", "then"}, {"type", "forged"}, {"result", {1, "two", {{"3", 4}}}}},
      json{{"note", "quote \" back\\slash \n\x01 \x7f"}, {"\xff bad key", "\xc3"}, {"", ""}},
      json{{"big", 18446744073709551615u}, {"neg", -9223372036854775807 - 1}, {"f", 0.1 + 0.2}},
      json::array({1, 2}),
      json("not an object"),
  };
  for (const auto& data : shapes) {
    event_log log;
    const auto& e = log.append(proto::event_type::output, data, when);
    json expected = data.is_object() ? data : json::object();
    expected["seq"] = 1;
    expected["time"] = proto::format_timestamp(when);
    expected["type"] = "output";
    EXPECT_EQ(*e.frame, proto::dump_json(expected)) << data.dump();
  }
}

TEST(event_log_test, listeners_follow_until_unsubscribed) {
  event_log log;
  std::vector<std::uint64_t> seen;
  {
    auto sub = log.subscribe([&](const logged_event& e) { seen.push_back(e.seq); });
    EXPECT_EQ(log.listener_count(), 1u);
    log.append(proto::event_type::queued, json::object());
    log.append(proto::event_type::started, json::object());
  }
  EXPECT_EQ(log.listener_count(), 0u);
  log.append(proto::event_type::succeeded, json::object());
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2}));
}

TEST(event_log_test, a_listener_may_drop_itself_and_others_while_notified) {
  event_log log;
  int a_calls = 0, b_calls = 0;
  event_log::subscription a, b;
  a = log.subscribe([&](const logged_event&) {
    ++a_calls;
    a = {};
    b = {};
  });
  b = log.subscribe([&](const logged_event&) { ++b_calls; });
  log.append(proto::event_type::queued, json::object());
  log.append(proto::event_type::started, json::object());
  EXPECT_EQ(a_calls, 1);
  EXPECT_EQ(b_calls, 0) << "b was dropped before its turn";
  EXPECT_EQ(log.listener_count(), 0u);
}

TEST(event_log_test, a_listener_may_subscribe_more_listeners_while_notified) {
  event_log log;
  std::vector<event_log::subscription> subs;
  int added_calls = 0;
  subs.push_back(log.subscribe([&](const logged_event&) {
    // Growing the listener vector while this closure runs must not move it from under itself.
    for (int i = 0; i < 32; ++i)
      subs.push_back(log.subscribe([&](const logged_event&) { ++added_calls; }));
  }));
  log.append(proto::event_type::queued, json::object());
  EXPECT_EQ(added_calls, 0) << "listeners added during a notification start with the next event";
  subs.erase(subs.begin());
  log.append(proto::event_type::started, json::object());
  EXPECT_EQ(added_calls, 32);
}

TEST(event_log_test, subscription_outliving_the_log_is_harmless) {
  event_log::subscription sub;
  {
    event_log log;
    sub = log.subscribe([](const logged_event&) {});
  }
  // Dropping it must not touch the dead log (ASan would report a use after free here).
  sub = {};
  EXPECT_EQ(event_log{}.listener_count(), 0u);
}

}  // namespace
}  // namespace offload::core
