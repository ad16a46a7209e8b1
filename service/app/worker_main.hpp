// `offloadd worker`: the child side of the process lane's warm worker protocol.
#pragma once

#include "core/type_registry.hpp"

namespace offload::app {

/// Reads job requests as JSON lines on stdin, runs each built-in handler, writes events as JSON lines on
/// stdout; exits 0 at end of input. Cancellation is by signal: the parent kills the process group.
/// `offloadd worker`: serves the types of `types` that have a handler, on stdin/stdout.
int run_worker(const core::type_registry& types);

}  // namespace offload::app
