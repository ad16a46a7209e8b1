// Shared by the rule reproducers: an object that counts its constructions and destructions, a runner that
// says whether a coroutine destroyed exactly what it made, and the verdict that becomes the exit code.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>

struct counted {
  static inline int made = 0;
  static inline int destroyed = 0;
  counted() { ++made; }
  counted(const counted&) { ++made; }
  counted(counted&&) noexcept { ++made; }
  counted& operator=(const counted&) = default;
  ~counted() { ++destroyed; }
};

/// Runs `coroutine()` to completion; true when every `counted` it made was destroyed exactly once.
template <class F>
bool balanced(F coroutine) {
  counted::made = counted::destroyed = 0;
  {
    boost::asio::io_context io;
    boost::asio::co_spawn(io, coroutine(), boost::asio::detached);
    io.run();
  }
  std::printf("made %d, destroyed %d\n", counted::made, counted::destroyed);
  return counted::made == counted::destroyed;
}

/// 0 while the compiler still miscompiles the rule's case and the rule's form is right; 1 when the
/// compiler no longer does (the rule can go); 2 when even the rule's form is wrong (the rule is not enough).
inline int verdict(int rule, bool defect_case_balanced, bool rule_form_balanced) {
  if (!rule_form_balanced) return 2;
  if (defect_case_balanced) {
    std::printf("this compiler no longer miscompiles rule %d's case: the rule can go\n", rule);
    return 1;
  }
  std::printf("rule %d still needed\n", rule);
  return 0;
}
