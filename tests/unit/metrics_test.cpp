// The Prometheus registry: counters, gauges, histograms and the text format.
#include "core/metrics_registry.hpp"
#include "core/process_stats.hpp"

#include <gtest/gtest.h>

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
}

}  // namespace
}  // namespace offload::core
