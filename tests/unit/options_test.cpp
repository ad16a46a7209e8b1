// offloadd options: defaults, flags, environment variables and errors.
#include "app/options.hpp"

#include <gtest/gtest.h>

#include <map>

namespace offload::app {
namespace {

parsed_options parse(std::vector<std::string_view> args, std::map<std::string, std::string> env = {}) {
  return parse_options(args, [&env](std::string_view name) -> std::optional<std::string> {
    const auto it = env.find(std::string{name});
    return it == env.end() ? std::nullopt : std::optional<std::string>{it->second};
  });
}

TEST(options_test, defaults_serve_a_single_machine) {
  const auto p = parse({});
  ASSERT_TRUE(p.error.empty()) << p.error;
  EXPECT_EQ(p.opts.listen, "127.0.0.1:8080");
  EXPECT_EQ(p.opts.service.threads, 0u);
  EXPECT_EQ(p.opts.service.max_queued, 10000u);
  EXPECT_EQ(p.opts.http.max_body_bytes, 1024u * 1024u);
  EXPECT_EQ(p.opts.service.retain_for, std::chrono::seconds{3600});
  EXPECT_EQ(p.opts.service.retain_jobs, 100000u);
  EXPECT_EQ(p.opts.drain, std::chrono::seconds{30});
  EXPECT_EQ(p.opts.trim_memory, 8u << 20);
}

TEST(options_test, flags_in_both_spellings) {
  const auto p =
      parse({"--listen", "0.0.0.0:9000", "--threads=4", "--max-body", "64k", "--retain-jobs", "5",
             "--retain-seconds=60", "--max-queued", "7", "--log-level", "debug", "--trim-memory", "0"});
  ASSERT_TRUE(p.error.empty()) << p.error;
  EXPECT_EQ(p.opts.listen, "0.0.0.0:9000");
  EXPECT_EQ(p.opts.service.threads, 4u);
  EXPECT_EQ(p.opts.http.max_body_bytes, 65536u);
  EXPECT_EQ(p.opts.service.retain_jobs, 5u);
  EXPECT_EQ(p.opts.service.retain_for, std::chrono::seconds{60});
  EXPECT_EQ(p.opts.service.max_queued, 7u);
  EXPECT_EQ(p.opts.log_level, core::log_level::debug);
  EXPECT_EQ(p.opts.trim_memory, 0u);
}

TEST(options_test, environment_applies_and_flags_override_it) {
  const auto p = parse({"--threads", "2"}, {{"OFFLOAD_THREADS", "8"}, {"OFFLOAD_MAX_QUEUED", "3"}});
  ASSERT_TRUE(p.error.empty()) << p.error;
  EXPECT_EQ(p.opts.service.threads, 2u);
  EXPECT_EQ(p.opts.service.max_queued, 3u);
}

TEST(options_test, errors_are_explained) {
  EXPECT_NE(parse({"--threads", "many"}).error.find("--threads"), std::string::npos);
  EXPECT_NE(parse({"--max-queued", "0"}).error.find("--max-queued"), std::string::npos);
  EXPECT_NE(parse({"--bogus", "1"}).error.find("unknown option"), std::string::npos);
  EXPECT_NE(parse({"--listen"}).error.find("needs a value"), std::string::npos);
  EXPECT_NE(parse({"stray"}).error.find("unexpected argument"), std::string::npos);
  EXPECT_NE(parse({}, {{"OFFLOAD_THREADS", "x"}}).error.find("OFFLOAD_THREADS"), std::string::npos);
  EXPECT_NE(parse({"--log-level", "loud"}).error.find("--log-level"), std::string::npos);
}

TEST(options_test, the_store_is_sqlite_in_a_local_directory_unless_told_otherwise) {
  const auto defaults = parse({});
  EXPECT_EQ(defaults.opts.store, options::store_kind::sqlite);
  EXPECT_EQ(defaults.opts.data_dir, "offload-data");
  EXPECT_FALSE(defaults.opts.full_sync);
  EXPECT_FALSE(defaults.opts.retain_bytes.has_value()) << "the store picks: 8g on disk, 1g in memory";
  const auto p = parse({"--store", "memory", "--sync=full", "--retain-bytes", "2g"},
                       {{"OFFLOAD_DATA_DIR", "/var/lib/offload/data"}});
  ASSERT_TRUE(p.error.empty()) << p.error;
  EXPECT_EQ(p.opts.store, options::store_kind::memory);
  EXPECT_EQ(p.opts.data_dir, "/var/lib/offload/data");
  EXPECT_TRUE(p.opts.full_sync);
  EXPECT_EQ(p.opts.retain_bytes, std::optional<std::uint64_t>{2ull << 30});
  EXPECT_NE(parse({"--store", "redis"}).error.find("--store"), std::string::npos);
  EXPECT_NE(parse({"--sync", "sometimes"}).error.find("--sync"), std::string::npos);
  EXPECT_NE(parse({"--data-dir="}).error.find("--data-dir"), std::string::npos);
}

TEST(options_test, a_redis_store_takes_its_url_lease_node_name_and_password_from_the_environment) {
  const auto p =
      parse({"--store", "redis://cache.internal:6380/2", "--lease-ms", "3000", "--node-name", "n1"},
            {{"OFFLOAD_REDIS_PASSWORD", "from-env"}});
  ASSERT_TRUE(p.error.empty()) << p.error;
  EXPECT_EQ(p.opts.store, options::store_kind::redis);
  EXPECT_EQ(p.opts.redis.host, "cache.internal");
  EXPECT_EQ(p.opts.redis.port, 6380);
  EXPECT_EQ(p.opts.redis.db, 2);
  EXPECT_EQ(p.opts.env_redis_password, "from-env");
  EXPECT_EQ(p.opts.lease, std::chrono::milliseconds{3000});
  EXPECT_EQ(p.opts.node_name, "n1");
  EXPECT_EQ(parse({}).opts.lease, std::chrono::milliseconds{10000});
  EXPECT_NE(parse({"--store", "redis://h:0"}).error.find("--store: the port"), std::string::npos);
  EXPECT_NE(parse({"--lease-ms", "10"}).error.find("--lease-ms"), std::string::npos);
  EXPECT_NE(parse({"--node-name", "a b"}).error.find("--node-name"), std::string::npos);
  const auto secret = parse({"--store", "redis://:hunter2@h:99999"}).error;
  EXPECT_NE(secret.find("--store"), std::string::npos);
  EXPECT_EQ(secret.find("hunter2"), std::string::npos) << secret;
  EXPECT_NE(usage().find("OFFLOAD_REDIS_PASSWORD"), std::string::npos);
}

TEST(options_test, help_lists_every_option_with_its_variable) {
  EXPECT_TRUE(parse({"--help"}).help);
  const auto text = usage();
  for (const auto* name : {"--listen", "--threads", "--max-queued", "--max-body", "--retain-seconds",
                           "--retain-jobs", "--drain-seconds", "OFFLOAD_LISTEN", "OFFLOAD_RETAIN_JOBS"})
    EXPECT_NE(text.find(name), std::string::npos) << name;
}

}  // namespace
}  // namespace offload::app
