// The `offload` commands.
#include "cli.hpp"

#include "event_printer.hpp"
#include "input_builder.hpp"
#include "interrupt_guard.hpp"

#include <offload/client/client.hpp>
#include <offload/proto/json_parse.hpp>
#include <offload/proto/timestamp.hpp>
#include <offload/proto/version.hpp>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <variant>
#include <vector>

namespace offload::cli {
namespace {

constexpr std::string_view usage_text = R"(usage: offload [--url URL] [--token TOKEN] [--json] COMMAND [ARGS]

Commands:
  submit TYPE [key=value | key:=JSON]... [options]
                         submit a job; prints its id (or follows it with --wait / --follow)
      --input JSON|@FILE|@-  the input object (fields given as key=value are merged over it)
      --lane thread|process  where to run it (default: the type's default lane)
      --priority N           0 (lowest) to 9 (highest), default 5
      --timeout MS           running time allowed
      --attempts N           runs allowed, the first included (1 to 100, default 1): failed, crashed,
                             timed-out and interrupted runs are retried with exponential back-off
      --backoff MS           base of the back-off between attempts (default 1000)
      --delay MS             do not run before MS milliseconds from now
      --at TIME              do not run before TIME (RFC 3339, e.g. 2026-12-01T08:00:00Z)
      --key KEY              idempotency key (default: a random one, so retries never duplicate)
      --wait [SECONDS]       wait (up to SECONDS, default 24 h; also --wait=S) and print the final job
      --follow               stream the job's events until it ends
      --cancel-on-interrupt  with --follow or watch: Ctrl-C cancels the job too (by default the
                             job goes on, and offload says how to follow or cancel it)
  status ID              print a job
  wait ID [--timeout-s S]  wait until the job ends (default up to 24 h) and print it
  watch ID [--after N]   stream a job's events (from after sequence number N) until it ends
  cancel ID              cancel a job
  list [--state S] [--type T] [--limit N] [--newest] [--after ID]
                         list jobs, oldest first (--newest: newest first, so the latest
                         failures are `offload list --newest --state failed`)
  types                  list the job types the server runs
  stats                  what the server is doing: pools, jobs, throughput, reactor lag
  health                 check that the server answers (exit 0) or not (exit 3)

Options:
  --url URL      server base URL (env OFFLOAD_URL, default http://127.0.0.1:8080)
  --token TOKEN  bearer token (env OFFLOAD_TOKEN)
  --json         machine-readable output: job views and events as JSON, one per line
  -h, --help     this text
  --version      the version of this offload

Input values: key=value gives numbers, true, false and null their JSON types and anything else a string;
key:=JSON takes raw JSON (key:='"42"' for the string "42", list:='[1,2]').

On a terminal, --follow and watch show a progress bar and write output chunks as they come; otherwise they
print one line per event ("SEQ TYPE DETAILS").

Exit codes:
  0  success (the job succeeded)        5  the job timed out
  1  the job failed                     6  the job was cancelled
  2  usage error                        7  the job crashed
  3  cannot reach the server            8  the job was still running when the wait ended
  4  the server refused the request (invalid input, unknown job, unauthorised, queue full…)
  130  interrupted (Ctrl-C) while following a job
)";

constexpr std::chrono::milliseconds default_wait = std::chrono::hours{24};

// Parsed command line: the command, its positional arguments and its options.
struct command_line {
  std::string command;
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> options;
  bool has(std::string_view name) const { return options.find(name) != options.end(); }
  std::optional<std::string> get(std::string_view name) const {
    const auto it = options.find(name);
    if (it == options.end()) return std::nullopt;
    return it->second;
  }
};

struct usage_error {
  std::string message;
};

enum class arity { none, required, optional_inline };

const std::map<std::string, arity, std::less<>>& known_options() {
  static const std::map<std::string, arity, std::less<>> options{
      {"--url", arity::required},
      {"--token", arity::required},
      {"--json", arity::none},
      {"--help", arity::none},
      {"-h", arity::none},
      {"--version", arity::none},
      {"--input", arity::required},
      {"--lane", arity::required},
      {"--priority", arity::required},
      {"--timeout", arity::required},
      {"--attempts", arity::required},
      {"--backoff", arity::required},
      {"--delay", arity::required},
      {"--at", arity::required},
      {"--key", arity::required},
      {"--wait", arity::optional_inline},
      {"--follow", arity::none},
      {"--newest", arity::none},
      {"--cancel-on-interrupt", arity::none},
      {"--after", arity::required},
      {"--state", arity::required},
      {"--type", arity::required},
      {"--limit", arity::required},
      {"--timeout-s", arity::required},
  };
  return options;
}

// Splits the arguments; options may come before or after the command. `--` ends option parsing.
std::variant<command_line, usage_error> parse(const std::vector<std::string>& args) {
  command_line line;
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!options_done && arg == "--") {
      options_done = true;
      continue;
    }
    if (!options_done && arg.size() > 1 && arg[0] == '-' && !(arg[1] >= '0' && arg[1] <= '9')) {
      const auto eq = arg.find('=');
      const auto name = arg.substr(0, eq);
      const auto known = known_options().find(name);
      if (known == known_options().end()) return usage_error{"unknown option " + name};
      if (known->second == arity::none) {
        if (eq != std::string::npos) return usage_error{name + " takes no value"};
        line.options[name] = "";
      } else if (eq != std::string::npos) {
        line.options[name] = arg.substr(eq + 1);
      } else if (known->second == arity::optional_inline) {
        // `--wait 30` as well as `--wait=30`: a following bare number is the value (an input field is
        // always `name=value`, so nothing else is taken).
        const bool number_follows = i + 1 < args.size() && !args[i + 1].empty() &&
                                    args[i + 1].find_first_not_of("0123456789.") == std::string::npos;
        line.options[name] = number_follows ? args[++i] : "";
      } else {
        if (i + 1 >= args.size()) return usage_error{name + " needs a value"};
        line.options[name] = args[++i];
      }
      continue;
    }
    if (line.command.empty())
      line.command = arg;
    else
      line.positional.push_back(arg);
  }
  return line;
}

template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Levenshtein distance (names are short: the quadratic table is fine).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const auto above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// A type's input in one cell of `offload types`: `data:string, rounds?:integer` (`?` marks an optional
// field, `…` that other fields are allowed too), `(any object)` or `(none)`.
std::string input_summary(const nlohmann::json& schema) {
  if (!schema.is_object()) return "(any)";
  const auto properties = schema.find("properties");
  const bool closed = schema.value("additionalProperties", nlohmann::json(true)) == false;
  if (properties == schema.end() || !properties->is_object() || properties->empty())
    return closed ? "(none)" : "(any object)";
  const auto required = schema.value("required", nlohmann::json::array());
  std::string text;
  for (const auto& [name, field] : properties->items()) {
    const bool needed = std::find(required.begin(), required.end(), name) != required.end();
    text += (text.empty() ? "" : ", ") + name + (needed ? "" : "?");
    if (field.is_object() && field.contains("type")) {
      const auto& type = field["type"];
      text += ":" + (type.is_string() ? type.get<std::string>() : type.dump());
    }
  }
  return closed ? text : text + ", …";
}

class runner {
 public:
  runner(const command_line& line, const environment& env, std::FILE* out, std::FILE* err)
      : line_(line), env_(env), out_(out), err_(err), json_(line.has("--json")) {}

