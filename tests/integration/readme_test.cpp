// The README's own examples, run as written: every JSON config block starts a real offloadd, every `curl`
// is sent to an offloadd started with the config block above it (the quick start's: docker/commands.json)
// and must answer what its `# …` comment shows, and the WebSocket snippet streams a real job's events.
// Only two things are rewritten: the documented port 8080 becomes the test server's, and the documented
// checkout path /opt/offload/ becomes this source tree.
#include "support/http_client.hpp"
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"
#include "support/proc_helpers.hpp"
#include "support/run_program.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

namespace offload::test {
namespace {

using nlohmann::json;

const std::string source_dir = OFFLOAD_SOURCE_DIR;
const std::string documented_url = "http://127.0.0.1:8080";
const std::string documented_ws = "ws://127.0.0.1:8080";

struct code_block {
  std::string lang;
  std::string text;
  int line = 0;  // of the opening fence, 1-based
};

std::vector<code_block> readme_blocks() {
  std::ifstream in{source_dir + "/README.md"};
  std::vector<code_block> blocks;
  std::string line;
  std::optional<code_block> open;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.starts_with("```")) {
      if (open) {
        blocks.push_back(std::move(*open));
        open.reset();
      } else {
        open = code_block{line.substr(3), {}, n};
      }
    } else if (open) {
      open->text += line + '\n';
    }
  }
  return blocks;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// A config block: a JSON object with "commands" or "workers".
bool is_config(const code_block& b) {
  if (b.lang != "json") return false;
  const auto j = json::parse(b.text, nullptr, false);
  return j.is_object() && (j.contains("commands") || j.contains("workers"));
}

// Single-quoted argument following `flag` in a shell command line, e.g. -d '{…}'.
std::optional<std::string> quoted_after(const std::string& command, const std::string& flag) {
  const auto at = command.find(flag + " '");
  if (at == std::string::npos) return std::nullopt;
  const auto start = at + flag.size() + 2;
  const auto end = command.find('\'', start);
  if (end == std::string::npos) return std::nullopt;
  return command.substr(start, end - start);
}

struct curl_example {
  int line = 0;
  std::string config;  // config file text the server runs with
  std::string method;
  std::string target;  // path and query
  std::string body;
  std::string expected;  // the comment's text: fragments separated by …
};

std::vector<curl_example> curl_examples() {
  std::ifstream quick{source_dir + "/docker/commands.json"};
  std::string config{std::istreambuf_iterator<char>{quick}, {}};
  std::vector<curl_example> found;
  for (const auto& block : readme_blocks()) {
    if (is_config(block)) config = replace_all(block.text, "/opt/offload/", source_dir + "/");
    if (block.lang != "sh") continue;
    std::istringstream lines{block.text};
    std::string line, command;
    std::optional<curl_example> pending;
    int n = block.line;
    while (std::getline(lines, line)) {
      ++n;
      if (!command.empty() || line.starts_with("curl ")) {
        command += line;
        if (command.ends_with("\\")) {
          command.pop_back();
          continue;
        }
        // `curl -s -X POST 'URL' -d 'BODY'` or `curl -s 'URL'` (a GET).
        const auto post = quoted_after(command, "curl -s -X POST");
        const auto url = post ? *post : quoted_after(command, "curl -s").value_or("");
        EXPECT_TRUE(url.starts_with(documented_url)) << "README line " << n << ": " << command;
        pending = curl_example{n,
                               config,
                               post ? "POST" : "GET",
                               url.substr(std::min(url.size(), documented_url.size())),
                               quoted_after(command, "-d").value_or(""),
                               ""};
        command.clear();
      } else if (pending && line.starts_with("# ")) {
        pending->expected = line.substr(2);
        found.push_back(std::move(*pending));
        pending.reset();
      }
    }
    EXPECT_FALSE(pending) << "README line " << pending->line << ": a curl without a '# …' answer under it";
  }
  return found;
}

// Each fragment of `expected` (split at "…") appears in `body`, in order.
void expect_fragments(const std::string& body, const std::string& expected, int line) {
  std::size_t from = 0, searched = 0;
  const std::string ellipsis = "…";
  while (from <= expected.size()) {
    auto end = expected.find(ellipsis, from);
    if (end == std::string::npos) end = expected.size();
    const auto fragment = expected.substr(from, end - from);
    if (!fragment.empty()) {
      const auto at = body.find(fragment, searched);
      ASSERT_NE(at, std::string::npos)
          << "README line " << line << ": '" << fragment << "' is not in " << body;
      searched = at + fragment.size();
    }
    from = end + ellipsis.size();
  }
}

TEST(readme_test, every_config_block_starts_offloadd_and_serves_its_types) {
  int configs = 0;
  for (const auto& block : readme_blocks()) {
    if (!is_config(block)) continue;
    ++configs;
    SCOPED_TRACE("README line " + std::to_string(block.line));
    temp_dir dir;
    const auto text = replace_all(block.text, "/opt/offload/", source_dir + "/");
    offloadd_process server{{"--config", dir.write("config.json", text), "--store", "memory"}};
    const auto types = http_get(server.port(), "/v1/types").json();
    const auto config = json::parse(text);
    std::vector<std::string> expected;
    // (Named copies: a range-for over items() of a temporary would outlive it.)
    const auto commands = config.value("commands", json::object());
    const auto workers = config.value("workers", json::object());
    for (const auto& entry : commands.items())
      expected.push_back(entry.key());
    for (const auto& pool : workers) {
      if (pool.at("types").is_array()) {
        for (const auto& t : pool.at("types"))
          expected.push_back(t.get<std::string>());
      } else {
        for (const auto& entry : pool.at("types").items())
          expected.push_back(entry.key());
      }
    }
    for (const auto& name : expected) {
      bool listed = false;
      for (const auto& t : types.at("types"))
        listed = listed || t.at("name") == name;
      EXPECT_TRUE(listed) << name << " is not in " << types.dump();
    }
  }
  EXPECT_GE(configs, 3) << "the README's config blocks were not found";
}

TEST(readme_test, every_curl_answers_what_its_comment_shows) {
  const auto examples = curl_examples();
  ASSERT_GE(examples.size(), 5u) << "the README's curl examples were not found";
  std::map<std::string, std::vector<const curl_example*>> by_config;
  for (const auto& e : examples)
    by_config[e.config].push_back(&e);
  for (const auto& [config, group] : by_config) {
    temp_dir dir;
    offloadd_process server{{"--config", dir.write("config.json", config), "--store", "memory"}};
    for (const auto* e : group) {
      const auto r = http_request(server.port(), e->method, e->target, e->body);
      EXPECT_LT(r.status, 300u) << "README line " << e->line << ": " << r.body;
      expect_fragments(r.body, e->expected, e->line);
    }
  }
}

TEST(readme_test, the_websocket_snippet_prints_a_jobs_events) {
  std::optional<code_block> snippet;
  for (auto& block : readme_blocks())
    if (block.lang == "js" && block.text.find("new WebSocket(") != std::string::npos) snippet = block;
  ASSERT_TRUE(snippet) << "the README's WebSocket snippet was not found";
  const std::string node = "/usr/bin/node";
  std::vector<std::string> argv{node};
  if (run_program({node, "-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)"}).exit_code != 0) {
    argv.push_back("--experimental-websocket");
    if (run_program(
            {node, "--experimental-websocket", "-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)"})
            .exit_code != 0)
      GTEST_SKIP() << "this Node.js has no WebSocket (Node 20 or later needed)";
  }
  offloadd_process server{{"--store", "memory"}};
  temp_dir dir;
  const auto script = dir.write("stream.mjs", replace_all(snippet->text, documented_ws,
                                                          "ws://127.0.0.1:" + std::to_string(server.port())));
  const auto job =
      http_post(server.port(), "/v1/jobs?wait=30", {{"type", "sum"}, {"input", {{"n", 1000000}}}});
  ASSERT_EQ(job.status, 200u) << job.body;
  const auto id = job.json().at("id").get<std::string>();
  argv.push_back(script);
  argv.push_back(id);
  const auto all = run_program(argv, {.limit = std::chrono::seconds{30}});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_TRUE(all.out.starts_with(R"({"lane":"thread","priority":5,"seq":1,)")) << all.out;
  EXPECT_NE(all.out.find(R"("type":"succeeded")"), std::string::npos) << all.out;
  EXPECT_TRUE(all.out.ends_with("closed 1000\n")) << all.out;
  // Resuming after an event prints only the later ones.
  argv.push_back("2");
  const auto rest = run_program(argv, {.limit = std::chrono::seconds{30}});
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_EQ(rest.out.find(R"("seq":2,)"), std::string::npos) << rest.out;
  EXPECT_NE(rest.out.find(R"("seq":3,)"), std::string::npos) << rest.out;
}

}  // namespace
}  // namespace offload::test
