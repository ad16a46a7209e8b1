// offload: submit and follow jobs of an offloadd server from the command line.
#include "cli.hpp"

#include <cstdlib>
#include <unistd.h>

int main(int argc, char** argv) {
  offload::cli::environment env;
  if (const char* url = std::getenv("OFFLOAD_URL")) env.url = url;
  if (const char* token = std::getenv("OFFLOAD_TOKEN")) env.token = token;
  env.terminal = ::isatty(STDOUT_FILENO) == 1;
  return offload::cli::run({argv + 1, argv + argc}, env, stdout, stderr);
}