  int run() {
    const auto& c = line_.command;
    if (c == "submit") return submit();
    if (c == "status")
      return with_id(
          [this](const std::string& id) { return show(client().get(id), exit_by::state_if_ended); });
    if (c == "wait") return with_id([this](const std::string& id) { return wait(id); });
    if (c == "watch") return with_id([this](const std::string& id) { return watch(id); });
    if (c == "cancel")
      return with_id([this](const std::string& id) { return show(client().cancel(id), exit_by::success); });
    if (c == "list") return list();
    if (c == "types") return types();
    if (c == "stats") return stats();
    if (c == "health") return health();
    return usage(c.empty() ? "no command given" : "unknown command '" + c + "'");
  }

 private:
  client_options options() const {
    client_options options;
    options.url = line_.get("--url").value_or(env_.url.empty() ? options.url : env_.url);
    options.token = line_.get("--token").value_or(env_.token);
    return options;
  }

  offload::client& client() {
    if (!client_) client_.emplace(options());
    return *client_;
  }

  int usage(const std::string& message) {
    std::fprintf(err_, "offload: %s\n(see offload --help)\n", message.c_str());
    return exit_usage;
  }

  template <class F>
  int with_id(F&& action) {
    if (line_.positional.size() != 1) return usage(line_.command + " takes exactly one job id");
    return action(line_.positional[0]);
  }

