// offloadd: parse the configuration, then hand over to the daemon (or run as a process-lane worker).
#include "app/daemon.hpp"
#include "app/options.hpp"
#include "app/worker_main.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  // `offloadd worker`: a process-lane worker child speaking JSON lines on stdin/stdout.
  if (argc == 2 && std::string_view{argv[1]} == "worker") return offload::app::run_worker();
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  const auto parsed =
      offload::app::parse_options(args, [](std::string_view name) -> std::optional<std::string> {
        const char* value = std::getenv(std::string{name}.c_str());
        return value ? std::optional<std::string>{value} : std::nullopt;
      });
  if (parsed.help) {
    std::fputs(offload::app::usage().c_str(), stdout);
    return 0;
  }
  if (!parsed.error.empty()) {
    std::fprintf(stderr, "offloadd: %s\n", parsed.error.c_str());
    return 2;
  }
  return offload::app::run_daemon(parsed.opts);
}
