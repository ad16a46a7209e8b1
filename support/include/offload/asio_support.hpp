// The one header of Asio/Beast namespace aliases and of the rules every coroutine in this project follows
// on Debian 12's g++ 12.2. Each rule names its evidence: a reproducer under tests/compiler/ that the test
// suite builds and runs (it fails the day the compiler is fixed, so the rule can go), or a GCC bug number.
// Every site shaped by a rule says `(rule N)`.
//
// Rule 1 — A full-expression that contains `co_await` brace-initialises no temporary whose type has a
//   non-trivial destructor (strings, vectors, JSON, std::function, structs holding any of them; a `{}`
//   argument for a std::string parameter counts). g++ 12 destroys such a temporary twice (an aggregate with
//   a std::string member: double free), and one holding an initializer_list does not compile at all
//   ("array used as initializer"). Trivial ones (`std::chrono::seconds{2}`, an endpoint) are harmless.
//   Name the value in a statement of its own, then `co_await` with the name:
//     auto spec = offload::job_spec{.type = "sum", .input = {{"n", 10}}};   // its own statement
//     auto sub = co_await client.async_submit(std::move(spec));
//   `co_return T{…}` and braces in statements without `co_await` are fine.
//   Evidence: tests/compiler/braced_temporary_in_co_await.cpp (runtime), init_list_in_co_await.cpp (build).
//
// Rule 2 — A full-expression that contains `co_await` creates no closure (lambda expression) either.
//   `co_await co_spawn(pool, [c]() -> awaitable<T> {…}, use_awaitable)` destroys the closure's captures
//   once more than it constructs them. Name the lambda first (`auto fn = […]…; co_await co_spawn(pool,
//   std::move(fn), …)`), or, simpler, spawn a plain coroutine function that takes its inputs by value.
//   Evidence: tests/compiler/closure_in_co_await.cpp.
//
// Rule 3 — Translation units whose coroutines GCC flags with -Wmismatched-new-delete turn that one
//   warning off (CMake: offload_no_mismatched_new_delete). It is a false positive on the templated
//   operator new / sized operator delete of Asio's awaitable frames: GCC bug 109224.
//
// Rules that earlier comments in this code base stated and that no reproducer confirmed were dropped:
// "co_await inside an if condition never resumes" was rule 1 (the condition held a braced temporary), and
// "braced initialiser lists anywhere inside a coroutine" is only true within a co_await full-expression.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace boost::beast {
namespace http {}
namespace websocket {}
}  // namespace boost::beast

namespace offload {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

/// Completion token for operations whose failure is an expected value: `auto [ec, n] = co_await
/// op(…, use_tuple);` Routine endings (closed, eof, timeout, cancelled) are control flow, not exceptions.
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace offload