  // Prints a failed call and picks its exit code.
  int failed(const error& e) {
    const auto code = std::string{to_string(static_cast<errc>(e.code.value()))};
    if (json_) {
      const nlohmann::json body{{"error", {{"code", code}, {"message", e.message}}}};
      std::fprintf(out_, "%s\n", proto::dump_json(body).c_str());
    }
    std::fprintf(err_, "offload: %s: %s\n", code.c_str(), e.message.c_str());
    if (e.retry_after)
      std::fprintf(err_, "offload: the server asks to retry after %lld s\n",
                   static_cast<long long>(e.retry_after->count()));
    if (e.is(errc::wait_timeout)) return exit_still_running;
    if (e.is(errc::connect_failed) || e.is(errc::timeout) || e.is(errc::connection_lost) ||
        e.is(errc::reconnect_exhausted) || e.is(errc::bad_response) || e.is(errc::invalid_url))
      return e.is(errc::invalid_url) ? exit_usage : exit_connection;
    return exit_rejected;
  }

  static int state_exit(proto::job_state state) {
    switch (state) {
      case proto::job_state::succeeded:
        return exit_succeeded;
      case proto::job_state::failed:
        return exit_job_failed;
      case proto::job_state::timed_out:
        return exit_job_timed_out;
      case proto::job_state::cancelled:
        return exit_job_cancelled;
      case proto::job_state::crashed:
        return exit_job_crashed;
      default:
        return exit_still_running;
    }
  }

  void print_view(const proto::job_view& v) {
    if (json_) {
      nlohmann::json j;
      to_json(j, v);
      std::fprintf(out_, "%s\n", proto::dump_json(j).c_str());
      return;
    }
    const auto row = [this](const char* name, const std::string& value) {
      std::fprintf(out_, "%-9s %s\n", name, value.c_str());
    };
    row("id:", v.id);
    row("type:", v.type + " (" + std::string{to_string(v.lane)} + " lane, priority " +
                     std::to_string(v.priority) + ")");
    row("state:", std::string{to_string(v.state)});
    row("created:", v.created_at);
    if (v.started_at) row("started:", *v.started_at);
    if (v.finished_at) row("finished:", *v.finished_at);
    if (v.progress && !proto::is_terminal(v.state))
      row("progress:",
          std::to_string(static_cast<int>(v.progress->fraction * 100)) + "% " + v.progress->note);
    if (v.result) row("result:", proto::dump_json(*v.result));
    if (v.error)
      row("error:", error_text(proto::to_string(v.error->code), v.error->message, proto::to_string(v.state)));
  }

  // How a printed job view chooses the exit code.
  enum class exit_by {
    /// 0: the call itself was the point (cancel).
    success,
    /// The job's state once it has ended, else 0 (status).
    state_if_ended,
    /// The job's state, "still running" included (wait).
    state,
  };

  static int exit_code(const proto::job_view& v, exit_by rule) {
    switch (rule) {
      case exit_by::success:
        return exit_succeeded;
      case exit_by::state_if_ended:
        return proto::is_terminal(v.state) ? state_exit(v.state) : exit_succeeded;
      case exit_by::state:
        return state_exit(v.state);
    }
    return exit_succeeded;
  }

  // Prints a job view (or the failure) and returns the exit code `rule` picks.
  int show(const result<proto::job_view>& view, exit_by rule) {
    if (!view) return failed(view.error());
    print_view(*view);
    return exit_code(*view, rule);
  }

  std::optional<std::chrono::milliseconds> wait_option(const std::string& name, std::string& problem) {
    const auto text = line_.get(name);
    if (!text || text->empty()) return default_wait;
    const auto seconds = parse_number<double>(*text);
    if (!seconds || *seconds <= 0 || *seconds > 1e7) {
      problem = name + " must be a positive number of seconds";
      return std::nullopt;
    }
    return std::chrono::milliseconds{static_cast<long long>(*seconds * 1000)};
  }

