// `offloadd worker`: the worker loop of offload::worker over the built-in types. It runs in a child process
// with its own process group and rlimits; a crash here only costs the job it was running.
#include "app/worker_main.hpp"

#include "core/type_registry.hpp"

#include <offload/worker/worker.hpp>

namespace offload::app {

int run_worker() {
  core::type_registry builtins;
  core::register_builtin_types(builtins);
  worker::registry types;
  for (const auto& [name, t] : builtins.all()) {
    if (!t.run) continue;
    types.add(worker::type{name, t.run, t.validate});
  }
  return worker::run(types);
}

}  // namespace offload::app
