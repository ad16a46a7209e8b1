// What command jobs leave behind if offloadd dies without a chance to clean up (`kill -9`, OOM kill, power
// cut): a process group that may still run (the direct child dies with offloadd, its descendants do not) and
// a working directory. Each command job has a record beside its directory under the work root; an offloadd
// that starts finds the records of instances that are gone, kills those groups and removes their files.
#pragma once

#include "core/process/process_identity.hpp"

#include <cstddef>
#include <memory>
#include <string>

namespace offload::core {

class job_leftovers {
 public:
  /// `<dir>.owner`: the job's process group (its leader's pid) and the leader's start time, and this
  /// offloadd's pid and start time (so that the record of a live offloadd sharing the work root is never
  /// taken for a leftover). The job's direct child writes it itself, as the `before_exec` hook of its
  /// `child_options`, once it leads its group and before it execs: no process of the job exists without a
  /// record, however soon offloadd dies.
  class child_record {
   public:
    /// Makes the file and writes what this offloadd knows (group 0: no process yet, so that a next offloadd
    /// removes the directory all the same); null when the file cannot be made.
    static std::unique_ptr<child_record> open(const std::string& dir);
    ~child_record();
    child_record(const child_record&) = delete;
    child_record& operator=(const child_record&) = delete;
    /// In the child (async-signal-safe): the whole record, with the child's pid and start time.
    static void write_in_child(const void* record) noexcept;

   private:
    child_record(int fd, process_identity owner) noexcept : fd_(fd), owner_(owner) {}
    int fd_;
    process_identity owner_;
  };

  /// Removes a job's directory and its record.
  static void remove(const std::string& dir);

  struct swept {
    std::size_t directories = 0;
    std::size_t process_groups = 0;
  };

  /// At start-up, before any job runs: under `work_root`, every record whose offloadd is gone has its
  /// process group killed and its directory and record removed. The group is killed when its leader is gone
  /// or is still the recorded one (it may be on its way out: the death signal it got with its offloadd is
  /// not acted on at once); a group whose leader started at another time is a later one that got the same
  /// id, and is left alone. Blocks: call before the reactor runs.
  static swept sweep(const std::string& work_root);
};

}  // namespace offload::core