  int wait(const std::string& id) {
    std::string problem;
    const auto timeout = wait_option("--timeout-s", problem);
    if (!timeout) return usage(problem);
    return wait(id, *timeout);
  }

  // Waits for the job's end and prints it; on a timeout prints where it stands.
  int wait(const std::string& id, std::chrono::milliseconds timeout) {
    auto done = client().wait(id, timeout);
    if (!done && done.error().is(errc::wait_timeout)) {
      // Still running: show where it stands.
      const auto now = client().get(id);
      if (now) print_view(*now);
      return failed(done.error());
    }
    return show(done, exit_by::state);
  }

  int watch(const std::string& id, std::uint64_t after = 0) {
    if (const auto text = line_.get("--after")) {
      const auto n = parse_number<std::uint64_t>(*text);
      if (!n) return usage("--after must be a sequence number");
      after = *n;
    }
    const auto mode = json_ ? output_mode::json : env_.terminal ? output_mode::terminal : output_mode::lines;
    event_printer printer(mode, out_, err_);
    interrupt_guard on_ctrl_c{[&] { interrupted(id, printer); }};
    auto ended = client().stream(
        id, [&printer](const proto::job_event& e) { printer.print(e); }, after);
    if (!ended) return failed(ended.error());
    const auto state = proto::job_state_from_string(to_string(ended->type));
    return state ? state_exit(*state) : exit_succeeded;
  }

  // Ctrl-C while following: the job is not the CLI's to end unless --cancel-on-interrupt says so; either
  // way the user learns what became of it and what to type next. (Runs on the guard's thread; the process
  // exits with 130 after it.)
  void interrupted(const std::string& id, event_printer& printer) {
    printer.stop();
    if (line_.has("--cancel-on-interrupt")) {
      offload::client canceller{options()};
      const auto cancelled = canceller.cancel(id);
      if (cancelled)
        std::fprintf(err_, "\noffload: interrupted; job %s cancelled\n", id.c_str());
      else
        std::fprintf(err_, "\noffload: interrupted; cancelling job %s failed: %s\n", id.c_str(),
                     cancelled.error().message.c_str());
      return;
    }
    std::fprintf(err_,
                 "\noffload: interrupted; job %s goes on (it was not cancelled)\n"
                 "  follow it again: offload watch %s --after %llu\n"
                 "  cancel it:       offload cancel %s\n",
                 id.c_str(), id.c_str(), static_cast<unsigned long long>(printer.last_seq()), id.c_str());
  }

  // `--input JSON|@FILE|@-`: the base object of the input, or a usage problem.
  std::optional<std::string> read_input_option(nlohmann::json& input) {
    const auto option = line_.get("--input");
    if (!option) return std::nullopt;
    auto text = *option;
    if (text == "@-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else if (text.starts_with('@')) {
      std::ifstream file(text.substr(1), std::ios::binary);
      if (!file) return "cannot read " + text.substr(1);
      text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    }
    auto parsed = proto::parse_json(text);
    if (!parsed || !parsed->is_object()) return "--input must be a JSON object";
    input = std::move(*parsed);
    return std::nullopt;
  }

