// Factories of the built-in job types; each lives in its own file beside this one.
#pragma once

#include "core/job_type.hpp"

#include <cstdint>

namespace offload::core::handlers {

/// `echo`: result = input.
job_type echo_type();
/// `sum` `{"n"}`: exact sum of 0..n-1 by a real loop (a CPU benchmark), as a decimal string.
job_type sum_type();
/// `sha256` `{"data","rounds"}`: iterated SHA-256 with OpenSSL's EVP API.
job_type sha256_type();
/// `primes` `{"limit"}`: number of primes ≤ limit, by a segmented sieve.
job_type primes_type();
/// `sleep` `{"ms"}`: waits, waking early on cancellation.
job_type sleep_type();

/// The `cancelled` error a handler returns when it notices its stop token.
proto::error stopped_error();

/// Reports progress each time another tenth of `total` units is done (never at 0 % or 100 %).
class progress_reporter {
 public:
  progress_reporter(handler_context& ctx, std::uint64_t total) : ctx_(ctx), total_(total) {}

  /// Call with the units done so far; `note` is only built when a report is due.
  template <class Note>
  void update(std::uint64_t done, Note&& note) {
    if (total_ == 0 || done >= total_) return;
    const auto decile = static_cast<unsigned>(done * 10 / total_);
    if (decile <= reported_) return;
    reported_ = decile;
    ctx_.progress(static_cast<double>(done) / static_cast<double>(total_), note());
  }

 private:
  handler_context& ctx_;
  std::uint64_t total_;
  unsigned reported_ = 0;
};

}  // namespace offload::core::handlers
