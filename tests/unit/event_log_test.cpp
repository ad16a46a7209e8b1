// The event log: numbering, frames, listeners and their removal at any time.
#include "core/event_log.hpp"

#include <offload/proto/json_parse.hpp>
#include <offload/proto/timestamp.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
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

// A log that waits for its store publishes only what the store has, in order, each event once: listeners,
// `published_seq` and a late or repeated mark all follow the stored prefix.
TEST(event_log_test, a_held_log_publishes_only_what_its_store_has) {
  event_log log;
  log.publish_when_stored();
  std::vector<std::uint64_t> seen;
  auto sub = log.subscribe([&](const logged_event& e) { seen.push_back(e.seq); });
  log.append(proto::event_type::queued, json::object());
  log.append(proto::event_type::started, json::object());
  const auto first_two = log.mark(2);
  log.append(proto::event_type::output, {{"text", "x"}});
  const auto all = log.mark(3);
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(log.published_seq(), 0u);
  EXPECT_FALSE(log.all_published());
  log.stored_through(1);
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1}));
  all();
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3})) << "a later mark publishes what comes before it";
  first_two();
  all();
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3})) << "nothing twice";
  EXPECT_TRUE(log.all_published());
  log.stored_through(99);
  EXPECT_EQ(log.published_seq(), 3u) << "never past the last event";
}

TEST(event_log_test, restored_and_other_nodes_events_are_published_as_they_come) {
  event_log log;
  log.publish_when_stored();
  log.restore(4, proto::event_type::queued, R"({"seq":4})");
  EXPECT_EQ(log.published_seq(), 4u) << "read back from the store";
  std::vector<std::uint64_t> seen;
  auto sub = log.subscribe([&](const logged_event& e) { seen.push_back(e.seq); });
  log.append(proto::event_type::started, json::object());
  EXPECT_TRUE(seen.empty());
  // Another node's event, read from the shared store after this node's own: both are stored.
  log.append_logged(6, proto::event_type::succeeded, std::make_shared<const std::string>(R"({"seq":6})"));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{5, 6}));
}

// A node that lost a job: what it logged that its store refused gives way to the other node's events.
TEST(event_log_test, unpublished_events_can_be_taken_back_for_another_node_s) {
  event_log log;
  log.publish_when_stored();
  std::vector<std::string> seen;
  auto sub = log.subscribe([&](const logged_event& e) { seen.push_back(*e.frame); });
  log.append(proto::event_type::queued, json::object());
  log.append(proto::event_type::started, json::object());
  log.stored_through(2);
  log.append(proto::event_type::output, {{"text", "refused"}});
  const auto refused = log.mark(4);
  log.append(proto::event_type::succeeded, json::object());
  log.drop_unpublished();
  EXPECT_EQ(log.last_seq(), 2u);
  log.append_logged(3, proto::event_type::retrying, std::make_shared<const std::string>("theirs 3"));
  log.append_logged(4, proto::event_type::started, std::make_shared<const std::string>("theirs 4"));
  refused();  // a late mark of a refused write publishes nothing of its own
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[2], "theirs 3");
  EXPECT_EQ(seen[3], "theirs 4");
  EXPECT_EQ(log.events().size(), 4u);
  EXPECT_TRUE(log.all_published());
  log.drop_unpublished();
  EXPECT_EQ(log.last_seq(), 4u) << "published events stay";
}

TEST(event_log_test, a_mark_outliving_its_log_is_harmless) {
  event_log::stored_mark mark;
  {
    event_log log;
    log.publish_when_stored();
    log.append(proto::event_type::queued, json::object());
    mark = log.mark(1);
  }
  EXPECT_TRUE(static_cast<bool>(mark));
  mark();  // ASan would report a use after free here
}

}  // namespace
}  // namespace offload::core
