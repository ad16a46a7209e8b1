// Starts the real offloadd binary on an ephemeral port for a test, and stops it.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace offload::test {

class temp_dir;

/// A running `offloadd --listen 127.0.0.1:0 …` (with `--drain-seconds 0` and `--max-reactor-lag-ms 60000`
/// unless `args` set them). The destructor stops it as an operator would, with SIGTERM, and fails the test
/// when it then exits other than cleanly — a sanitizer that found something at exit (TSan exits 66 in CI,
/// ASan/UBSan 1), a crash, or no exit within 20 s — unless the test killed or signalled it itself.
class offloadd_process {
 public:
  /// Starts offloadd with `args` appended and waits (up to 20 s) for its `listening on` line.
  /// `env` entries (`NAME=value`) replace the inherited environment's OFFLOAD_* variables.
  /// Unless `args` choose a `--store` or a `--data-dir`, the default SQLite store lives in a private
  /// temporary directory removed with this object. With `stderr_file`, its log goes there (appended)
  /// instead of the test's stderr.
  explicit offloadd_process(std::vector<std::string> args = {}, std::vector<std::string> env = {},
                            const std::string& stderr_file = {});
  ~offloadd_process();
  offloadd_process(const offloadd_process&) = delete;
  offloadd_process& operator=(const offloadd_process&) = delete;

  unsigned short port() const noexcept { return port_; }
  int pid() const noexcept { return pid_; }

  /// Sends a signal (SIGTERM by default).
  void signal(int sig) const;
  /// Waits for exit up to `limit`; the exit code, or -signal when killed by one, or nothing on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds limit);

  /// The path of the offloadd binary under test.
  static std::string binary();
  /// Whether that binary is the plain build with glibc's allocator: not a sanitizer build (this test's own,
  /// or one `OFFLOAD_TEST_OFFLOADD` names), whose shadow memory and quarantines hold many times the memory.
  static bool plain();

  /// Runs offloadd with exactly `args` until it exits (at most `limit`); returns its exit code and stderr.
  /// For start-up failures such as a bad configuration. `env` (`NAME=value`) is added to the environment,
  /// which passes on no `OFFLOAD_*` variable of the test's own.
  static std::pair<int, std::string> run_to_exit(const std::vector<std::string>& args,
                                                 const std::vector<std::string>& env = {},
                                                 std::chrono::milliseconds limit = std::chrono::seconds{20});

 private:
  unsigned short read_listening_port() const;

  std::unique_ptr<temp_dir> data_;
  int pid_ = -1;
  int stdout_fd_ = -1;
  unsigned short port_ = 0;
  bool exited_ = false;
  // The test sent it a signal: how it ends is the test's business.
  mutable bool signalled_ = false;
};

}  // namespace offload::test
