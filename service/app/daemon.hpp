// Wires the reactor, the job service and the HTTP listener together and runs until a signal drains it.
#pragma once

#include "app/options.hpp"
#include "core/type_registry.hpp"

namespace offload::app {

/// Runs offloadd with `opts`; returns the process exit code (0 after a graceful drain).
/// Runs offloadd with `types` (the built-in ones and any the program added) until it is stopped; the exit
/// code.
int run_daemon(const options& opts, const core::type_registry& types);

}  // namespace offload::app
