// Method programs: the processes an oserv runs for installed methods, run_script, tasks and
// failover hooks. Each runs in its own process group with stdin from /dev/null and its output
// captured. A call ends when its program exits, even if a child it left behind keeps the output
// open; a program may run as another account (RunAs: setpriv(1) switches to it, so the oserv
// itself never forks a copy of its address space); a program that outlives its time limit, or
// runs when the oserv stops, is sent SIGTERM
// and, after a grace period, SIGKILL, with its whole process group. Running programs are
// recorded in a ledger directory, so that those a killed oserv left behind are ended at its
// next start (only on the same boot of the same host, and only the very processes recorded).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "MethodThreads.h"
#include "UniqueFd.h"

namespace openoserv {

// The account a program runs as, when it is not the oserv's own: a root oserv switches to it
// (user and group ids, and the user's supplementary groups) before the program starts.
struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;
  std::string home;

  // The account called `user` on this host; nullopt when programs need no switch (the user is
  // the oserv's own, or the oserv is not root and so cannot switch). Throws ProgramError when
  // there is no such user.
  static std::optional<RunAs> lookup(const std::string& user);
};

struct ProgramResult {
  int exit_code;
  std::string output;  // stdout and stderr, at most 1 MiB (then marked truncated), as valid UTF-8
};

// A program that could not be started, ran past its limit, or was stopped with the oserv. The
// message names the program and what happened to it.
struct ProgramError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Programs {
 public:
  // `ledger_dir` (created 0700 if missing) records running programs; `limit` is the longest a
  // program may run (--method-timeout); `grace` the wait between SIGTERM and SIGKILL.
  Programs(std::string ledger_dir, std::chrono::milliseconds limit,
           std::chrono::milliseconds grace);
  Programs(const Programs&) = delete;
  Programs& operator=(const Programs&) = delete;

  // Ends the programs a previous oserv of this database left running (TERM, then KILL after the
  // grace period) and clears the ledger. Returns one line per program found, for the log.
  std::vector<std::string> end_leftovers();

  // Runs `argv` (argv[0] the program) with `env` added to the oserv's environment, recording
  // its pid in `scope`, until it exits. Throws ProgramError when it cannot be started, ran past
  // the limit, or the oserv stopped meanwhile (it was ended then).
  // `limit`, when given, replaces the --method-timeout limit (policies run shorter).
  ProgramResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                    MethodThreads::Scope& scope, const std::optional<RunAs>& as = std::nullopt,
                    std::optional<std::chrono::milliseconds> limit = std::nullopt);

  // The oserv is stopping: every running program is sent SIGTERM now and SIGKILL after the
  // grace period (by the call that runs it); no program starts any more. Does not wait.
  void stop_all();

  std::chrono::milliseconds limit() const { return limit_; }

 private:
  class Run;

  // Starts argv in a new process group, its output into `output_end`; returns its pid.
  pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
              int output_end, const std::optional<RunAs>& as);
  void record(pid_t pid);
  void forget(pid_t pid);

  const std::string ledger_dir_;
  const std::chrono::milliseconds limit_;
  const std::chrono::milliseconds grace_;
  UniqueFd stop_event_;  // an eventfd, readable once stop_all() was called

  std::mutex mu_;  // guards stopping_, and makes a spawn and stop_all() exclusive
  bool stopping_ = false;
};

}  // namespace openoserv
