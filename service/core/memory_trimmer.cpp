// The memory trimmer: calm checks on the reactor, the allocator calls on a helper thread.
#include "core/memory_trimmer.hpp"

#include "core/logger.hpp"
#include "core/process_stats.hpp"
#include "core/thread_name.hpp"

#include <offload/asio_support.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace offload::core {

memory_trimmer::memory_trimmer(asio::any_io_executor reactor, metrics_registry& metrics,
                               std::function<bool()> calm, settings s)
    : timer_(std::move(reactor)), metrics_(metrics), calm_(std::move(calm)), settings_(s) {
  metrics_.declare("offload_memory_trims_total",
                   "Times offloadd gave the heap memory freed after a burst back to the kernel: malloc_trim, "
                   "once no job was queued or submitted.",
                   metrics_registry::kind::counter);
  metrics_.declare("offload_memory_trimmed_bytes_total", "Resident memory those trims gave back.",
                   metrics_registry::kind::counter);
  metrics_.ensure("offload_memory_trims_total", {});
  metrics_.ensure("offload_memory_trimmed_bytes_total", {});
}

memory_trimmer::~memory_trimmer() {
  join();
}

void memory_trimmer::start() {
  if (settings_.min_free == 0) return;
  floor_ = process_stats::resident().value_or(0);
  asio::co_spawn(timer_.get_executor(), check(), log_coroutine_failure("memory trimmer"));
}

void memory_trimmer::stop() {
  stopped_ = true;
  timer_.cancel();
}

void memory_trimmer::join() {
  if (helper_) helper_->join();
}

memory_trimmer::look memory_trimmer::look_and_trim(std::uint64_t min_free) {
  look l;
  l.resident_before = l.resident_after = process_stats::resident().value_or(0);
#if defined(__GLIBC__)
  const auto began = std::chrono::steady_clock::now();
  l.heap_free = ::mallinfo2().fordblks;
  const auto measured = std::chrono::steady_clock::now();
  l.measuring = measured - began;
  if (l.heap_free < min_free) return l;
  ::malloc_trim(0);
  l.trimmed = true;
  l.trimming = std::chrono::steady_clock::now() - measured;
  l.resident_after = process_stats::resident().value_or(l.resident_before);
#else
  (void)min_free;
#endif
  return l;
}

asio::awaitable<void> memory_trimmer::check() {
  while (!stopped_) {
    timer_.expires_after(settings_.interval);
    auto [ec] = co_await timer_.async_wait(use_tuple);
    if (ec || stopped_) co_return;
    if (!calm_()) {
      calm_checks_ = 0;
      continue;
    }
    if (++calm_checks_ < 2 || looking_) continue;
    // One short procfs read; the look itself only when the service grew since the last one.
    const auto resident = process_stats::resident();
    if (!resident) continue;
    floor_ = std::min(floor_, *resident);
    if (*resident < floor_ + settings_.min_free) continue;
    looking_ = true;
    ++looks_;
    if (!helper_) {
      helper_.emplace(1);
      asio::post(*helper_, [] { name_this_thread("offload-trim"); });
    }
    asio::post(*helper_, [this, min_free = settings_.min_free, reactor = timer_.get_executor()] {
      const auto l = look_and_trim(min_free);
      asio::post(reactor, [this, l] { looked(l); });
    });
  }
}

void memory_trimmer::looked(const look& l) {
  looking_ = false;
  floor_ = l.resident_after;
  if (!l.trimmed) return;
  const auto freed = l.resident_before > l.resident_after ? l.resident_before - l.resident_after : 0;
  ++trims_;
  trimmed_bytes_ += freed;
  metrics_.add("offload_memory_trims_total", std::string{});
  metrics_.add("offload_memory_trimmed_bytes_total", std::string{}, static_cast<double>(freed));
  constexpr double mib = 1024.0 * 1024.0;
  log(log_level::info, "gave freed heap memory back to the system",
      {{"freed_mib", static_cast<double>(freed) / mib},
       {"resident_mib", static_cast<double>(l.resident_after) / mib},
       {"heap_free_mib", static_cast<double>(l.heap_free) / mib},
       {"measuring_ms", std::chrono::duration<double, std::milli>(l.measuring).count()},
       {"trimming_ms", std::chrono::duration<double, std::milli>(l.trimming).count()}});
}

}  // namespace offload::core
