// Method threads: every method this dispatcher runs or waits on, as odstat lists them (the
// programs they run are in Programs.h).
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
    bool resident = false;  // runs as long as the oserv (a gateway, the Endpoint Manager)
  };

  // Registers a method thread for its lifetime.
  class Scope {
   public:
    // `resident`: a method that runs as long as the oserv does (Tivoli's static methods: the
    // Endpoint Manager, a gateway): listed, never counted as stuck (older_than).
    Scope(MethodThreads& threads, std::string oid, std::string method, std::string state,
          bool resident = false);
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

 private:
  struct Entry {
    Info info;
    std::chrono::system_clock::time_point started;  // formatted only when listed
  };
  std::mutex mu_;
  std::map<std::uint32_t, Entry> threads_;
  std::uint32_t next_id_ = 1000;  // Tivoli's thread ids are small numbers like 1073
};

}  // namespace openoserv
