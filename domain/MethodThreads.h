// Method threads: every method this dispatcher runs or waits on, as odstat lists them, and the
// running of method programs (posix_spawn, output captured, process group killed at shutdown).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace openoserv {

class MethodThreads {
 public:
  struct Info {
    std::uint32_t id;
    std::string state;  // run, rwait
    std::string started;  // filled in by list()
    std::string oid;
    std::string method;
    pid_t pid = 0;
  };

  // Registers a method thread for its lifetime.
  class Scope {
   public:
    Scope(MethodThreads& threads, std::string oid, std::string method, std::string state);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    std::uint32_t id() const { return id_; }
    void set_pid(pid_t pid);

   private:
    MethodThreads& threads_;
    std::uint32_t id_;
  };

  std::vector<Info> list();
  // Threads that have run longer than `limit`, with their age in seconds.
  std::vector<std::pair<Info, long>> older_than(std::chrono::seconds limit);
  // SIGTERM to the process group of every running method program (at shutdown).
  void terminate_programs();

 private:
  struct Entry {
    Info info;
    std::chrono::system_clock::time_point started;  // formatted only when listed
  };
  std::mutex mu_;
  std::map<std::uint32_t, Entry> threads_;
  std::uint32_t next_id_ = 1000;  // Tivoli's thread ids are small numbers like 1073
};

struct ProgramResult {
  int exit_code;
  std::string output;  // stdout and stderr, at most 1 MiB (then marked truncated), as valid UTF-8
};

// Runs `argv` (argv[0] the program) with `env` added to the oserv's environment, stdin from
// /dev/null, in its own process group, recording its pid in `scope`. Throws std::runtime_error
// naming the program when it cannot be started.
ProgramResult run_program(const std::vector<std::string>& argv,
                          const std::vector<std::string>& env, MethodThreads::Scope& scope);

}  // namespace openoserv
