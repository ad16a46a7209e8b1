#include <offload/client/client.hpp>

#include <iostream>

int main(int argc, char** argv) {
  offload::client c{{.url = argc > 1 ? argv[1] : "http://127.0.0.1:8080"}};
  auto job = c.submit({.type = "sum", .input = {{"n", 1000000}}}).value();  // throws offload::client_error
  auto done = c.wait(job.id, std::chrono::seconds{30}).value();
  std::cout << to_string(done.state) << ' ' << done.result->dump()
            << '\n';  // succeeded {"sum":"499999500000"}
  return done.state == offload::job_state::succeeded ? 0 : 1;
}