  // The job spec the command line describes, or a usage problem. Parsing only: nothing is sent.
  std::optional<std::string> parse_spec(proto::job_spec& spec) {
    if (line_.positional.empty()) return "submit needs a job type";
    spec.type = line_.positional[0];
    if (auto problem = read_input_option(spec.input)) return problem;
    for (std::size_t i = 1; i < line_.positional.size(); ++i)
      if (auto problem = add_input_field(spec.input, line_.positional[i])) return problem;
    if (const auto lane = line_.get("--lane")) {
      spec.lane = proto::lane_from_string(*lane);
      if (!spec.lane) return "--lane must be thread or process";
    }
    if (const auto priority = line_.get("--priority")) {
      const auto n = parse_number<int>(*priority);
      if (!n || *n < proto::job_spec::min_priority || *n > proto::job_spec::max_priority)
        return "--priority must be an integer from 0 to 9";
      spec.priority = *n;
    }
    if (const auto timeout = line_.get("--timeout")) {
      const auto n = parse_number<std::uint64_t>(*timeout);
      if (!n || *n == 0) return "--timeout must be a positive number of milliseconds";
      spec.timeout_ms = *n;
    }
    if (const auto attempts = line_.get("--attempts")) {
      const auto n = parse_number<std::uint32_t>(*attempts);
      if (!n || *n < 1 || *n > proto::job_spec::max_max_attempts)
        return "--attempts must be an integer from 1 to 100";
      spec.max_attempts = *n;
    }
    if (const auto backoff = line_.get("--backoff")) {
      const auto n = parse_number<std::uint64_t>(*backoff);
      if (!n || *n < 1 || *n > proto::job_spec::max_retry_backoff_ms)
        return "--backoff must be a number of milliseconds from 1 to 3600000";
      spec.retry_backoff_ms = *n;
    }
    if (const auto delay = line_.get("--delay")) {
      const auto n = parse_number<std::uint64_t>(*delay);
      if (!n || *n > proto::job_spec::max_delay_ms)
        return "--delay must be a number of milliseconds up to 30 days";
      spec.delay_ms = *n;
    }
    if (const auto at = line_.get("--at")) {
      if (spec.delay_ms) return "--at and --delay exclude each other";
      spec.run_at = proto::parse_timestamp(*at);
      if (!spec.run_at) return "--at must be an RFC 3339 date-time such as 2026-12-01T08:00:00Z";
    }
    if (const auto key = line_.get("--key")) spec.idempotency_key = *key;
    if (line_.has("--wait") && line_.has("--follow")) return "--wait and --follow exclude each other";
    return std::nullopt;
  }

  int submit() {
    proto::job_spec spec;
    if (const auto problem = parse_spec(spec)) return usage(*problem);
    std::string problem;
    const auto wait_for = wait_option("--wait", problem);
    if (!wait_for) return usage(problem);
    const auto type = spec.type;
    auto sub = client().submit(std::move(spec));
    if (!sub) {
      const auto code = failed(sub.error());
      if (sub.error().is(errc::unknown_type)) suggest_type(type);
      return code;
    }
    const auto& id = sub->id;
    if (line_.has("--follow")) {
      if (!json_)
        std::fprintf(err_, "job %s %s\n", id.c_str(), sub->replayed ? "(existing, same key)" : "queued");
      return watch(id);
    }
    if (line_.has("--wait")) return wait(id, *wait_for);
    if (json_)
      print_view(*sub);
    else
      std::fprintf(out_, "%s\n", id.c_str());
    return exit_succeeded;
  }

  int list() {
    if (!line_.positional.empty()) return usage("list takes no arguments");
    list_filter filter;
    if (const auto state = line_.get("--state")) {
      filter.state = proto::job_state_from_string(*state);
      if (!filter.state)
        return usage(
            "--state must be one of queued, running, succeeded, failed, cancelled, timed_out, crashed");
    }
    filter.type = line_.get("--type");
    if (const auto limit = line_.get("--limit")) {
      const auto n = parse_number<std::size_t>(*limit);
      if (!n || *n < 1 || *n > 1000) return usage("--limit must be an integer from 1 to 1000");
      filter.limit = *n;
    }
    filter.after = line_.get("--after");
    filter.newest_first = line_.has("--newest");
    const auto page = client().list(filter);
    if (!page) return failed(page.error());
    if (json_) {
      std::fprintf(out_, "%s\n", proto::dump_json(nlohmann::json(*page)).c_str());
      return exit_succeeded;
    }
    std::fprintf(out_, "%-22s %-10s %-8s %-16s %s\n", "ID", "STATE", "LANE", "TYPE", "CREATED");
    for (const auto& v : page->jobs)
      std::fprintf(out_, "%-22s %-10s %-8s %-16s %s\n", v.id.c_str(), std::string{to_string(v.state)}.c_str(),
                   std::string{to_string(v.lane)}.c_str(), v.type.c_str(), v.created_at.c_str());
    if (page->next)
      std::fprintf(out_, "(more: offload list%s --after %s)\n", filter.newest_first ? " --newest" : "",
                   page->next->c_str());
    return exit_succeeded;
  }

