// The v1 handlers on a real io_context, without sockets: what a request costs the reactor.
#include "net/job_api.hpp"

#include "core/handlers/builtin_types.hpp"
#include "core/job_service.hpp"
#include "core/thread_lane.hpp"
#include "support/run_to_end.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

namespace offload::net {
namespace {

using nlohmann::json;

// Issue 15, item 2: a page of 1,000 jobs is serialised in slices, each a turn of the reactor, so that work
// posted while it is being built (other clients' requests, /healthz) runs before it is done, and the page is
// still exactly the one the API describes.
TEST(job_api_test, a_long_listing_gives_other_work_turns_of_the_reactor) {
  asio::io_context ioc{1};
  core::type_registry types;
  core::register_builtin_types(types);
  core::job_lanes lanes;
  lanes.thread = std::make_unique<core::thread_lane>(ioc.get_executor(), 1);
  core::job_service service{ioc.get_executor(), core::service_config{.threads = 1}, types, std::move(lanes)};
  job_api api{service};
  constexpr int jobs = 1000;
  for (int i = 0; i < jobs; ++i) {
    proto::job_spec spec;
    spec.type = "echo";
    spec.input = {{"i", i}};
    ASSERT_TRUE(test::run_to_end(ioc, service.async_submit(std::move(spec))).has_value());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (service.stats().finished < jobs && std::chrono::steady_clock::now() < deadline)
    ioc.run_one_for(std::chrono::milliseconds{10});
  ASSERT_EQ(service.stats().finished, static_cast<std::uint64_t>(jobs));

  const auto request = api_request::from_target("GET", "/v1/jobs?limit=1000", "");
  ASSERT_TRUE(request);
  std::optional<api_response> listed;
  bool other_work_ran_first = false;
  asio::co_spawn(
      ioc, [&]() -> asio::awaitable<void> { listed = co_await api.list(*request); }, asio::detached);
  // Queued behind the listing's start: it runs at the listing's first yield, or after it when there is none.
  asio::post(ioc, [&] { other_work_ran_first = !listed.has_value(); });
  while (!listed && std::chrono::steady_clock::now() < deadline)
    ioc.run_one_for(std::chrono::milliseconds{10});
  ASSERT_TRUE(listed);
  EXPECT_TRUE(other_work_ran_first) << "the listing held the reactor from start to end";

  ASSERT_EQ(listed->status, 200u);
  const auto page = json::parse(listed->body);
  ASSERT_EQ(page["jobs"].size(), static_cast<std::size_t>(jobs));
  EXPECT_TRUE(page["next"].is_null());
  for (int i = 0; i < jobs; ++i)
    ASSERT_EQ(page["jobs"][i]["state"], "succeeded") << i;
  EXPECT_FALSE(page["jobs"][0].contains("result")) << "summaries";
  service.join();
}

}  // namespace
}  // namespace offload::net
