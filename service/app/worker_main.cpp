// `offloadd worker`: the worker loop of offload::worker over the program's types. It runs in a child process
// with its own process group and rlimits; a crash here only costs the job it was running.
#include "app/worker_main.hpp"

#include "core/type_registry.hpp"

#include <offload/worker/worker.hpp>

namespace offload::app {

int run_worker(const core::type_registry& types) {
  worker::registry served;
  for (const auto& [name, t] : types.all()) {
    if (!t.run) continue;
    served.add(worker::type{name, t.run, t.validate});
  }
  return worker::run(served);
}

}  // namespace offload::app
