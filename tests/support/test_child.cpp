// A misbehaving child for process-lane tests. The first argument picks the behaviour; when started as a
// worker (`PROGRAM worker`), the behaviour comes from the program's file name (tests make symlinks).
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace {

[[noreturn]] void hang() {
  for (;;)
    pause();
}

void write_all(const char* data, std::size_t n) {
  while (n > 0) {
    const auto w = write(STDOUT_FILENO, data, n);
    if (w <= 0) std::exit(1);
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Worker impostors: speak (or break) the worker protocol.
int fake_worker(const std::string& mode) {
  if (mode == "worker-exit-at-start") return 1;
  std::puts("{\"event\":\"ready\"}");
  std::fflush(stdout);
  char* line = nullptr;
  std::size_t cap = 0;
  while (getline(&line, &cap, stdin) > 0) {
    if (mode == "worker-garbage") {
      std::puts("this is not JSON");
    } else if (mode == "worker-oversize") {
      const std::string big(17 * 1024 * 1024, 'x');
      write_all(big.data(), big.size());
    } else if (mode == "worker-crash") {
      std::signal(SIGSEGV, SIG_DFL);
      std::raise(SIGSEGV);
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string{argv[1]} == "worker") {
    std::string name = argv[0];
    return fake_worker(name.substr(name.rfind('/') + 1));
  }
  const std::string mode = argc >= 2 ? argv[1] : "";
  if (mode == "exit") return std::atoi(argv[2]);
  if (mode == "crash") {
    std::signal(SIGSEGV, SIG_DFL);
    std::raise(SIGSEGV);
  }
  if (mode == "hang") hang();
  if (mode == "ignore-term") {
    std::signal(SIGTERM, SIG_IGN);
    std::puts("ignoring SIGTERM");
    std::fflush(stdout);
    hang();
  }
  if (mode == "outlive-parent") {
    // argv[2]: file that receives this process's pid. Drops the death signal offloadd set, so that it
    // outlives a killed offloadd the way a leader still on its way out does.
    prctl(PR_SET_PDEATHSIG, 0);
    if (FILE* f = std::fopen(argv[2], "w")) {
      std::fprintf(f, "%d\n", static_cast<int>(getpid()));
      std::fclose(f);
    }
    hang();
  }
  if (mode == "fork-grandchild") {
    // argv[2]: file that receives the grandchild's pid.
    const pid_t pid = fork();
    if (pid == 0) hang();
    if (FILE* f = std::fopen(argv[2], "w")) {
      std::fprintf(f, "%d\n", pid);
      std::fclose(f);
    }
    std::puts("forked");
    std::fflush(stdout);
    hang();
  }
  if (mode == "open-files") {
    // argv[2]: descriptors to try to open. Prints {"opened": N}, how many opens succeeded.
    const int wanted = std::atoi(argv[2]);
    int opened = 0;
    while (opened < wanted && open("/dev/null", O_RDONLY) >= 0)
      ++opened;
    std::printf("{\"opened\": %d}\n", opened);
    return 0;
  }
  if (mode == "await-file") {
    // Waits (up to a minute) for argv[2] to appear in its directory, then writes argv[3] bytes of output in
    // 100-byte lines. Woken by inotify; the check after adding the watch covers a file made before it.
    const std::string path = argv[2];
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    const int fd = inotify_init1(IN_CLOEXEC);
    if (fd < 0 || inotify_add_watch(fd, dir.c_str(), IN_CREATE | IN_MOVED_TO) < 0) return 5;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes{1};
    while (::access(path.c_str(), F_OK) != 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return 6;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) > 0) {
        char events[4096];
        if (::read(fd, events, sizeof events) < 0 && errno != EINTR) return 7;
      }
    }
    ::close(fd);
    const std::string line(99, 'b');
    for (long left = std::atol(argv[3]); left > 0; left -= 100) {
      write_all(line.data(), line.size());
      write_all("\n", 1);
    }
    return 0;
  }
  if (mode == "bytes") {
    // Bytes that are not UTF-8 on stdout, a line of text on stderr.
    write_all(
        "\xff\xfe\x00"
        "A",
        4);
    std::fputs("a warning\n", stderr);
    return 0;
  }
  if (mode == "forks") {
    // argv[2]: children to fork, each hanging. Prints {"forked": N}, how many forks succeeded, and exits
    // (the children stay, holding nothing: their stdout is closed).
    const int wanted = std::atoi(argv[2]);
    int forked = 0;
    for (int i = 0; i < wanted; ++i) {
      const pid_t pid = fork();
      if (pid == 0) {
        close(1);
        close(2);
        hang();
      }
      if (pid < 0) break;
      ++forked;
    }
    std::printf("{\"forked\": %d}\n", forked);
    return 0;
  }
  if (mode == "escape-and-exit" || mode == "escape-and-hang") {
    // argv[2]: file that receives the grandchild's pid. The grandchild leaves the process group (setsid)
    // and sleeps holding stdout and stderr; this child waits until it has left, prints a line and exits
    // (or hangs).
    int left[2];
    if (pipe(left) != 0) return 1;
    const pid_t pid = fork();
    if (pid == 0) {
      setsid();
      close(left[0]);
      (void)!write(left[1], "x", 1);
      close(left[1]);
      hang();
    }
    close(left[1]);
    char byte;
    (void)!read(left[0], &byte, 1);
    if (FILE* f = std::fopen(argv[2], "w")) {
      std::fprintf(f, "%d\n", pid);
      std::fclose(f);
    }
    std::puts("escaped");
    std::fflush(stdout);
    if (mode == "escape-and-hang") hang();
    return 0;
  }
  if (mode == "spin") {
    // Burns CPU until a limit stops it.
    std::atomic<unsigned long> n{0};
    for (;;)
      n.fetch_add(1, std::memory_order_relaxed);
  }
  if (mode == "flood") {
    // argv[2]: MiB to write.
    const std::string chunk(1024 * 1024, 'y');
    for (int i = 0; i < std::atoi(argv[2]); ++i)
      write_all(chunk.data(), chunk.size());
    return 0;
  }
  if (mode == "drip") {
    // argv[2]: MiB to write, in 16 KiB pieces; argv[3] (optional): microseconds between pieces, 4000 by
    // default (~4 MB/s). A steady producer that does not wait for its readers.
    const std::string chunk(16 * 1024, 'd');
    const useconds_t pause = argc > 3 ? static_cast<useconds_t>(std::atoi(argv[3])) : 4000;
    for (int i = 0; i < std::atoi(argv[2]) * 64; ++i) {
      write_all(chunk.data(), chunk.size());
      usleep(pause);
    }
    return 0;
  }
  if (mode == "append-and-sleep") {
    // argv[2]: a file to append one line to (this run's pid: each execution counts once), argv[3]: ms to
    // sleep afterwards.
    const int fd = ::open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return 3;
    const auto line = std::to_string(getpid()) + "\n";
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 4;
    ::close(fd);
    usleep(static_cast<useconds_t>(std::atoi(argv[3])) * 1000);
    return 0;
  }
  if (mode == "niceness") {
    errno = 0;
    std::printf("[%d]\n", getpriority(PRIO_PROCESS, 0));
    return 0;
  }
  if (mode == "ticks") {
    // argv[2] short lines, argv[3] microseconds apart: many small output events.
    const useconds_t pause = argc > 3 ? static_cast<useconds_t>(std::atoi(argv[3])) : 1000;
    for (int i = 0; i < std::atoi(argv[2]); ++i) {
      const std::string line = "tick " + std::to_string(i) + "\n";
      write_all(line.data(), line.size());
      usleep(pause);
    }
    return 0;
  }
  if (mode == "alloc") {
    std::vector<char*> blocks;
    for (std::size_t mib = 0;; mib += 16) {
      char* p = static_cast<char*>(std::malloc(16 << 20));
      if (!p) {
        std::fprintf(stderr, "allocation failed after %zu MiB\n", mib);
        return 3;
      }
      std::memset(p, 1, 16 << 20);
      blocks.push_back(p);
    }
  }
  if (mode == "echo") {
    char buf[65536];
    for (ssize_t n; (n = read(STDIN_FILENO, buf, sizeof buf)) > 0;)
      write_all(buf, static_cast<std::size_t>(n));
    return 0;
  }
  if (mode == "fds") {
    // Prints a JSON array of the descriptors it inherited (before opening anything itself).
    std::string out = "[";
    bool first = true;
    for (int fd = 0; fd < 4096; ++fd) {
      if (fcntl(fd, F_GETFD) == -1) continue;
      out += (first ? "" : ",") + std::to_string(fd);
      first = false;
    }
    out += "]";
    write_all(out.data(), out.size());
    return 0;
  }
  if (mode == "args" || mode == "env" || mode == "cwd") {
    // Prints a JSON array: the arguments after the mode, the environment, or the working directory.
    std::vector<std::string> items;
    if (mode == "args")
      for (int i = 2; i < argc; ++i)
        items.emplace_back(argv[i]);
    if (mode == "env")
      for (char** e = environ; *e; ++e)
        items.emplace_back(*e);
    if (mode == "cwd") {
      char buf[4096];
      items.emplace_back(getcwd(buf, sizeof buf) ? buf : "?");
    }
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i)
      out += (i ? "," : "") + json_string(items[i]);
    out += "]";
    write_all(out.data(), out.size());
    return 0;
  }
  if (mode == "stderr") {
    std::fputs("something went wrong\n", stderr);
    return 4;
  }
  std::fprintf(stderr, "unknown mode '%s'\n", mode.c_str());
  return 64;
}
