// `offloadd worker`: the child side of the process lane's warm worker protocol.
#pragma once

namespace offload::app {

/// Reads job requests as JSON lines on stdin, runs each built-in handler, writes events as JSON lines on
/// stdout; exits 0 at end of input. Cancellation is by signal: the parent kills the process group.
int run_worker();

}  // namespace offload::app
