// offloadd: the first program built on offload::server, with the built-in types only.
#include <offload/server/server.hpp>

int main(int argc, char** argv) {
  const offload::server server;
  return server.main(argc, argv);
}
