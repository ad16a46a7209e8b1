// Unit tests drive a real io_context by hand: run one coroutine to its end, or turns until a condition holds.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

namespace offload::test {

/// One turn of `ioc` (at most 10 ms of waiting). An io_context that ran out of work stops; it is restarted,
/// since the next piece of work may come from another thread.
inline void turn(boost::asio::io_context& ioc) {
  if (ioc.stopped()) ioc.restart();
  ioc.run_one_for(std::chrono::milliseconds{10});
}

/// Turns `ioc` until `done()` holds; throws after `limit` (a test never hangs).
template <class Pred>
void turn_until(boost::asio::io_context& ioc, Pred done, const std::string& what,
                std::chrono::milliseconds limit = std::chrono::seconds{20}) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error{"timed out waiting for " + what};
    turn(ioc);
  }
}

/// Runs `op` on `ioc` to its end and returns its value (rethrowing what it throws).
template <class T>
T run_to_end(boost::asio::io_context& ioc, boost::asio::awaitable<T> op) {
  std::optional<T> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(ioc, std::move(op), [&out, &failure](std::exception_ptr e, T value) {
    failure = e;
    if (!e) out = std::move(value);
  });
  turn_until(
      ioc, [&] { return out.has_value() || failure; }, "a coroutine to finish");
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

/// The same for a coroutine without a value.
inline void run_to_end(boost::asio::io_context& ioc, boost::asio::awaitable<void> op) {
  bool done = false;
  std::exception_ptr failure;
  boost::asio::co_spawn(ioc, std::move(op), [&done, &failure](std::exception_ptr e) {
    failure = e;
    done = true;
  });
  turn_until(
      ioc, [&] { return done; }, "a coroutine to finish");
  if (failure) std::rethrow_exception(failure);
}

}  // namespace offload::test
