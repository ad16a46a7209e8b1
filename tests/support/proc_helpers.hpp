// Looking at processes through /proc: children of a pid, whether a pid is still alive, temp directories.
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace offload::test {

/// Direct children of `pid` (Linux /proc/PID/task/*/children).
inline std::vector<int> children_of(int pid) {
  std::vector<int> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream in{task.path() / "children"};
    for (int child; in >> child;)
      out.push_back(child);
  }
  return out;
}

/// The state letter of `pid` (R, S, Z, …), or '\0' when there is no such process.
inline char process_state(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  if (!std::getline(in, line)) return '\0';
  const auto close = line.rfind(')');
  return close + 2 < line.size() ? line[close + 2] : '\0';
}

/// Field `n` (from 1, as in proc(5)) of a `/proc/PID/stat` or `/proc/PID/task/TID/stat` file; throws if the
/// process is gone.
inline std::string stat_field(const std::filesystem::path& stat_file, int n) {
  std::ifstream in{stat_file};
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error("cannot read " + stat_file.string());
  // The command name (field 2) may hold spaces and parentheses: count from the last ')', the 3rd field on.
  std::istringstream fields{line.substr(line.rfind(')') + 2)};
  std::string field;
  for (int i = 3; i <= n; ++i)
    fields >> field;
  return field;
}

/// The niceness of a process or thread (field 19 of its stat file); throws if it is gone.
inline int niceness(const std::filesystem::path& stat_file) {
  return std::stoi(stat_field(stat_file, 19));
}
inline int niceness(int pid) {
  return niceness("/proc/" + std::to_string(pid) + "/stat");
}

/// The scheduling policy of a process or thread (field 41 of its stat file: SCHED_OTHER, SCHED_BATCH…).
inline int scheduling_policy(const std::filesystem::path& stat_file) {
  return std::stoi(stat_field(stat_file, 41));
}

/// When `pid` started (field 22 of /proc/PID/stat, clock ticks since boot); throws if it is gone.
inline unsigned long long start_time(int pid) {
  return std::stoull(stat_field("/proc/" + std::to_string(pid) + "/stat", 22));
}

/// All of a file (a log, say); empty when it cannot be read.
inline std::string file_text(const std::filesystem::path& path) {
  std::ifstream in{path, std::ios::binary};
  return std::string{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// argv of a process (`/proc/PID/cmdline`); empty when it is gone.
inline std::vector<std::string> command_line(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/cmdline"};
  std::vector<std::string> args;
  for (std::string arg; std::getline(in, arg, '\0');)
    args.push_back(arg);
  return args;
}

/// A memory figure of /proc/PID/status in bytes (`VmRSS`: resident now, `VmHWM`: the peak so far); 0 if
/// absent.
inline std::size_t status_bytes(int pid, const std::string& field) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(field + ":")) return std::stoull(line.substr(field.size() + 1)) * 1024;  // "… kB"
  return 0;
}

/// Gone, or a zombie: either way it no longer runs.
inline bool process_dead(int pid) {
  const char s = process_state(pid);
  return s == '\0' || s == 'Z' || s == 'X';
}

/// Polls `done` until it holds; throws after `limit`. A condition, not a sleep.
template <class Pred>
void wait_until(Pred done, const std::string& what,
                std::chrono::milliseconds limit = std::chrono::seconds{20}) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("timed out waiting for " + what);
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

/// The pid a child writes to `path`, once the file holds one (it exists before its content is written).
inline int wait_for_pid_file(const std::string& path) {
  int pid = 0;
  wait_until(
      [&] {
        std::ifstream in{path};
        return static_cast<bool>(in >> pid) && pid > 0;
      },
      "a pid in " + path);
  return pid;
}

/// A private temporary directory, removed with everything in it.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "offload-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  /// Writes `text` to a file in the directory and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream{path_ / name} << text;
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace offload::test
