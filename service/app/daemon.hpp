// Wires the reactor, the job service and the HTTP listener together and runs until a signal drains it.
#pragma once

#include "app/options.hpp"

namespace offload::app {

/// Runs offloadd with `opts`; returns the process exit code (0 after a graceful drain).
int run_daemon(const options& opts);

}  // namespace offload::app
