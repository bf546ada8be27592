// Detaching from the terminal with a readiness handshake, and telling systemd we are ready.
//
// `oserv` without --foreground forks; the parent waits until the child reports ready (then exits
// 0) or dies (then exits with the child's status), so `oserv.rc start` and any init script get a
// true answer and see start-up errors on their terminal.
#pragma once

#include "UniqueFd.h"

namespace openoserv {

class Daemon {
 public:
  // Forks. Returns in the child only; the parent never returns.
  void detach();
  // In the child: report ready to the waiting parent and stop writing to its terminal.
  void ready();
  bool detached() const { return static_cast<bool>(fd_); }

 private:
  UniqueFd fd_;  // write end of the readiness pipe
};

// Sends `state` (e.g. "READY=1", "STOPPING=1") to $NOTIFY_SOCKET when set; no-op otherwise.
void sd_notify_state(const char* state);

}  // namespace openoserv
