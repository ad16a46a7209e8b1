// The memory repository: a job_store behind the repository interface.
#include "core/store/memory_repository.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace offload::core {
namespace {

// Views made per turn of the reactor in a listing.
constexpr std::size_t list_slice = 256;

}  // namespace

boost::asio::awaitable<proto::result<recovered_jobs>> memory_repository::async_recover() {
  co_return recovered_jobs{};
}

std::shared_ptr<job> memory_repository::make(proto::job_spec spec, proto::lane lane, slot_pool pool) {
  return store_.create(std::move(spec), lane, pool);
}

boost::asio::awaitable<std::optional<proto::error>> memory_repository::async_add(std::shared_ptr<job>) {
  // `make` indexed it already: memory is as durable as it gets.
  co_return std::nullopt;
}

void memory_repository::finished(std::shared_ptr<job> j) {
  store_.mark_finished(*j);
  // Count-based retention runs at once; age-based retention in the sweeper.
  store_.evict(job::clock::now());
}

boost::asio::awaitable<std::shared_ptr<job>> memory_repository::async_find(std::string id) {
  co_return store_.find(id);
}

boost::asio::awaitable<std::shared_ptr<job>> memory_repository::async_find_by_key(std::string key) {
  co_return store_.find_by_idempotency_key(key);
}

boost::asio::awaitable<proto::result<proto::job_page>> memory_repository::async_list(job_filter filter) {
  const auto found = store_.list(filter);
  proto::job_page page;
  page.jobs.reserve(found.jobs.size());
  for (const auto& j : found.jobs) {
    // A page of 1,000 views is milliseconds of copying: other clients get a turn of the reactor between
    // slices. The jobs are held by `found`, so eviction meanwhile cannot pull them away.
    if (!page.jobs.empty() && page.jobs.size() % list_slice == 0)
      co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
    page.jobs.push_back(j->view(filter.with_results));
  }
  page.next = found.next;
  co_return page;
}

boost::asio::awaitable<void> memory_repository::async_flush() {
  co_return;
}

}  // namespace offload::core
