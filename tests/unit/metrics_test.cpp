// The Prometheus registry: counters, gauges, histograms and the text format; the process's own figures.
#include "core/memory_trimmer.hpp"
#include "core/metrics_registry.hpp"
#include "core/process_stats.hpp"
#include "core/store/store_meter.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace offload::core {
namespace {

TEST(metrics_registry_test, renders_the_text_exposition_format) {
  metrics_registry m;
  m.declare("jobs_total", "Jobs.", metrics_registry::kind::counter);
  m.declare("queue", "Queued.", metrics_registry::kind::gauge);
  m.declare("wait_seconds", "Wait.", metrics_registry::kind::histogram, {0.1, 1});
  const auto thread = metrics_registry::label_text({{"lane", "thread"}});
  m.add("jobs_total", thread);
  m.add("jobs_total", thread, 2);
  m.set("queue", {}, 7);
  for (const double v : {0.05, 0.1, 0.5, 3.0})
    m.observe("wait_seconds", thread, v);
  int collected = 0;
  m.on_collect([&](metrics_registry& r) { r.set("queue", {}, 8 + collected++); });
  const auto text = m.render();
  EXPECT_NE(text.find("# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total{lane=\"thread\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE queue gauge\nqueue 8\n"), std::string::npos) << text;
  EXPECT_NE(text.find("wait_seconds_bucket{lane=\"thread\",le=\"0.1\"} 2\n"
                      "wait_seconds_bucket{lane=\"thread\",le=\"1\"} 3\n"
                      "wait_seconds_bucket{lane=\"thread\",le=\"+Inf\"} 4\n"
                      "wait_seconds_sum{lane=\"thread\"} 3.65\n"
                      "wait_seconds_count{lane=\"thread\"} 4\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(collected, 1);
  EXPECT_THROW(m.observe("jobs_total", {}, 1), std::logic_error);
  EXPECT_THROW(m.add("undeclared", {}), std::logic_error);
}

// A start time keeps its milliseconds and a large counter every digit (%.9g printed 1732900000
// and 1.23456789e+12).
TEST(metrics_registry_test, numbers_are_printed_exactly) {
  metrics_registry m;
  m.declare("start_time_seconds", "Start.", metrics_registry::kind::gauge);
  m.declare("bytes_total", "Bytes.", metrics_registry::kind::counter);
  m.declare("ratio", "Ratio.", metrics_registry::kind::gauge);
  m.set("start_time_seconds", {}, 1732900000.123);
  m.add("bytes_total", {}, 1234567890123.0);
  m.set("ratio", {}, 0.1);
  const auto text = m.render();
  EXPECT_NE(text.find("\nstart_time_seconds 1732900000.123\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nbytes_total 1234567890123\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nratio 0.1\n"), std::string::npos) << text;
}

// Labels given as pairs (written into the registry's own buffer) name the same series as their label_text,
// and one call's labels do not leak into the next.
TEST(metrics_registry_test, labels_as_pairs_name_the_same_series_as_their_text) {
  metrics_registry m;
  m.declare("jobs_total", "Jobs.", metrics_registry::kind::counter);
  m.declare("run_seconds", "Run.", metrics_registry::kind::histogram, {1});
  m.add("jobs_total", {{"type", "echo"}, {"state", "a \"quoted\" one"}});
  m.add("jobs_total", metrics_registry::label_text({{"type", "echo"}, {"state", "a \"quoted\" one"}}), 2);
  m.add("jobs_total", {{"type", "sum"}});
  m.observe("run_seconds", {{"lane", "thread"}}, 0.5);
  m.observe("run_seconds", metrics_registry::label_text({{"lane", "thread"}}), 2);
  const auto text = m.render();
  EXPECT_NE(text.find("jobs_total{type=\"echo\",state=\"a \\\"quoted\\\" one\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("jobs_total{type=\"sum\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("run_seconds_count{lane=\"thread\"} 2\n"), std::string::npos) << text;
}

// The store's commits, counted on its own thread, reach /metrics as a histogram set whole at each render.
TEST(metrics_registry_test, a_store_meter_s_commits_render_as_a_histogram) {
  using namespace std::chrono_literals;
  store_meter meter;
  meter.pending(5);
  meter.committed(50us, 2);   // first bucket (0.0001)
  meter.committed(100us, 1);  // on a bound: counted in it
  meter.committed(3ms, 3);    // 0.005
  meter.committed(5s, 1);     // past every bound
  meter.failed();
  meter.pending(-4);
  const auto s = meter.read();
  EXPECT_EQ(s.commits, 4u);
  EXPECT_EQ(s.operations, 7u);
  EXPECT_EQ(s.failed_commits, 1u);
  EXPECT_EQ(s.pending, 1u);
  EXPECT_NEAR(s.commit_seconds, 5.00315, 1e-9);

  metrics_registry m;
  m.declare("commit_seconds", "Commits.", metrics_registry::kind::histogram,
            {store_meter::bounds.begin(), store_meter::bounds.end()});
  m.set_histogram("commit_seconds", {}, s.commits_by_bucket, s.commit_seconds);
  m.set_histogram("commit_seconds", {}, s.commits_by_bucket, s.commit_seconds);  // replaced, not added
  const auto text = m.render();
  EXPECT_NE(text.find("commit_seconds_bucket{le=\"1e-04\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("commit_seconds_bucket{le=\"0.0025\"} 2\ncommit_seconds_bucket{le=\"0.005\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("commit_seconds_bucket{le=\"1\"} 3\ncommit_seconds_bucket{le=\"+Inf\"} 4\n"
                      "commit_seconds_sum 5.00315\ncommit_seconds_count 4\n"),
            std::string::npos)
      << text;
  const std::vector<std::uint64_t> short_counts(3, 0);
  EXPECT_THROW(m.set_histogram("commit_seconds", {}, short_counts, 0), std::logic_error);
}

TEST(metrics_registry_test, label_values_are_escaped) {
  EXPECT_EQ(metrics_registry::label_text({{"a", "x\"y\\z\nw"}, {"b", ""}}), R"({a="x\"y\\z\nw",b=""})");
  EXPECT_EQ(metrics_registry::label_text({}), "");
}

TEST(process_stats_test, reads_this_process) {
  const auto s = process_stats::read();
  ASSERT_TRUE(s.has_value());
  EXPECT_GT(s->resident_bytes, 1u << 20);
  EXPECT_GE(s->open_fds, 3u);
  EXPECT_GT(s->start_time_seconds, 1.6e9);
  const auto resident = process_stats::resident();
  ASSERT_TRUE(resident.has_value());
  EXPECT_GT(*resident, 1u << 20);
}

// 40 MiB of heap in 16 KiB blocks, each followed by a small block that stays (until this object goes), the
// large ones freed: glibc cannot return those holes by itself (none is at the top of the heap); a trim gives
// their whole pages back.
class heap_holes {
 public:
  heap_holes() {
    constexpr std::size_t block = 16384, count = 2560;
    std::vector<char*> blocks;
    for (std::size_t i = 0; i < count; ++i) {
      blocks.push_back(static_cast<char*>(std::malloc(block)));
      std::memset(blocks.back(), 1, block);
      pins_.push_back(static_cast<char*>(std::malloc(32)));
    }
    for (char* b : blocks)
      std::free(b);
  }
  ~heap_holes() {
    for (char* p : pins_)
      std::free(p);
  }
  heap_holes(const heap_holes&) = delete;
  heap_holes& operator=(const heap_holes&) = delete;

 private:
  std::vector<char*> pins_;
};

// Whether malloc is glibc's (not a sanitizer's): only then is there anything to trim.
constexpr bool glibc_heap =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || !defined(__GLIBC__)
    false;
#else
    true;
#endif

TEST(memory_trimmer_test, a_look_gives_back_the_free_pages_between_live_blocks) {
  if (!glibc_heap) GTEST_SKIP() << "a sanitizer's allocator is not glibc's";
  const heap_holes holes;
  const auto before = process_stats::resident().value_or(0);
  const auto nothing = memory_trimmer::look_and_trim(std::uint64_t{1} << 40);
  EXPECT_FALSE(nothing.trimmed);
  EXPECT_GE(nothing.heap_free, std::uint64_t{32} << 20);
  const auto l = memory_trimmer::look_and_trim(std::uint64_t{8} << 20);
  EXPECT_TRUE(l.trimmed);
  EXPECT_GE(l.heap_free, std::uint64_t{32} << 20);
  EXPECT_GE(before, l.resident_after + (std::uint64_t{24} << 20)) << before << " -> " << l.resident_after;
}

// The reactor's side: a look only after two calm checks in a row, on the helper thread, counted once done.
// With a sanitizer's allocator the look finds nothing to trim: the same checks, no trim.
TEST(memory_trimmer_test, looks_only_after_two_calm_checks_in_a_row) {
  boost::asio::io_context reactor;
  metrics_registry metrics;
  // The answers of the checks, in order; calm from then on. Each check notes how many looks had started.
  const std::vector<bool> answers{false, false, true, false, true, false, false, true};
  std::vector<std::uint64_t> looks_seen;
  const memory_trimmer* self = nullptr;
  memory_trimmer trimmer{reactor.get_executor(),
                         metrics,
                         [&] {
                           looks_seen.push_back(self->looks());
                           return looks_seen.size() > answers.size() || answers[looks_seen.size() - 1];
                         },
                         {.min_free = std::uint64_t{8} << 20, .interval = std::chrono::milliseconds{2}}};
  self = &trimmer;
  trimmer.start();
  const heap_holes holes;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  const auto run_until = [&](auto done) {
    while (!done() && std::chrono::steady_clock::now() < deadline)
      reactor.run_one_for(std::chrono::milliseconds{100});
  };
  run_until([&] { return trimmer.looks() > 0 && !trimmer.looking(); });
  ASSERT_EQ(trimmer.looks(), 1u);
  ASSERT_FALSE(trimmer.looking());
  // Three more checks, each of which could start another look.
  const auto checked = looks_seen.size();
  run_until([&] { return looks_seen.size() >= checked + 3; });
  ASSERT_GE(looks_seen.size(), checked + 3);
  // The first two calm checks in a row are the 8th and the 9th: the look starts after the 9th.
  for (std::size_t i = 0; i < 9; ++i)
    EXPECT_EQ(looks_seen[i], 0u) << "check " << i + 1;
  EXPECT_EQ(looks_seen.back(), 1u) << "one look: the resident set did not grow again since";
  if (glibc_heap) {
    EXPECT_EQ(trimmer.trims(), 1u);
    EXPECT_GE(trimmer.trimmed_bytes(), std::uint64_t{24} << 20);
    EXPECT_NE(metrics.render().find("offload_memory_trims_total 1\n"), std::string::npos) << metrics.render();
  } else {
    EXPECT_EQ(trimmer.trims(), 0u);
  }
  trimmer.stop();
  trimmer.join();
}

}  // namespace
}  // namespace offload::core
