// The `offload` CLI as a user runs it: real binary, real server, output and exit codes.
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"
#include "support/proc_helpers.hpp"
#include "support/run_program.hpp"

#include <offload/proto/timestamp.hpp>

#include <gtest/gtest.h>

#include <csignal>

namespace offload::test {
namespace {

using nlohmann::json;

class cli_test : public ::testing::Test {
 protected:
  temp_dir dir_;
  std::string config_ = dir_.write("commands.json", json{{"commands",
                                                          {{"exit3", test_command({"exit", "3"})},
                                                           {"crash", test_command({"crash"})},
                                                           {"drip", test_command({"drip", "{input.mib}"})}}}}
                                                        .dump());
  offloadd_process server_{
      {"--config", config_, "--threads", "2", "--process-workers", "1", "--work-root", dir_.path().string()}};

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

  program_result offload(std::vector<std::string> args, run_options options = {}) {
    args.insert(args.begin(), {OFFLOAD_CLI_PATH, "--url", url()});
    return run_program(args, options);
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(text.substr(start, end - start));
  return lines;
}

TEST_F(cli_test, help_and_usage_errors) {
  const auto help = run_program({OFFLOAD_CLI_PATH, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Exit codes:"), std::string::npos);
  for (const auto& bad : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"submit"},
           {"submit", "sum", "--priority", "12"},
           {"submit", "sum", "--lane", "gpu"},
           {"submit", "sum", "=oops"},
           {"submit", "sum", "n:=not json"},
           {"submit", "sum", "--input", "[1]"},
           {"submit", "sum", "--wait", "--follow"},
           {"status"},
           {"list", "--limit", "0"},
           {"--bogus", "health"},
       }) {
    const auto r = offload(bad);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(bad) << r.err;
    EXPECT_NE(r.err.find("offload:"), std::string::npos);
  }
  EXPECT_EQ(run_program({OFFLOAD_CLI_PATH, "--url", "https://x", "health"}).exit_code, 2);
}

TEST_F(cli_test, health_answers_and_a_dead_server_is_a_connection_error) {
  const auto ok = offload({"health"});
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.out, "ok\n");
  const auto dead = run_program({OFFLOAD_CLI_PATH, "--url", "http://127.0.0.1:1", "health"});
  EXPECT_EQ(dead.exit_code, 3);
  EXPECT_NE(dead.err.find("connect_failed"), std::string::npos) << dead.err;
}

TEST_F(cli_test, url_comes_from_the_environment) {
  const auto r = run_program({OFFLOAD_CLI_PATH, "health"}, {.env = {"OFFLOAD_URL=" + url()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(cli_test, submit_wait_prints_the_final_job_for_people_and_programs) {
  const auto human = offload({"submit", "sum", "n=1000", "--wait"});
  EXPECT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("state:    succeeded"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find(R"("sum":"499500")"), std::string::npos) << human.out;

  const auto machine = offload({"--json", "submit", "sum", "n=10", "--wait", "--priority", "7"});
  EXPECT_EQ(machine.exit_code, 0);
  const auto view = json::parse(machine.out);
  EXPECT_EQ(view["state"], "succeeded");
  EXPECT_EQ(view["priority"], 7);
  EXPECT_EQ(view["result"]["sum"], "45");
}

TEST_F(cli_test, input_from_fields_json_files_and_stdin) {
  const auto file = dir_.write("input.json", R"({"from_file":true,"n":1})");
  const auto r = offload({"--json", "submit", "echo", "--input", "@" + file, "n=2", "s=text", "f=1.5",
                          "b=false", "z=null", "list:=[1,\"two\"]", "quoted:=\"42\"", "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["result"], (json{{"from_file", true},
                                                {"n", 2},
                                                {"s", "text"},
                                                {"f", 1.5},
                                                {"b", false},
                                                {"z", nullptr},
                                                {"list", {1, "two"}},
                                                {"quoted", "42"}}));
  const auto piped =
      offload({"--json", "submit", "echo", "--input", "@-", "--wait"}, {.input = R"({"x":[true]})"});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(json::parse(piped.out)["result"], (json{{"x", {true}}}));
}

TEST_F(cli_test, submit_prints_the_id_then_status_and_cancel_use_it) {
  const auto sub = offload({"submit", "sleep", "ms=60000"});
  ASSERT_EQ(sub.exit_code, 0) << sub.err;
  const auto id = sub.out.substr(0, sub.out.find('\n'));
  EXPECT_EQ(id.size(), 20u) << sub.out;
  wait_for_job(server_.port(), id, [](const json& v) { return is_state(v, "running"); });
  const auto status = offload({"status", id});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_NE(status.out.find("state:    running"), std::string::npos) << status.out;
  const auto cancel = offload({"cancel", id});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_NE(cancel.out.find("state:    cancelled"), std::string::npos);
  EXPECT_EQ(offload({"wait", id}).exit_code, 6);
  const auto again = offload({"--json", "cancel", id});
  EXPECT_EQ(again.exit_code, 4);
  EXPECT_EQ(json::parse(again.out)["error"]["code"], "already_finished");
}

// --attempts / --backoff reach the server: a failing command runs three times; --delay holds a job back.
TEST_F(cli_test, attempts_and_delays_are_passed_on) {
  const auto failed = offload({"--json", "submit", "exit3", "--attempts", "3", "--backoff", "10", "--wait"});
  EXPECT_EQ(failed.exit_code, 1);
  const auto view = json::parse(failed.out);
  EXPECT_EQ(view["attempt"], 3) << failed.out;
  EXPECT_EQ(view["error"]["attempts"].size(), 2u) << failed.out;
  const auto delayed = offload({"--json", "submit", "echo", "--delay", "400", "--wait"});
  ASSERT_EQ(delayed.exit_code, 0) << delayed.err;
  const auto d = json::parse(delayed.out);
  EXPECT_GE(d["started_at"].get<std::string>(), d["created_at"].get<std::string>());
  const auto created = proto::parse_timestamp(d["created_at"].get<std::string>());
  const auto started = proto::parse_timestamp(d["started_at"].get<std::string>());
  ASSERT_TRUE(created && started);
  EXPECT_GE(*started - *created, std::chrono::milliseconds{400});
  EXPECT_EQ(offload({"submit", "echo", "--attempts", "0"}).exit_code, 2);
  EXPECT_EQ(offload({"submit", "echo", "--at", "soon"}).exit_code, 2);
}

TEST_F(cli_test, exit_codes_follow_the_job) {
  EXPECT_EQ(offload({"submit", "exit3", "--wait"}).exit_code, 1);
  const auto crashed = offload({"submit", "crash", "--wait"});
  EXPECT_EQ(crashed.exit_code, 7);
  // The error line does not repeat the state: "error: the command was killed by SIGSEGV".
  EXPECT_NE(crashed.out.find("SIGSEGV"), std::string::npos) << crashed.out;
  EXPECT_EQ(crashed.out.find("crashed: "), std::string::npos) << crashed.out;
  EXPECT_EQ(offload({"submit", "sleep", "ms=60000", "--timeout", "100", "--wait"}).exit_code, 5);
  const auto running = offload({"submit", "sleep", "ms=60000", "--wait=0.3"});
  EXPECT_EQ(running.exit_code, 8);
  EXPECT_NE(running.out.find("state:    running"), std::string::npos) << running.out;
  // With a space, the number is still the wait, not an input field.
  const auto spaced = offload({"submit", "sleep", "--wait", "0.3", "ms=60000"});
  EXPECT_EQ(spaced.exit_code, 8) << spaced.err;
  EXPECT_NE(spaced.out.find("state:    running"), std::string::npos) << spaced.out;
  const auto rejected = offload({"submit", "no_such_type"});
  EXPECT_EQ(rejected.exit_code, 4);
  EXPECT_NE(rejected.err.find("unknown_type"), std::string::npos);
  EXPECT_EQ(rejected.err.find("did you mean"), std::string::npos) << "nothing is close: " << rejected.err;
  EXPECT_NE(rejected.err.find("offload types"), std::string::npos) << rejected.err;
  const auto typo = offload({"submit", "prims", "limit=10"});
  EXPECT_EQ(typo.exit_code, 4);
  EXPECT_NE(typo.err.find("did you mean primes?"), std::string::npos) << typo.err;
  EXPECT_EQ(offload({"status", "000000000000deadbeef"}).exit_code, 4);
}

TEST_F(cli_test, watch_prints_one_line_per_event_without_a_terminal) {
  const auto sub = offload({"submit", "primes", "limit=3000000"});
  const auto id = sub.out.substr(0, sub.out.find('\n'));
  const auto r = offload({"watch", id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines.front().rfind("1 queued", 0), 0u) << r.out;
  EXPECT_EQ(lines[1], "2 started");
  EXPECT_NE(lines.back().find("succeeded {\"count\":216816}"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos) << "no progress bar outside a terminal";

  const auto tail = offload({"--json", "watch", id, "--after", "2"});
  ASSERT_EQ(tail.exit_code, 0);
  const auto json_lines = lines_of(tail.out);
  ASSERT_FALSE(json_lines.empty());
  EXPECT_EQ(json::parse(json_lines.front())["seq"], 3);
  EXPECT_EQ(json::parse(json_lines.back())["type"], "succeeded");
}

TEST_F(cli_test, follow_on_a_terminal_draws_a_progress_bar_and_streams_output) {
  const auto progress = offload({"submit", "primes", "limit=3000000", "--follow"}, {.terminal = true});
  ASSERT_EQ(progress.exit_code, 0) << progress.err;
  EXPECT_NE(progress.out.find("\r\033[Krunning ["), std::string::npos) << "a bar redrawn in place";
  EXPECT_NE(progress.out.find('%'), std::string::npos);
  EXPECT_NE(progress.out.find("succeeded: {\"count\":216816}"), std::string::npos) << progress.out;

  const auto output = offload({"submit", "drip", "mib=1", "--follow"}, {.terminal = true});
  ASSERT_EQ(output.exit_code, 0) << output.err;
  EXPECT_GE(std::count(output.out.begin(), output.out.end(), 'd'), 1 << 20)
      << "output chunks written through";
}

// Every status line drawn on a 40-column terminal fits in 39 columns; after the terminal is widened the line
// redraws at the new width (the whole note shows); Ctrl-C with --cancel-on-interrupt cancels the job.
TEST_F(cli_test, the_status_line_follows_the_terminal_width_and_ctrl_c_can_cancel) {
  const auto r =
      offload({"submit", "sum", "n=10000000000", "--follow", "--cancel-on-interrupt"},
              {.terminal = true,
               .columns = 40,
               .triggers = {{.seen = "%", .columns = 100}, {.seen = " of 10000000000", .signal = SIGINT}}});
  EXPECT_EQ(r.exit_code, 130) << r.err;
  const auto ids = json::parse(offload({"--json", "list", "--type", "sum", "--newest", "--limit", "1"}).out);
  const auto id = ids["jobs"][0]["id"].get<std::string>();
  EXPECT_NE(r.err.find("interrupted; job " + id + " cancelled"), std::string::npos) << r.err;
  EXPECT_EQ(json::parse(offload({"--json", "status", id}).out)["state"], "cancelled");
  // Status lines: the text after each "\r\033[K" up to the next control sequence.
  std::size_t narrow = 0, wide = 0;
  const std::string redraw = "\r\033[K";
  for (auto at = r.out.find(redraw); at != std::string::npos; at = r.out.find(redraw, at + 1)) {
    const auto start = at + redraw.size();
    const auto line = r.out.substr(start, std::min(r.out.find_first_of("\r\n", start), r.out.size()) - start);
    if (line.empty()) continue;
    EXPECT_LE(line.size(), 99u) << line;
    if (line.find(" of 10000000000") != std::string::npos) {
      ++wide;
    } else {
      EXPECT_LE(line.size(), 39u) << line;
      ++narrow;
    }
  }
  EXPECT_GT(narrow, 0u) << r.out;
  EXPECT_GT(wide, 0u) << r.out;
}

// Ctrl-C while watching: the job goes on, and the CLI says so and what to type next.
TEST_F(cli_test, ctrl_c_while_watching_leaves_the_job_running_and_says_how_to_go_on) {
  const auto id = offload({"submit", "sleep", "ms=60000"}).out;
  ASSERT_FALSE(id.empty());
  const auto job = id.substr(0, id.size() - 1);
  const auto r = offload({"watch", job}, {.triggers = {{.seen = "2 started", .signal = SIGINT}}});
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_NE(r.err.find("job " + job + " goes on (it was not cancelled)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("offload watch " + job + " --after 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("offload cancel " + job), std::string::npos) << r.err;
  EXPECT_EQ(json::parse(offload({"--json", "status", job}).out)["state"], "running");
  EXPECT_EQ(offload({"cancel", job}).exit_code, 0);
}

TEST_F(cli_test, list_and_types) {
  ASSERT_EQ(offload({"submit", "sum", "n=5", "--wait"}).exit_code, 0);
  const auto table = offload({"list", "--state", "succeeded"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("succeeded  thread   sum"), std::string::npos) << table.out;
  const auto listed = json::parse(offload({"--json", "list", "--type", "sum", "--limit", "5"}).out);
  ASSERT_EQ(listed["jobs"].size(), 1u);
  EXPECT_EQ(listed["jobs"][0]["type"], "sum");
  ASSERT_EQ(offload({"submit", "sum", "n=6", "--wait"}).exit_code, 0);
  const auto newest = offload({"list", "--type", "sum", "--newest", "--limit", "1"});
  EXPECT_EQ(newest.exit_code, 0);
  const auto first_row = newest.out.find('\n') + 1;
  EXPECT_EQ(
      newest.out.find(
          json::parse(offload({"--json", "list", "--type", "sum"}).out)["jobs"][1]["id"].get<std::string>()),
      first_row)
      << "the latest job comes first: " << newest.out;
  EXPECT_NE(newest.out.find("(more: offload list --newest --after "), std::string::npos) << newest.out;

  const auto types = offload({"types"});
  EXPECT_EQ(types.exit_code, 0);
  EXPECT_NE(types.out.find("exit3"), std::string::npos);
  EXPECT_NE(types.out.find("  data:string, rounds?:integer  "), std::string::npos)
      << "input fields shown: " << types.out;
  EXPECT_NE(types.out.find("  (any object)  "), std::string::npos) << types.out;
  const auto types_json = json::parse(offload({"types", "--json"}).out);
  EXPECT_TRUE(types_json["types"].is_array());
}

TEST_F(cli_test, stats_for_people_and_programs) {
  ASSERT_EQ(offload({"submit", "sum", "n=5", "--wait"}).exit_code, 0);
  const auto text = offload({"stats"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("jobs: 0 queued (0 delayed), 0 running, 1 submitted, 1 finished, 1 retained"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("threads      threads   thread         0       0        2  -"), std::string::npos)
      << text.out;
  // The worker may still be starting (counted busy until ready): its numbers are not asserted here.
  const auto builtin = text.out.find("builtin      workers   process        0       0        1  ");
  ASSERT_NE(builtin, std::string::npos) << text.out;
  EXPECT_NE(text.out.find(" idle, ", builtin), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("reactor lag: p50 "), std::string::npos) << text.out;
  // The store's commits (this server keeps its jobs in SQLite): the job's submission and end at least.
  const auto commits = text.out.find("store commits: ");
  ASSERT_NE(commits, std::string::npos) << text.out;
  EXPECT_GE(std::stoull(text.out.substr(commits + std::string_view{"store commits: "}.size())), 2u)
      << text.out;
  EXPECT_NE(text.out.find(" operations in ", commits), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(" pending, 0 failed\n", commits), std::string::npos) << text.out;
  const auto machine = offload({"stats", "--json"});
  EXPECT_EQ(machine.exit_code, 0);
  const auto s = json::parse(machine.out);
  EXPECT_EQ(s["jobs"]["submitted"], 1);
  EXPECT_GE(s["store_commits"]["commits"], 2) << s;
  EXPECT_EQ(offload({"stats", "extra"}).exit_code, 2);
}

}  // namespace
}  // namespace offload::test

namespace offload::test {
namespace {

// Against a server that wants a token: `--token`, else OFFLOAD_TOKEN; none (or a wrong one) is refused with
// exit code 4. `--key` makes a retried submission return the first job instead of a second one.
TEST(cli_auth_test, the_token_comes_from_the_flag_or_the_environment_and_key_deduplicates) {
  offloadd_process server{{"--store", "memory"}, {"OFFLOAD_TOKEN=cli-secret"}};
  const auto url = "http://127.0.0.1:" + std::to_string(server.port());
  const auto offload = [&](std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), {OFFLOAD_CLI_PATH, "--url", url});
    return run_program(args, run_options{.env = std::move(env)});
  };
  const auto refused = offload({"list"});
  EXPECT_EQ(refused.exit_code, 4) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("unauthorized"), std::string::npos) << refused.err;
  EXPECT_EQ(offload({"--token", "wrong", "list"}).exit_code, 4);
  EXPECT_EQ(offload({"--token", "cli-secret", "list"}).exit_code, 0);
  EXPECT_EQ(offload({"list"}, {"OFFLOAD_TOKEN=cli-secret"}).exit_code, 0);
  EXPECT_EQ(offload({"--token", "wrong", "list"}, {"OFFLOAD_TOKEN=cli-secret"}).exit_code, 4)
      << "the flag wins over the environment";

  const auto first = offload({"--json", "--token", "cli-secret", "submit", "echo", "n=1", "--key", "k-1"});
  const auto again = offload({"--json", "--token", "cli-secret", "submit", "echo", "n=1", "--key", "k-1"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(first.out)["id"], json::parse(again.out)["id"]) << "one job for one key";
  const auto other = offload({"--json", "--token", "cli-secret", "submit", "echo", "n=2", "--key", "k-1"});
  EXPECT_EQ(other.exit_code, 4) << "the same key with another body is a conflict: " << other.out;
}

}  // namespace
}  // namespace offload::test
