// The HTTP API of a real offloadd: every endpoint, every error code, over real sockets.
#include "support/http_client.hpp"
#include "support/job_helpers.hpp"
#include "support/offloadd_process.hpp"

#include <gtest/gtest.h>

namespace offload::test {
namespace {

using nlohmann::json;

class api_test : public ::testing::Test {
 protected:
  offloadd_process server_{{"--threads", "2", "--max-body", "4096"}};
  unsigned short port() const { return server_.port(); }

  void expect_error(const http_response& r, unsigned status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    const auto body = json::parse(r.body);
    EXPECT_EQ(body.at("error").at("code"), code) << r.body;
    EXPECT_FALSE(body.at("error").at("message").get<std::string>().empty());
    EXPECT_EQ(r.header("content-type"), "application/json");
  }
};

TEST_F(api_test, healthz_and_readyz_answer) {
  const auto health = http_get(port(), "/healthz");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.json()["status"], "ok");
  EXPECT_EQ(health.json().size(), 2u) << "status and version only: " << health.body;
  EXPECT_EQ(health.header("content-type"), "application/json");
  const auto ready = http_get(port(), "/readyz");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_EQ(ready.json()["status"], "ready");
  EXPECT_FALSE(ready.json().contains("degraded")) << ready.body;
}

TEST_F(api_test, echo_with_wait_returns_final_view) {
  const json input{{"hello", "world"}, {"n", 3}};
  const auto r = http_post(port(), "/v1/jobs?wait=5", {{"type", "echo"}, {"input", input}});
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto view = r.json();
  EXPECT_EQ(view["state"], "succeeded");
  EXPECT_EQ(view["result"], input);
  EXPECT_EQ(view["lane"], "thread");
  EXPECT_EQ(view["priority"], 5);
  const auto id = view["id"].get<std::string>();
  EXPECT_EQ(view["links"]["self"], "/v1/jobs/" + id);
  EXPECT_EQ(view["links"]["events"], "/v1/jobs/" + id + "/events");
  EXPECT_EQ(r.header("location"), "/v1/jobs/" + id);
  EXPECT_TRUE(view.contains("created_at") && view.contains("started_at") && view.contains("finished_at"));
  // queued, started, succeeded
  EXPECT_EQ(view["last_seq"], 3);
}

TEST_F(api_test, submit_without_wait_answers_202_and_the_job_finishes) {
  const auto view = submit(port(), {{"type", "echo"}, {"input", {{"x", 1}}}});
  ASSERT_TRUE(view.contains("id"));
  EXPECT_TRUE(view["state"] == "queued" || view["state"] == "running" || view["state"] == "succeeded");
  const auto done = wait_for_job(port(), view["id"], is_terminal_view);
  EXPECT_EQ(done["state"], "succeeded");
  EXPECT_EQ(done["result"], json({{"x", 1}}));
}

TEST_F(api_test, builtin_types_compute_exact_results) {
  auto run = [&](const json& body) {
    const auto r = http_post(port(), "/v1/jobs?wait=60", body);
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.json();
  };
  EXPECT_EQ(run({{"type", "sum"}, {"input", {{"n", 1000000}}}})["result"]["sum"], "499999500000");
  EXPECT_EQ(run({{"type", "sum"}, {"input", {{"n", 0}}}})["result"]["sum"], "0");
  EXPECT_EQ(run({{"type", "sha256"}, {"input", {{"data", "abc"}}}})["result"]["hex"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(run({{"type", "primes"}, {"input", {{"limit", 100}}}})["result"]["count"], 25);
  EXPECT_EQ(run({{"type", "primes"}, {"input", {{"limit", 1000000}}}})["result"]["count"], 78498);
  EXPECT_EQ(run({{"type", "sleep"}, {"input", {{"ms", 20}}}})["result"]["slept_ms"], 20);
}

TEST_F(api_test, long_jobs_report_progress_events) {
  const auto view =
      http_post(port(), "/v1/jobs?wait=120", {{"type", "sum"}, {"input", {{"n", 200000000}}}}).json();
  ASSERT_EQ(view["state"], "succeeded");
  EXPECT_EQ(view["result"]["sum"], "19999999900000000");
  // queued + started + about nine progress reports + succeeded.
  EXPECT_GE(view["last_seq"].get<int>(), 8);
  EXPECT_EQ(view["progress"]["fraction"], 1.0);
}

TEST_F(api_test, wait_that_expires_answers_202_then_the_job_finishes) {
  const auto r = http_post(port(), "/v1/jobs?wait=0.1", {{"type", "sleep"}, {"input", {{"ms", 1500}}}});
  ASSERT_EQ(r.status, 202u) << r.body;
  const auto view = r.json();
  EXPECT_TRUE(view["state"] == "running" || view["state"] == "queued");
  const auto done = wait_for_job(port(), view["id"], is_terminal_view);
  EXPECT_EQ(done["state"], "succeeded");
  EXPECT_EQ(done["result"]["slept_ms"], 1500);
}

TEST_F(api_test, malformed_and_invalid_bodies_are_rejected_with_clear_codes) {
  expect_error(http_request(port(), "POST", "/v1/jobs", "{\"type\":"), 400, "invalid_json");
  expect_error(http_request(port(), "POST", "/v1/jobs", ""), 400, "invalid_json");
  expect_error(http_request(port(), "POST", "/v1/jobs", std::string(100, '[') + std::string(100, ']')), 400,
               "invalid_json");
  expect_error(http_request(port(), "POST", "/v1/jobs", "{\"type\":\"echo\",\"input\":{\"s\":\"\xff\xfe\"}}"),
               400, "invalid_json");
  expect_error(http_request(port(), "POST", "/v1/jobs", "[1,2]"), 400, "invalid_input");
  expect_error(http_post(port(), "/v1/jobs", {{"input", json::object()}}), 400, "invalid_input");
  expect_error(http_post(port(), "/v1/jobs", {{"type", 7}}), 400, "invalid_input");
  expect_error(http_post(port(), "/v1/jobs", {{"type", "echo"}, {"bogus", 1}}), 400, "invalid_input");
  expect_error(http_post(port(), "/v1/jobs", {{"type", "echo"}, {"priority", 10}}), 400, "invalid_input");
  expect_error(http_post(port(), "/v1/jobs", {{"type", "echo"}, {"timeout_ms", 0}}), 400, "invalid_input");
  expect_error(http_post(port(), "/v1/jobs", {{"type", "echo"}, {"input", "text"}}), 400, "invalid_input");
  expect_error(http_post(port(), "/v1/jobs", {{"type", "echo"}, {"lane", "gpu"}}), 400, "invalid_input");

  const auto bad_n = http_post(port(), "/v1/jobs", {{"type", "sum"}, {"input", {{"n", -1}}}});
  expect_error(bad_n, 400, "invalid_input");
  EXPECT_NE(bad_n.body.find("input.n"), std::string::npos) << "the message names the field";
  expect_error(http_post(port(), "/v1/jobs", {{"type", "sum"}, {"input", {{"n", 1e11}}}}), 400,
               "invalid_input");
  expect_error(http_post(port(), "/v1/jobs", {{"type", "sha256"}, {"input", {{"rounds", 2}}}}), 400,
               "invalid_input");
  expect_error(http_post(port(), "/v1/jobs", {{"type", "primes"}, {"input", {{"limit", 2000000000}}}}), 400,
               "invalid_input");
  expect_error(http_post(port(), "/v1/jobs", {{"type", "sleep"}, {"input", {{"ms", "soon"}}}}), 400,
               "invalid_input");
  expect_error(http_post(port(), "/v1/jobs", {{"type", "no-such-type"}}), 400, "unknown_type");
  // A misspelt field is named, with the fields that are accepted.
  const auto typo = http_post(port(), "/v1/jobs", {{"type", "sha256"}, {"input", {{"dta", "x"}}}});
  EXPECT_EQ(typo.json()["error"]["message"], "input.dta: unknown field (known: data, rounds)");
  expect_error(http_post(port(), "/v1/jobs?wait=0", {{"type", "echo"}}), 400, "invalid_input");
  expect_error(http_post(port(), "/v1/jobs?wait=301", {{"type", "echo"}}), 400, "invalid_input");
  expect_error(http_post(port(), "/v1/jobs?wait=abc", {{"type", "echo"}}), 400, "invalid_input");
  // After all of that the service is still healthy.
  EXPECT_EQ(http_get(port(), "/healthz").status, 200u);
}

TEST_F(api_test, unknown_routes_and_methods_are_told_apart) {
  expect_error(http_get(port(), "/v2/jobs"), 404, "not_found");
  expect_error(http_get(port(), "/v1/jobs/000000000001deadbeef"), 404, "not_found");
  expect_error(http_get(port(), "/v1/jobs/not-an-id"), 404, "not_found");
  expect_error(http_delete(port(), "/v1/jobs/000000000001deadbeef"), 404, "not_found");
  const auto r = http_request(port(), "PUT", "/v1/jobs");
  expect_error(r, 405, "method_not_allowed");
  EXPECT_EQ(r.header("allow"), "POST, GET");
  const auto r2 = http_request(port(), "POST", "/healthz");
  expect_error(r2, 405, "method_not_allowed");
  EXPECT_EQ(r2.header("allow"), "GET");
}

TEST_F(api_test, oversize_body_gets_413_and_service_stays_up) {
  const json big{{"type", "echo"}, {"input", {{"blob", std::string(8000, 'x')}}}};
  expect_error(http_post(port(), "/v1/jobs", big), 413, "payload_too_large");
  // With Expect: 100-continue the body is refused before it is sent.
  expect_error(http_request(port(), "POST", "/v1/jobs", big.dump(), {{"Expect", "100-continue"}}), 413,
               "payload_too_large");
  EXPECT_EQ(http_get(port(), "/healthz").status, 200u);
}

TEST_F(api_test, oversize_headers_get_431) {
  expect_error(http_request(port(), "GET", "/healthz", "", {{"X-Big", std::string(20000, 'h')}}), 431,
               "headers_too_large");
  EXPECT_EQ(http_get(port(), "/healthz").status, 200u);
}

TEST_F(api_test, garbage_http_gets_400_bad_request) {
  const auto reply = raw_exchange(port(), "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_NE(reply.find("400 Bad Request"), std::string::npos) << reply;
  EXPECT_NE(reply.find("bad_request"), std::string::npos) << reply;
  EXPECT_EQ(http_get(port(), "/healthz").status, 200u);
}

TEST_F(api_test, cancel_a_running_job_then_cancel_again_is_409) {
  const auto view = submit(port(), {{"type", "sleep"}, {"input", {{"ms", 600000}}}});
  const auto id = view["id"].get<std::string>();
  wait_for_job(port(), id, [](const json& v) { return is_state(v, "running"); });
  const auto r = http_delete(port(), "/v1/jobs/" + id);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json()["state"], "cancelled");
  EXPECT_EQ(r.json()["error"]["code"], "cancelled");
  expect_error(http_delete(port(), "/v1/jobs/" + id), 409, "already_finished");
  // The state is final: a GET later still says cancelled.
  EXPECT_EQ(http_get(port(), "/v1/jobs/" + id).json()["state"], "cancelled");
}

TEST_F(api_test, timeout_ms_ends_a_job_as_timed_out) {
  const auto r = http_post(port(), "/v1/jobs?wait=30",
                           {{"type", "sleep"}, {"input", {{"ms", 600000}}}, {"timeout_ms", 100}});
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json()["state"], "timed_out");
  EXPECT_EQ(r.json()["error"]["code"], "timed_out");
  // A cpu-bound handler is stopped too, and its late result is discarded.
  const auto cpu = http_post(port(), "/v1/jobs?wait=30",
                             {{"type", "sum"}, {"input", {{"n", 10000000000}}}, {"timeout_ms", 50}});
  ASSERT_EQ(cpu.status, 200u) << cpu.body;
  EXPECT_EQ(cpu.json()["state"], "timed_out");
  EXPECT_FALSE(cpu.json().contains("result"));
}

TEST_F(api_test, idempotency_key_returns_the_same_job_or_409) {
  const json body{{"type", "echo"}, {"input", {{"k", 1}}}, {"idempotency_key", "order-42"}};
  const auto first = http_post(port(), "/v1/jobs", body);
  ASSERT_EQ(first.status, 202u);
  const auto second = http_post(port(), "/v1/jobs", body);
  ASSERT_EQ(second.status, 202u);
  EXPECT_EQ(first.json()["id"], second.json()["id"]);
  EXPECT_EQ(second.header("idempotent-replayed"), "true");
  json other = body;
  other["input"]["k"] = 2;
  expect_error(http_post(port(), "/v1/jobs", other), 409, "idempotency_conflict");
  expect_error(http_post(port(), "/v1/jobs", {{"type", "echo"}, {"idempotency_key", ""}}), 400,
               "invalid_input");
}

TEST_F(api_test, list_filters_and_paginates) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(
        http_post(port(), "/v1/jobs?wait=10", {{"type", "echo"}, {"input", {{"i", i}}}}).json()["id"]);
  http_post(port(), "/v1/jobs?wait=10", {{"type", "sum"}, {"input", {{"n", 10}}}});

  auto page = http_get(port(), "/v1/jobs?type=echo&state=succeeded&limit=2").json();
  ASSERT_EQ(page["jobs"].size(), 2u);
  EXPECT_EQ(page["jobs"][0]["id"], ids[0]);
  EXPECT_EQ(page["jobs"][1]["id"], ids[1]);
  ASSERT_EQ(page["next"], ids[1]);
  page = http_get(port(), "/v1/jobs?type=echo&limit=2&after=" + ids[1]).json();
  ASSERT_EQ(page["jobs"].size(), 2u);
  EXPECT_EQ(page["jobs"][0]["id"], ids[2]);
  page = http_get(port(), "/v1/jobs?type=echo&limit=2&after=" + ids[3]).json();
  ASSERT_EQ(page["jobs"].size(), 1u);
  EXPECT_EQ(page["jobs"][0]["id"], ids[4]);
  EXPECT_TRUE(page["next"].is_null());

  EXPECT_EQ(http_get(port(), "/v1/jobs?type=sum").json()["jobs"].size(), 1u);
  EXPECT_EQ(http_get(port(), "/v1/jobs?state=running").json()["jobs"].size(), 0u);
  expect_error(http_get(port(), "/v1/jobs?state=sleeping"), 400, "invalid_input");
  expect_error(http_get(port(), "/v1/jobs?limit=0"), 400, "invalid_input");
  expect_error(http_get(port(), "/v1/jobs?limit=1001"), 400, "invalid_input");
  expect_error(http_get(port(), "/v1/jobs?after=xyz"), 400, "invalid_input");

  page = http_get(port(), "/v1/jobs?type=echo&order=newest&limit=2").json();
  ASSERT_EQ(page["jobs"].size(), 2u);
  EXPECT_EQ(page["jobs"][0]["id"], ids[4]);
  EXPECT_EQ(page["jobs"][1]["id"], ids[3]);
  ASSERT_EQ(page["next"], ids[3]);
  page = http_get(port(), "/v1/jobs?type=echo&order=newest&limit=10&after=" + ids[3]).json();
  ASSERT_EQ(page["jobs"].size(), 3u);
  EXPECT_EQ(page["jobs"][2]["id"], ids[0]);
  EXPECT_TRUE(page["next"].is_null());
  EXPECT_EQ(http_get(port(), "/v1/jobs?order=oldest&limit=1").json()["jobs"][0]["id"], ids[0]);
  expect_error(http_get(port(), "/v1/jobs?order=sideways"), 400, "invalid_input");

  // Summaries unless results are asked for.
  page = http_get(port(), "/v1/jobs?type=echo&limit=1").json();
  EXPECT_FALSE(page["jobs"][0].contains("result")) << page;
  EXPECT_EQ(page["jobs"][0]["state"], "succeeded");
  page = http_get(port(), "/v1/jobs?type=echo&limit=1&results=true").json();
  EXPECT_EQ(page["jobs"][0]["result"], json({{"i", 0}})) << page;
  expect_error(http_get(port(), "/v1/jobs?results=maybe"), 400, "invalid_input");
}

TEST_F(api_test, types_lists_builtins_with_lanes_and_schemas) {
  const auto body = http_get(port(), "/v1/types").json();
  std::set<std::string> names;
  for (const auto& t : body["types"]) {
    names.insert(t["name"]);
    EXPECT_EQ(t["lanes"], json::array({"thread", "process"})) << t.dump();
    EXPECT_EQ(t["input_schema"]["type"], "object");
    EXPECT_FALSE(t["description"].get<std::string>().empty());
  }
  EXPECT_EQ(names, (std::set<std::string>{"echo", "primes", "sha256", "sleep", "sum"}));
}

TEST_F(api_test, keep_alive_connection_serves_many_requests) {
  http_connection conn{port()};
  for (int i = 0; i < 20; ++i) {
    const auto r =
        conn.request("POST", "/v1/jobs?wait=5", json{{"type", "echo"}, {"input", {{"i", i}}}}.dump());
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.json()["result"]["i"], i);
  }
}

}  // namespace
}  // namespace offload::test