  int types() {
    if (!line_.positional.empty()) return usage("types takes no arguments");
    const auto types = client().types();
    if (!types) return failed(types.error());
    if (json_) {
      std::fprintf(out_, "%s\n", proto::dump_json(nlohmann::json(proto::type_list{*types})).c_str());
      return exit_succeeded;
    }
    struct row {
      std::string name, lanes, input, description;
    };
    std::vector<row> rows{{"TYPE", "LANES", "INPUT", "DESCRIPTION"}};
    std::size_t name_width = 0, input_width = 0;
    for (const auto& t : *types) {
      row r{t.name, "", input_summary(t.input_schema), t.description};
      for (const auto l : t.lanes)
        r.lanes += (r.lanes.empty() ? "" : ",") + std::string{to_string(l)};
      rows.push_back(std::move(r));
    }
    for (const auto& r : rows) {
      name_width = std::max(name_width, r.name.size());
      input_width = std::max(input_width, r.input.size());
    }
    for (const auto& r : rows)
      std::fprintf(out_, "%-*s  %-14s  %-*s  %s\n", static_cast<int>(name_width), r.name.c_str(),
                   r.lanes.c_str(), static_cast<int>(std::min<std::size_t>(input_width, 40)), r.input.c_str(),
                   r.description.c_str());
    return exit_succeeded;
  }

  // `offload stats`: GET /v1/stats as a few lines (or the JSON with --json).
  int stats() {
    if (!line_.positional.empty()) return usage("stats takes no arguments");
    const auto stats = client().stats();
    if (!stats) return failed(stats.error());
    if (json_) {
      std::fprintf(out_, "%s\n", proto::dump_json(*stats).c_str());
      return exit_succeeded;
    }
    try {
      print_stats(*stats);
    } catch (const nlohmann::json::exception& e) {
      std::fprintf(err_, "offload: unexpected statistics from the server: %s\n", e.what());
      return exit_connection;
    }
    return exit_succeeded;
  }

  void print_stats(const nlohmann::json& s) {
    const auto& jobs = s.at("jobs");
    const auto n = [](const nlohmann::json& v) { return v.get<std::uint64_t>(); };
    std::fprintf(out_, "offloadd %s, up %.0f s, store %s%s\n", s.at("version").get<std::string>().c_str(),
                 s.at("uptime_seconds").get<double>(), s.at("store").get<std::string>().c_str(),
                 s.at("draining").get<bool>() ? ", draining" : "");
    std::fprintf(
        out_,
        "jobs: %llu queued (%llu delayed), %llu running, %llu submitted, %llu finished, %llu retained\n",
        static_cast<unsigned long long>(n(jobs.at("queued"))),
        static_cast<unsigned long long>(n(jobs.at("delayed"))),
        static_cast<unsigned long long>(n(jobs.at("running"))),
        static_cast<unsigned long long>(n(jobs.at("submitted"))),
        static_cast<unsigned long long>(n(jobs.at("finished"))),
        static_cast<unsigned long long>(n(jobs.at("retained"))));
    std::fprintf(out_, "%-12s %-9s %-8s %7s %7s %8s  %s\n", "POOL", "KIND", "LANE", "QUEUED", "RUNNING",
                 "CAPACITY", "WORKERS");
    for (const auto& p : s.at("pools")) {
      std::string workers = "-";
      if (const auto w = p.find("workers"); w != p.end()) {
        workers = std::to_string(n(w->at("busy"))) + " busy, " + std::to_string(n(w->at("idle"))) +
                  " idle, " + std::to_string(n(w->at("starts"))) + " started, " +
                  std::to_string(n(w->at("crashes"))) + " crashed" +
                  (w->at("healthy").get<bool>() ? "" : ", unhealthy: " + w->value("trouble", ""));
      }
      std::fprintf(out_, "%-12s %-9s %-8s %7llu %7llu %8llu  %s\n", p.at("name").get<std::string>().c_str(),
                   p.at("kind").get<std::string>().c_str(), p.at("lane").get<std::string>().c_str(),
                   static_cast<unsigned long long>(n(p.at("queued"))),
                   static_cast<unsigned long long>(n(p.at("running"))),
                   static_cast<unsigned long long>(n(p.at("capacity"))), workers.c_str());
    }
    // The last minute of the per-second series.
    std::string finished;
    for (const char* state : {"succeeded", "failed", "timed_out", "cancelled"}) {
      const auto& series = s.at("finished_per_second").at(state);
      std::uint64_t total = 0;
      const auto size = series.size();
      for (std::size_t i = size > 60 ? size - 60 : 0; i < size; ++i)
        total += n(series[i]);
      finished += (finished.empty() ? "" : ", ") + std::to_string(total) + " " + state;
    }
    std::fprintf(out_, "finished in the last minute: %s\n", finished.c_str());
    if (const auto c = s.find("store_commits"); c != s.end()) {
      const auto commits = n(c->at("commits"));
      std::fprintf(out_, "store commits: %llu", static_cast<unsigned long long>(commits));
      if (commits > 0)
        std::fprintf(out_, ", %.1f operations in %.2f ms each on average",
                     static_cast<double>(n(c->at("operations"))) / static_cast<double>(commits),
                     c->at("seconds").get<double>() * 1000.0 / static_cast<double>(commits));
      std::fprintf(out_, "; %llu pending, %llu failed\n",
                   static_cast<unsigned long long>(n(c->at("pending"))),
                   static_cast<unsigned long long>(n(c->at("failures"))));
    }
    const auto& lag = s.at("reactor").at("lag_ms");
    std::fprintf(out_, "reactor lag: p50 %.2f ms, p99 %.2f ms, max %.2f ms (last %llu samples)\n",
                 lag.at("p50").get<double>(), lag.at("p99").get<double>(), lag.at("max").get<double>(),
                 static_cast<unsigned long long>(n(lag.at("samples"))));
    const auto& connections = s.at("connections");
    std::fprintf(out_, "connections: %llu HTTP, %llu WebSocket",
                 static_cast<unsigned long long>(n(connections.at("http"))),
                 static_cast<unsigned long long>(n(connections.at("websocket"))));
    if (const auto p = s.find("process"); p != s.end())
      std::fprintf(out_, "; memory %.1f MiB, CPU %.1f s",
                   static_cast<double>(n(p->at("resident_bytes"))) / (1024.0 * 1024.0),
                   p->at("cpu_seconds").get<double>());
    std::fprintf(out_, "\n");
  }

