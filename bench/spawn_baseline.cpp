// Baseline for the `command` scenario: the floor of starting children on this machine — posix_spawn
// /bin/true and reap it, IN_FLIGHT at a time, for SECONDS. Prints {"children":N,"seconds":S,"per_second":R}.
//   offload_spawn_baseline [SECONDS] [IN_FLIGHT]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 5;
  const int in_flight = argc > 2 ? std::atoi(argv[2]) : 8;
  char program[] = "/bin/true";
  char* child_argv[] = {program, nullptr};
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  long children = 0;
  int running = 0;
  for (;;) {
    while (running < in_flight && std::chrono::steady_clock::now() < end) {
      pid_t pid = 0;
      if (posix_spawn(&pid, program, nullptr, nullptr, child_argv, environ) != 0) return 1;
      ++running;
    }
    if (running == 0) break;
    if (waitpid(-1, nullptr, 0) > 0) {
      --running;
      ++children;
    }
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"children\":%ld,\"seconds\":%.3f,\"per_second\":%.1f}\n", children, elapsed,
              static_cast<double>(children) / elapsed);
}
