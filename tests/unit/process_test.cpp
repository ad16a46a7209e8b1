// Process-lane building blocks without the service: allow-list parsing, argv expansion, output chunking,
// the worker protocol, and child processes started for real.
#include "core/process/cgroup_tree.hpp"
#include "core/process/child_process.hpp"
#include "core/process/command_spec.hpp"
#include "core/process/job_leftovers.hpp"
#include "core/process/output_chunker.hpp"
#include "core/process/process_identity.hpp"
#include "core/process/worker_pool.hpp"
#include "support/proc_helpers.hpp"

#include <offload/proto/worker_message.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace offload::core {
namespace {

using nlohmann::json;

proto::result<std::map<std::string, command_spec>> parse(const json& commands) {
  return parse_command_config({{"commands", commands}});
}

TEST(command_spec_test, parses_a_full_command) {
  const auto r =
      parse({{"wc",
              {{"argv", {"/usr/bin/wc", "-c", "{input.file}"}},
               {"stdin", "input.data"},
               {"result", "stdout_json"},
               {"timeout_ms", 5000},
               {"max_output_bytes", 4096},
               {"env", {{"LANG", "C"}}},
               {"limits",
                {{"address_space_mb", 512}, {"cpu_seconds", 10}, {"open_files", 64}, {"processes", 32}}}}}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const auto& wc = r->at("wc");
  EXPECT_EQ(wc.argv.size(), 3u);
  EXPECT_EQ(wc.stdin_field, "data");
  EXPECT_EQ(wc.result, command_result::stdout_json);
  EXPECT_EQ(wc.timeout_ms, 5000u);
  EXPECT_EQ(wc.max_output_bytes, 4096u);
  EXPECT_EQ(wc.env.at("LANG"), "C");
  EXPECT_EQ(wc.limits.address_space_mb, 512u);
  EXPECT_EQ(wc.limits.processes, 32u);
  EXPECT_EQ(wc.argv_fields, std::set<std::string>{"file"});
}

TEST(command_spec_test, errors_name_the_path) {
  const std::pair<json, const char*> cases[] = {
      {{{"x", {{"argv", {"/bin/echo", "{inptu.file}"}}}}},
       "commands.x.argv[1]: unknown placeholder {inptu.file}"},
      {{{"x", {{"argv", json::array()}}}}, "commands.x.argv"},
      {{{"x", {{"argv", {"relative"}}}}}, "commands.x.argv[0]"},
      {{{"x", {{"argv", {"/bin/{input.p}"}}}}}, "commands.x.argv[0]"},
      {{{"x", {{"argv", {"/no/such"}}}}}, "not an executable"},
      {{{"x", {{"argv", {"/bin/true"}}, {"stdin", "data"}}}}, "commands.x.stdin"},
      {{{"x", {{"argv", {"/bin/true"}}, {"result", "text"}}}}, "commands.x.result"},
      {{{"x", {{"argv", {"/bin/true"}}, {"limits", {{"cpu", 1}}}}}}, "commands.x.limits.cpu"},
      {{{"x", {{"argv", {"/bin/true"}}, {"env", {{"A", 1}}}}}}, "commands.x.env.A"},
      {{{"x", {{"argv", {"/bin/true"}}, {"shell", true}}}}, "commands.x.shell"},
      {{{"Bad Name", {{"argv", {"/bin/true"}}}}}, "a type name must be 1 to 64 characters"},
  };
  for (const auto& [commands, expected] : cases) {
    const auto r = parse(commands);
    ASSERT_FALSE(r.has_value()) << commands.dump();
    EXPECT_NE(r.error().message.find(expected), std::string::npos) << r.error().message;
  }
}

TEST(command_spec_test, literal_braces_stay_literal) {
  // `{a:b.c}`: a ':' before the '.' (it threw std::out_of_range once; found by fuzz_command_template).
  const auto r = parse({{"awk", {{"argv", {"/usr/bin/awk", "{print $1}", "{a.b.c}", "{}", "{a:b.c}"}}}}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->at("awk").argv_fields.empty());
  EXPECT_EQ(expand_argv(r->at("awk"), json::object()),
            (std::vector<std::string>{"/usr/bin/awk", "{print $1}", "{a.b.c}", "{}", "{a:b.c}"}));
}

TEST(command_spec_test, expansion_yields_exactly_one_argument_per_element) {
  const auto r = parse({{"x", {{"argv", {"/bin/echo", "{input.a}", "--n={input.n}{input.b}"}}}}});
  ASSERT_TRUE(r.has_value());
  const auto& spec = r->at("x");
  const json input{{"a", "; rm -rf / $(id) *"}, {"n", 3}, {"b", true}};
  ASSERT_FALSE(validate_command_input(spec, input).has_value());
  EXPECT_EQ(expand_argv(spec, input),
            (std::vector<std::string>{"/bin/echo", "; rm -rf / $(id) *", "--n=3true"}));
}

TEST(command_spec_test, input_validation) {
  const auto r = parse({{"x", {{"argv", {"/bin/echo", "{input.a}"}}, {"stdin", "input.data"}}}});
  ASSERT_TRUE(r.has_value());
  const auto& spec = r->at("x");
  EXPECT_FALSE(validate_command_input(spec, {{"a", "1"}, {"data", "d"}}).has_value());
  EXPECT_EQ(validate_command_input(spec, {{"data", "d"}})->message, "a: is required");
  EXPECT_NE(validate_command_input(spec, {{"a", json::array()}, {"data", "d"}})->message.find("a:"),
            std::string::npos);
  EXPECT_NE(validate_command_input(spec, {{"a", "1"}, {"data", 5}})->message.find("data:"),
            std::string::npos);
  EXPECT_NE(validate_command_input(spec, {{"a", "1"}, {"data", "d"}, {"z", 1}})->message.find("z:"),
            std::string::npos);
  const auto type = command_job_type(std::make_shared<const command_spec>(spec));
  EXPECT_EQ(type.lanes, std::vector<proto::lane>{proto::lane::process});
  EXPECT_EQ(type.input_schema["required"], json::array({"a", "data"}));
}

// A value that starts an argument and begins with '-' would be read as an option (`cat -n` instead of a
// file): refused unless the operator opts in; inside an argument (`--name={input.x}`) it is harmless. A NUL
// would silently cut the argument short: refused everywhere in argv; stdin takes any bytes.
TEST(command_spec_test, option_like_and_nul_values_are_refused) {
  const auto r = parse(
      {{"plain", {{"argv", {"/bin/echo", "{input.file}", "--label={input.label}"}}, {"stdin", "input.data"}}},
       {"opted", {{"argv", {"/bin/echo", "{input.n}"}}, {"allow_option_values", true}}}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const auto& plain = r->at("plain");
  const auto check = [&](json input) { return validate_command_input(plain, input); };
  EXPECT_FALSE(check({{"file", "a-b"}, {"label", "-x"}, {"data", std::string("a\0b", 3)}}).has_value());
  const auto dash = check({{"file", "-n"}, {"label", "x"}, {"data", ""}});
  ASSERT_TRUE(dash.has_value());
  EXPECT_EQ(dash->code, proto::errc::invalid_input);
  EXPECT_TRUE(dash->message.starts_with("file: must not begin with '-'")) << dash->message;
  EXPECT_TRUE(check({{"file", -3}, {"label", "x"}, {"data", ""}}).has_value()) << "a negative number too";
  const auto nul = check({{"file", "a"}, {"label", std::string("x\0y", 3)}, {"data", ""}});
  ASSERT_TRUE(nul.has_value());
  EXPECT_EQ(nul->message, "label: must not contain a NUL byte");
  EXPECT_FALSE(validate_command_input(r->at("opted"), {{"n", "-5"}}).has_value());
  EXPECT_FALSE(parse({{"bad", {{"argv", {"/bin/echo"}}, {"allow_option_values", "yes"}}}}).has_value());
}

// `{input.FIELD:path}`: a path the command opens in its work directory (its cwd), never elsewhere: no
// absolute path, no `..` step (`cat {input.path:path}` cannot read /proc/<offloadd>/environ or ../../etc).
TEST(command_spec_test, path_placeholders_stay_inside_the_work_directory) {
  const auto r = parse({{"cat", {{"argv", {"/bin/cat", "{input.src:path}", "--out={input.dst:path}"}}}}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const auto& spec = r->at("cat");
  EXPECT_EQ(spec.path_fields, (std::set<std::string>{"src", "dst"}));
  const auto check = [&](const std::string& src) {
    return validate_command_input(spec, {{"src", src}, {"dst", "o"}});
  };
  for (const auto* fine : {"a.txt", "sub/dir/file", "./x", "a..b", "...", "x/.hidden"})
    EXPECT_FALSE(check(fine).has_value()) << fine;
  for (const auto* outside :
       {"/etc/passwd", "/proc/1/environ", "../x", "..", "a/../../etc/passwd", "a/..", ""}) {
    const auto refused = check(outside);
    ASSERT_TRUE(refused.has_value()) << outside;
    EXPECT_TRUE(refused->message.starts_with("src: must")) << refused->message;
  }
  EXPECT_EQ(check("-n")->message.substr(0, 31), "src: must not begin with '-': t") << "still an option";
  EXPECT_EQ(validate_command_input(spec, {{"src", 5}, {"dst", "o"}})->message,
            "src: must be a string (a path)");
  EXPECT_EQ(expand_argv(spec, {{"src", "in/a.txt"}, {"dst", "b"}}),
            (std::vector<std::string>{"/bin/cat", "in/a.txt", "--out=b"}));
  const auto type = command_job_type(std::make_shared<const command_spec>(spec));
  EXPECT_EQ(type.input_schema["properties"]["src"]["type"], "string");
  // Only `:path` is a kind; a misspelt one stops start-up.
  const auto typo = parse({{"cat", {{"argv", {"/bin/cat", "{input.src:file}"}}}}});
  ASSERT_FALSE(typo.has_value());
  EXPECT_NE(typo.error().message.find("unknown placeholder kind {input.src:file}"), std::string::npos)
      << typo.error().message;
}

// Issue 15, item 10: a job waiting for a worker while the pool backs off after start-up failures is
// released by its cancel at once, not at the end of the back-off (here 20 s), and starts no worker.
// What offloadd reads to find its cgroups: a hybrid host (v1 controllers, cgroup2 beside them), a v2 host, a
// container that sees a subtree, and lines that are not cgroups or not well formed.
TEST(cgroup_files_test, mountinfo_names_each_cgroup_mount_its_root_and_controllers) {
  const auto mounts = parse_cgroup_mounts(
      "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "36 30 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
      "40 30 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
      "41 30 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
      "42 30 0:39 /docker/abc /sys/fs/cgroup/pids\\040x ro - cgroup cgroup rw,pids\n"
      "garbage\n43 30 0:40 / /x rw - cgroup\n");
  ASSERT_EQ(mounts.size(), 5u);
  EXPECT_EQ(mounts[0].mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ(mounts[0].version, 1);
  EXPECT_EQ(mounts[0].controllers, (std::vector<std::string>{"memory"}));
  EXPECT_EQ(mounts[1].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(mounts[2].controllers, std::vector<std::string>{}) << "name=systemd is no controller";
  EXPECT_EQ(mounts[3].version, 2);
  EXPECT_EQ(mounts[3].mount_point, "/sys/fs/cgroup/unified");
  EXPECT_EQ(mounts[4].root, "/docker/abc");
  EXPECT_EQ(mounts[4].mount_point, "/sys/fs/cgroup/pids x") << "\\040 is a blank";
}

TEST(cgroup_files_test, proc_cgroup_gives_the_path_of_each_hierarchy) {
  const auto lines = parse_proc_cgroup(
      "12:pids:/user.slice\n4:memory:/process_api/82:a\n3:cpu,cpuacct:/\n1:name=systemd:/init.scope\n"
      "0::/system.slice/offloadd.service\nbroken\n5:freezer:relative\n6:name=:/x\n");
  ASSERT_EQ(lines.size(), 5u) << "a line that names no hierarchy (name= with no name) is not a v2 line";
  EXPECT_EQ(lines[0].controllers, (std::vector<std::string>{"pids"}));
  EXPECT_EQ(lines[1].path, "/process_api/82:a") << "a path may hold ':'";
  EXPECT_EQ(lines[2].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(lines[3].controllers, (std::vector<std::string>{"systemd"}));
  EXPECT_TRUE(lines[4].controllers.empty()) << "v2";
  EXPECT_EQ(lines[4].path, "/system.slice/offloadd.service");
}

TEST(worker_pool_backoff_test, a_cancel_ends_the_wait_for_a_pool_that_backs_off) {
  boost::asio::io_context ioc{1};
  worker_pool_settings settings;
  settings.name = "failing";
  settings.program = "/bin/false";  // exits before its ready line: a start-up failure
  settings.size = 1;
  settings.start_backoff = std::chrono::seconds{10};
  worker_pool pool{ioc.get_executor(), settings};
  pool.start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (!pool.trouble() && std::chrono::steady_clock::now() < deadline)
    ioc.run_one_for(std::chrono::milliseconds{10});
  ASSERT_TRUE(pool.trouble()) << "the first start-up failure";
  const auto starts = pool.restarts();

  job_type type;
  type.name = "echo";
  const json input = json::object();
  std::stop_source stop;
  std::optional<lane_outcome> outcome;
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        // Named before the co_await (rule 1 of offload/asio_support.hpp).
        lane_request request{type, input, "job-1", stop.get_token(), {}};
        outcome = co_await pool.async_run(std::move(request));
      },
      boost::asio::detached);
  ioc.poll();  // the job reaches the back-off wait
  ASSERT_FALSE(outcome) << "it waits for the back-off";
  stop.request_stop();
  const auto cancelled_by = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (!outcome && std::chrono::steady_clock::now() < cancelled_by)
    ioc.run_one_for(std::chrono::milliseconds{10});
  ASSERT_TRUE(outcome) << "the cancel did not end the wait (the back-off is 20 s)";
  ASSERT_TRUE(outcome->error);
  EXPECT_EQ(outcome->error->code, proto::errc::cancelled);
  EXPECT_EQ(pool.restarts(), starts) << "no worker was started for a cancelled job";
  ioc.stop();
  pool.join();
}

TEST(output_chunker_test, splits_only_on_character_boundaries) {
  output_chunker chunker{"stdout"};
  const std::string euro = "\xe2\x82\xac";  // €
  auto first = chunker.feed("ab" + euro.substr(0, 1));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ((*first)["data"], "ab");
  EXPECT_FALSE(chunker.feed(euro.substr(1, 1)).has_value()) << "still incomplete";
  const auto second = chunker.feed(euro.substr(2) + "c");
  EXPECT_EQ((*second)["data"], euro + "c");
  EXPECT_EQ((*second)["stream"], "stdout");
  EXPECT_FALSE(chunker.flush().has_value());
}

TEST(output_chunker_test, non_utf8_bytes_travel_as_base64) {
  output_chunker chunker{"stderr"};
  const auto payload = chunker.feed(std::string{"\xff\xfe\x00z", 4});
  ASSERT_TRUE(payload.has_value());
  EXPECT_FALSE(payload->contains("data"));
  EXPECT_EQ((*payload)["data_base64"], "//4Aeg==");
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  // A truncated sequence at the very end is flushed as bytes.
  output_chunker tail{"stdout"};
  EXPECT_FALSE(tail.feed("\xe2\x82").has_value());
  EXPECT_TRUE(tail.flush()->contains("data_base64"));
}

TEST(output_chunker_test, utf8_validation) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("\xc3\xbc \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\x80"));              // lone continuation
}

TEST(worker_message_test, round_trips_and_rejects_garbage) {
  const auto req = proto::decode_worker_request(proto::encode_line(proto::worker_request{"sum", {{"n", 5}}}));
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->type, "sum");
  EXPECT_EQ(req->input["n"], 5);

  proto::worker_event progress;
  progress.kind = proto::worker_event_kind::progress;
  progress.fraction = 0.5;
  progress.note = "half";
  auto line = proto::encode_line(progress);
  ASSERT_EQ(line.back(), '\n');
  line.pop_back();
  const auto e = proto::decode_worker_event(line);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, proto::worker_event_kind::progress);
  EXPECT_EQ(e->fraction, 0.5);

  for (const auto* bad :
       {"", "garbage", "[]", "{}", R"({"event":"nope"})", R"({"event":"progress","fraction":2})",
        R"({"event":"output","data":1})", R"({"event":"result"})", R"({"event":"error","error":{"code":1}})",
        R"({"event":"error","error":{"code":"x","message":[]}})"}) {
    const auto r = proto::decode_worker_event(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, proto::errc::protocol_error);
  }
  EXPECT_FALSE(proto::decode_worker_request(R"({"type":1,"input":{}})").has_value());
  EXPECT_FALSE(proto::decode_worker_request(R"({"type":"x","input":[]})").has_value());
}

// Runs a coroutine on a fresh io_context with a deadline.
template <class T>
T run(boost::asio::io_context& ioc, boost::asio::awaitable<T> op) {
  auto f = boost::asio::co_spawn(ioc, std::move(op), boost::asio::use_future);
  ioc.run_for(std::chrono::seconds{20});
  EXPECT_EQ(f.wait_for(std::chrono::seconds{0}), std::future_status::ready) << "deadline passed";
  return f.get();
}

TEST(child_process_test, exit_codes_and_signals_are_told_apart) {
  boost::asio::io_context ioc;
  auto status_of = [&](std::vector<std::string> args) {
    auto child = child_process::spawn(ioc.get_executor(), {TEST_CHILD_PATH, std::move(args), {}, "", {}});
    EXPECT_TRUE(child.has_value());
    auto status = run(ioc, (*child)->async_wait());
    ioc.restart();
    return status;
  };
  const auto three = status_of({"exit", "3"});
  EXPECT_EQ(three.code, 3);
  EXPECT_EQ(three.signal, 0);
  EXPECT_EQ(three.describe(), "exit code 3");
  const auto eleven = status_of({"exit", "11"});
  EXPECT_EQ(eleven.code, 11);
  EXPECT_EQ(eleven.signal, 0);
  const auto crash = status_of({"crash"});
  EXPECT_EQ(crash.signal, SIGSEGV);
  EXPECT_EQ(crash.describe(), "SIGSEGV");
  EXPECT_TRUE(status_of({"exit", "0"}).success());
}

TEST(child_process_test, terminate_group_escalates_to_sigkill) {
  boost::asio::io_context ioc;
  auto child = child_process::spawn(ioc.get_executor(), {TEST_CHILD_PATH, {"ignore-term"}, {}, "", {}});
  ASSERT_TRUE(child.has_value());
  auto& c = **child;
  // Wait for its first line, so SIGTERM is already being ignored.
  std::string first(17, '\0');
  run(ioc, [&]() -> boost::asio::awaitable<bool> {
    co_await boost::asio::async_read(c.stdout_pipe(), boost::asio::buffer(first), boost::asio::use_awaitable);
    co_return true;
  }());
  ioc.restart();
  c.terminate_group(std::chrono::milliseconds{100});
  EXPECT_EQ(run(ioc, c.async_wait()).signal, SIGKILL);
}

TEST(child_process_test, refuses_what_it_cannot_execute) {
  boost::asio::io_context ioc;
  EXPECT_FALSE(child_process::spawn(ioc.get_executor(), {"/no/such/program", {}, {}, "", {}}).has_value());
  EXPECT_FALSE(child_process::spawn(ioc.get_executor(), {"relative/path", {}, {}, "", {}}).has_value());
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(63), "signal 63");
}

// A directory named like a command job's, in a fresh work root (removed with it).
struct job_dir {
  test::temp_dir root;
  std::string path = (root.path() / "offload-job-test").string();
  job_dir() { std::filesystem::create_directory(path); }
  std::string record() const { return test::file_text(path + ".owner"); }
};

// A command job's child writes its own leftovers record before it execs, so that no process of the job
// runs unrecorded: its group (its pid) and start time, and this process as the owner.
TEST(job_leftovers_test, the_child_writes_its_record_before_it_execs) {
  job_dir dir;
  const auto me = process_identity::self();
  const auto record = job_leftovers::child_record::open(dir.path);
  ASSERT_TRUE(record);
  std::istringstream before{dir.record()};
  long group = -1, owner = 0;
  unsigned long long owner_start = 0, leader_start = 1;
  before >> group >> owner >> owner_start >> leader_start;
  EXPECT_EQ(group, 0) << "no process yet";
  EXPECT_EQ(owner, me.pid);
  EXPECT_EQ(owner_start, me.start_time);

  boost::asio::io_context ioc;
  child_options options{TEST_CHILD_PATH, {"ignore-term"}, {}, "", {}};
  options.before_exec = &job_leftovers::child_record::write_in_child;
  options.before_exec_arg = record.get();
  auto child = child_process::spawn(ioc.get_executor(), options);
  ASSERT_TRUE(child.has_value());
  const long pid = (*child)->pid();
  const auto text = dir.record();
  EXPECT_EQ(text.size(), 96u) << text;
  std::istringstream after{text};
  after >> group >> owner >> owner_start >> leader_start;
  EXPECT_EQ(group, pid) << text;
  EXPECT_EQ(owner, me.pid) << text;
  EXPECT_EQ(owner_start, me.start_time) << text;
  const auto leader = process_identity::of(pid);
  ASSERT_TRUE(leader);
  EXPECT_EQ(leader_start, leader->start_time) << text;
  (*child)->terminate_group(std::chrono::milliseconds{0});
  EXPECT_NE(run(ioc, (*child)->async_wait()).signal, 0);
}

// A record the child never completed (its offloadd died first): no process to kill, the directory goes.
TEST(job_leftovers_test, a_record_without_a_group_has_its_directory_removed) {
  job_dir dir;
  dir.root.write("offload-job-test.owner", "0 2147480000 12345 0\n");  // an owner that is gone
  const auto swept = job_leftovers::sweep(dir.root.path().string());
  EXPECT_EQ(swept.directories, 1u);
  EXPECT_EQ(swept.process_groups, 0u);
  EXPECT_FALSE(std::filesystem::exists(dir.path));
  EXPECT_FALSE(std::filesystem::exists(dir.path + ".owner"));
}

// /proc/PID/stat's start time, with a command name that holds spaces and parentheses.
TEST(process_identity_test, parses_the_start_time_after_the_last_parenthesis) {
  const std::string stat =
      "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654321 1000 100 "
      "18446744073709551615";
  const auto id = process_identity::parse(42, stat);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->pid, 42);
  EXPECT_EQ(id->start_time, 987654321u);
  EXPECT_FALSE(process_identity::parse(42, "42 (a) Z 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0"));
  EXPECT_FALSE(process_identity::parse(42, "42 (a) S 1 2"));
  EXPECT_FALSE(process_identity::parse(42, "garbage"));
  EXPECT_EQ(process_identity::of(::getpid())->start_time, process_identity::self().start_time);
}

// A process that ends and is reaped between the open of its /proc/PID/stat and the read (reading then fails
// with ESRCH) is simply gone: no exception (an ifstream's filebuf threw there, and offloadd died at start).
TEST(process_identity_test, a_process_reaped_after_the_open_is_gone_not_an_error) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::pause();
    ::_exit(0);
  }
  const int fd = ::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const auto alive = process_identity::read(pid, fd);
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->start_time, process_identity::of(pid)->start_time);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_FALSE(process_identity::read(pid, fd));
  ::close(fd);
  EXPECT_FALSE(process_identity::of(pid));
}

}  // namespace
}  // namespace offload::core
