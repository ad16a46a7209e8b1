// offload::worker: the protocol loop a C++ worker (and `offloadd worker`) runs, fed request lines and read
// back as event lines.
#include <offload/proto/worker_message.hpp>
#include <offload/worker/worker.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <vector>

// The unit tests are linked with --wrap=sched_yield (tests/CMakeLists.txt): each thread counts its yields.
namespace {
thread_local int sched_yields = 0;
}  // namespace
extern "C" int __real_sched_yield();
extern "C" int __wrap_sched_yield() {
  ++sched_yields;
  return __real_sched_yield();
}

namespace offload::worker {
namespace {

using nlohmann::json;

std::vector<proto::worker_event> serve(const registry& types, const std::string& requests) {
  std::istringstream in{requests};
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> out{std::tmpfile(), &std::fclose};
  EXPECT_EQ(run(types, in, out.get()), 0);
  std::rewind(out.get());
  std::vector<proto::worker_event> events;
  char* line = nullptr;
  std::size_t cap = 0;
  for (ssize_t n; (n = getline(&line, &cap, out.get())) > 0;) {
    auto e = proto::decode_worker_event(std::string_view{line, static_cast<std::size_t>(n - 1)});
    EXPECT_TRUE(e) << line;
    if (e) events.push_back(*e);
  }
  std::free(line);
  return events;
}

registry sample_types() {
  registry types;
  types.add({.name = "square",
             .run = [](const json& in, handler_context& ctx) -> proto::result<json> {
               ctx.progress(0.5, "half");
               ctx.emit("out");
               return json{{"square", in.at("n").get<int>() * in.at("n").get<int>()}};
             },
             .validate = [](const json& in) -> std::optional<proto::error> {
               if (!in.contains("n")) return proto::error{proto::errc::invalid_input, "n: is required"};
               return std::nullopt;
             }});
  types.add({.name = "refuse", .run = [](const json&, handler_context&) -> proto::result<json> {
               return proto::error{proto::errc::handler_error, "no"};
             }});
  types.add({.name = "throw", .run = [](const json&, handler_context&) -> proto::result<json> {
               throw std::runtime_error{"boom"};
             }});
  return types;
}

TEST(worker_sdk_test, says_ready_with_its_types_then_answers_each_request_in_order) {
  const auto events = serve(sample_types(), R"({"type":"square","input":{"n":7}})"
                                            "\n"
                                            R"({"type":"square","input":{}})"
                                            "\n"
                                            R"({"type":"refuse","input":{}})"
                                            "\n"
                                            R"({"type":"throw","input":{}})"
                                            "\n"
                                            R"({"type":"nope","input":{}})"
                                            "\n"
                                            "not json\n");
  ASSERT_EQ(events.size(), 9u);
  EXPECT_EQ(events[0].kind, proto::worker_event_kind::ready);
  EXPECT_EQ(events[0].protocol, proto::worker_protocol_version);
  EXPECT_EQ(events[0].types, (std::vector<std::string>{"refuse", "square", "throw"}));
  EXPECT_EQ(events[1].kind, proto::worker_event_kind::progress);
  EXPECT_EQ(events[1].note, "half");
  EXPECT_EQ(events[2].kind, proto::worker_event_kind::output);
  EXPECT_EQ(events[2].data, "out");
  EXPECT_EQ(events[3].kind, proto::worker_event_kind::result);
  EXPECT_EQ(events[3].result, (json{{"square", 49}}));
  EXPECT_EQ(events[4].error.message, "input.n: is required");
  EXPECT_EQ(events[4].error.code, proto::errc::invalid_input);
  EXPECT_EQ(events[5].error.message, "no");
  EXPECT_EQ(events[6].error.message, "handler failed: boom");
  EXPECT_EQ(events[7].error.code, proto::errc::unknown_type);
  EXPECT_EQ(events[8].error.code, proto::errc::protocol_error);
}

TEST(worker_sdk_test, a_registry_refuses_nameless_handlerless_and_duplicate_types) {
  registry types;
  const auto ok = [](const json&, handler_context&) -> proto::result<json> { return json{}; };
  EXPECT_THROW(types.add({.name = "", .run = ok}), std::invalid_argument);
  EXPECT_THROW(types.add({.name = "x", .run = nullptr}), std::invalid_argument);
  types.add({.name = "x", .run = ok});
  EXPECT_THROW(types.add({.name = "x", .run = ok}), std::invalid_argument);
}

class stop_only_context final : public handler_context {
 public:
  void progress(double, std::string) override {}
  void emit(std::string_view) override {}
  std::stop_token stop_token() const override { return stop.get_token(); }
  std::stop_source stop;
};

TEST(worker_sdk_test, a_stop_check_gives_way_at_most_once_per_yield_interval) {
  // On a thread of its own, whose first check yields: checks as fast as it can for 20 ms, then once more.
  int calls = 0;
  int yields = 0;
  std::chrono::steady_clock::duration elapsed{};
  bool stopped = false;
  std::thread{[&] {
    using clock = std::chrono::steady_clock;
    stop_only_context ctx;
    const auto begin = clock::now();
    const auto check = [&] {
      EXPECT_FALSE(ctx.stop_requested());
      ++calls;
    };
    check();
    const auto after_first = clock::now();
    do {
      check();
    } while (clock::now() - after_first < std::chrono::milliseconds{20});
    // At least 20 ms after the first yield, however long the machine kept this thread off its CPU: it yields.
    check();
    elapsed = clock::now() - begin;
    yields = sched_yields;
    ctx.stop.request_stop();
    stopped = ctx.stop_requested();
  }}.join();
  EXPECT_TRUE(stopped);
  // The first check and the last one yield; one in between does each time a yield_interval has passed since
  // the last yield, never more often.
  EXPECT_GE(yields, 2);
  EXPECT_LE(yields, elapsed / handler_context::yield_interval + 1) << calls << " checks";
  EXPECT_GT(calls, 10 * yields) << "most checks do not yield";
}

}  // namespace
}  // namespace offload::worker