  // After an unknown type: the closest name the server has ("did you mean primes?"), and where to look.
  void suggest_type(const std::string& wrong) {
    const auto types = client().types();
    if (!types) return;
    std::string best;
    std::size_t best_distance = std::string::npos;
    for (const auto& t : *types) {
      const auto d = edit_distance(wrong, t.name);
      if (d < best_distance) {
        best_distance = d;
        best = t.name;
      }
    }
    // Close enough to be a typo: at most a third of the name (and at least one edit) away.
    if (!best.empty() && best_distance <= std::max<std::size_t>(1, wrong.size() / 3))
      std::fprintf(err_, "offload: did you mean %s?\n", best.c_str());
    std::fprintf(err_, "offload: `offload types` lists the types this server runs\n");
  }

  int health() {
    if (!line_.positional.empty()) return usage("health takes no arguments");
    const auto ok = client().health();
    if (!ok) {
      const auto code = failed(ok.error());
      return code == exit_rejected ? exit_connection : code;
    }
    std::fprintf(out_, json_ ? "{\"status\":\"ok\"}\n" : "ok\n");
    return exit_succeeded;
  }

  const command_line& line_;
  const environment& env_;
  std::FILE* out_;
  std::FILE* err_;
  bool json_;
  std::optional<offload::client> client_;
};

}  // namespace

int run(const std::vector<std::string>& args, const environment& env, std::FILE* out, std::FILE* err) {
  auto parsed = parse(args);
  if (const auto* problem = std::get_if<usage_error>(&parsed)) {
    std::fprintf(err, "offload: %s\n(see offload --help)\n", problem->message.c_str());
    return exit_usage;
  }
  const auto& line = std::get<command_line>(parsed);
  if (line.has("--help") || line.has("-h") || line.command == "help") {
    std::fwrite(usage_text.data(), 1, usage_text.size(), out);
    return exit_succeeded;
  }
  if (line.has("--version")) {
    std::fprintf(out, "offload %.*s\n", static_cast<int>(proto::version().size()), proto::version().data());
    return exit_succeeded;
  }
  try {
    return runner(line, env, out, err).run();
  } catch (const client_error& e) {  // only an unusable --url gets here
    std::fprintf(err, "offload: %s\n", e.details().message.c_str());
    return exit_usage;
  }
}

}  // namespace offload::cli
