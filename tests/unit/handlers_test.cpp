// Built-in handlers as pure functions: exact results, input validation, progress and stopping.
#include "core/type_registry.hpp"
#include "support/proc_helpers.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <chrono>
#include <thread>
#include <unistd.h>

namespace offload::core {
namespace {

using nlohmann::json;

// Records progress; stops when asked to.
class test_context final : public handler_context {
 public:
  void progress(double fraction, std::string note) override {
    reports.emplace_back(fraction, std::move(note));
  }
  void emit(std::string_view chunk) override { output += chunk; }
  std::stop_token stop_token() const override { return stop.get_token(); }

  std::vector<std::pair<double, std::string>> reports;
  std::string output;
  std::stop_source stop;
};

class handlers_test : public ::testing::Test {
 protected:
  handlers_test() { register_builtin_types(registry_); }

  proto::result<json> run(const std::string& type, const json& input) {
    const auto* t = registry_.find(type);
    EXPECT_NE(t, nullptr);
    EXPECT_FALSE(t->validate(input).has_value()) << input.dump();
    return t->run(input, ctx_);
  }
  std::optional<proto::error> validate(const std::string& type, const json& input) {
    return registry_.find(type)->validate(input);
  }

  type_registry registry_;
  test_context ctx_;
};

TEST_F(handlers_test, registry_has_the_builtin_types_and_rejects_duplicates) {
  for (const auto* name : {"echo", "sum", "sha256", "primes", "sleep"}) {
    const auto* t = registry_.find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_NE(t->run, nullptr);
    EXPECT_EQ(t->lanes.front(), proto::lane::thread);
  }
  EXPECT_EQ(registry_.find("nope"), nullptr);
  EXPECT_THROW(register_builtin_types(registry_), std::invalid_argument);
}

TEST_F(handlers_test, echo_returns_its_input) {
  const json input{{"a", json::array({1, 2, 3})}, {"b", {{"c", nullptr}}}};
  EXPECT_EQ(run("echo", input).value(), input);
}

TEST_F(handlers_test, sum_is_exact) {
  EXPECT_EQ(run("sum", {{"n", 0}}).value()["sum"], "0");
  EXPECT_EQ(run("sum", {{"n", 1}}).value()["sum"], "0");
  EXPECT_EQ(run("sum", {{"n", 11}}).value()["sum"], "55");
  EXPECT_EQ(run("sum", {{"n", 1000000}}).value()["sum"], "499999500000");
}

TEST_F(handlers_test, sum_reports_progress_about_every_tenth) {
  const std::uint64_t n = 100'000'000;
  EXPECT_EQ(run("sum", {{"n", n}}).value()["sum"], "4999999950000000");
  EXPECT_GE(ctx_.reports.size(), 8u);
  EXPECT_LE(ctx_.reports.size(), 9u);
  for (std::size_t i = 1; i < ctx_.reports.size(); ++i)
    EXPECT_GT(ctx_.reports[i].first, ctx_.reports[i - 1].first);
  EXPECT_NE(ctx_.reports.front().second.find("summed"), std::string::npos);
}

TEST_F(handlers_test, sum_stops_when_asked) {
  ctx_.stop.request_stop();
  const auto r = run("sum", {{"n", 10'000'000'000ull}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, proto::errc::cancelled);
}

TEST_F(handlers_test, sha256_of_abc_is_the_standard_vector) {
  EXPECT_EQ(run("sha256", {{"data", "abc"}}).value()["hex"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(run("sha256", {{"data", ""}, {"rounds", 1}}).value()["hex"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(handlers_test, sha256_iterates_over_the_previous_digest) {
  // A second computation with OpenSSL's one-shot SHA256().
  const std::string data = "offload";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  for (int round = 2; round <= 1000; ++round)
    SHA256(digest, sizeof digest, digest);
  char hex[2 * SHA256_DIGEST_LENGTH + 1];
  for (int i = 0; i < SHA256_DIGEST_LENGTH; ++i)
    std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  EXPECT_EQ(run("sha256", {{"data", data}, {"rounds", 1000}}).value()["hex"], hex);
  EXPECT_GE(ctx_.reports.size(), 8u);
}

TEST_F(handlers_test, primes_counts_match_known_values) {
  const std::pair<std::uint64_t, std::uint64_t> known[] = {{0, 0},
                                                           {1, 0},
                                                           {2, 1},
                                                           {3, 2},
                                                           {10, 4},
                                                           {100, 25},
                                                           {65535, 6542},
                                                           {65536, 6542},
                                                           {65537, 6543},
                                                           {1'000'000, 78498},
                                                           {10'000'000, 664579}};
  for (const auto& [limit, count] : known)
    EXPECT_EQ(run("primes", {{"limit", limit}}).value()["count"], count) << limit;
}

TEST_F(handlers_test, sleep_wakes_at_once_when_stopped) {
  // Stopped once this thread is asleep in the handler's wait (not before it started waiting).
  const int self = static_cast<int>(::gettid());
  std::thread canceller{[this, self] {
    test::wait_until([&] { return test::process_state(self) == 'S'; }, "the handler to be waiting");
    ctx_.stop.request_stop();
  }};
  // 600 s unless the stop token wakes it: a hang here is a failure (the ctest timeout is 60 s).
  const auto r = run("sleep", {{"ms", 600000}});
  canceller.join();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, proto::errc::cancelled);
  EXPECT_EQ(run("sleep", {{"ms", 1}}).error().code, proto::errc::cancelled) << "already stopped";
}

TEST_F(handlers_test, sleep_returns_slept_ms) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(run("sleep", {{"ms", 20}}).value()["slept_ms"], 20);
  // It really slept (a lower bound only: how much longer it took is the scheduler's business).
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds{20});
}

TEST_F(handlers_test, validation_names_the_field) {
  const std::tuple<const char*, json, const char*> cases[] = {
      {"sum", json::object(), "n"},
      {"sum", {{"n", -5}}, "n"},
      {"sum", {{"n", 10'000'000'001ull}}, "n"},
      {"sum", {{"n", 5}, {"m", 1}}, "m"},
      {"sha256", json::object(), "data"},
      {"sha256", {{"data", 5}}, "data"},
      {"sha256", {{"data", "x"}, {"rounds", 0}}, "rounds"},
      {"sha256", {{"data", "x"}, {"rounds", 10'000'001}}, "rounds"},
      {"primes", {{"limit", 1'000'000'001}}, "limit"},
      {"primes", {{"limit", "many"}}, "limit"},
      {"sleep", {{"ms", 600001}}, "ms"},
      {"sleep", json::object(), "ms"},
  };
  for (const auto& [type, input, field] : cases) {
    const auto e = validate(type, input);
    ASSERT_TRUE(e.has_value()) << type << " " << input.dump();
    EXPECT_EQ(e->code, proto::errc::invalid_input);
    EXPECT_EQ(e->message.rfind(field, 0), 0u) << e->message;
  }
}

}  // namespace
}  // namespace offload::core
