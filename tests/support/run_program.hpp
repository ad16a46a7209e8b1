// Runs a program to completion with a deadline and captures what it prints (for CLI tests).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace offload::test {

struct program_result {
  /// The exit code, or -signal when a signal ended it.
  int exit_code = -1;
  std::string out;
  std::string err;
};

struct run_options {
  /// `NAME=value` entries added to the inherited environment (minus OFFLOAD_*).
  std::vector<std::string> env{};
  /// Connect stdout to a pseudo-terminal instead of a pipe (`isatty(1)` is then true).
  bool terminal = false;
  /// Written to the program's stdin, which is then closed.
  std::string input{};
  std::chrono::milliseconds limit{60'000};
  /// With `terminal`: the pseudo-terminal's width in columns (0: the system's default).
  unsigned short columns = 0;
  /// Done once each, in order, as soon as what the program printed (stdout or stderr) contains `seen`:
  /// send `signal` (if not 0) and/or resize the pseudo-terminal to `columns` (if not 0).
  struct trigger {
    std::string seen;
    int signal = 0;
    unsigned short columns = 0;
  };
  std::vector<trigger> triggers{};
};

/// Runs `argv` (argv[0] is the path). Throws `std::runtime_error` when it does not exit within the limit
/// (it is killed first).
program_result run_program(const std::vector<std::string>& argv, const run_options& options = {});

}  // namespace offload::test
