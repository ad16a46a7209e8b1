// Runs one test coroutine on an io_context with a deadline: a hung server fails the test instead of hanging
// it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

namespace offload::test {

/// The coroutine's value; rethrows its exception; throws `std::runtime_error` after `timeout`.
template <class T>
T run_with_deadline(boost::asio::io_context& ioc, boost::asio::awaitable<T> op,
                    std::chrono::milliseconds timeout) {
  std::optional<T> value;
  std::exception_ptr error;
  boost::asio::co_spawn(ioc, std::move(op), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) value = std::move(v);
  });
  ioc.restart();
  ioc.run_for(timeout);
  if (error) std::rethrow_exception(error);
  if (!value) {
    ioc.stop();
    throw std::runtime_error("operation timed out");
  }
  return std::move(*value);
}

/// Like `run_with_deadline`, but returns as soon as the coroutine is done, while other work (a connection
/// that reconnects forever) stays pending on `ioc` for the next call.
template <class T>
T run_until_complete(boost::asio::io_context& ioc, boost::asio::awaitable<T> op,
                     std::chrono::milliseconds timeout) {
  std::optional<T> value;
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(ioc, std::move(op), [&](std::exception_ptr e, T v) {
    done = true;
    error = e;
    if (!e) value = std::move(v);
  });
  ioc.restart();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline || ioc.run_one_for(deadline - now) == 0) break;
  }
  if (error) std::rethrow_exception(error);
  if (!value) throw std::runtime_error("operation timed out");
  return std::move(*value);
}

/// `run_until_complete` for a coroutine without a value.
inline void run_until_complete(boost::asio::io_context& ioc, boost::asio::awaitable<void> op,
                               std::chrono::milliseconds timeout) {
  auto wrapped = [](boost::asio::awaitable<void> inner) -> boost::asio::awaitable<bool> {
    co_await std::move(inner);
    co_return true;
  };
  run_until_complete(ioc, wrapped(std::move(op)), timeout);
}

}  // namespace offload::test
