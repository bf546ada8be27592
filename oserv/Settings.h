// The oserv's command line: every option, its default and its check, in one place.
#pragma once

#include <string>

#include "Instance.h"
#include "ObjectAdapter.h"

namespace openoserv {

// Exit codes of the oserv (documented in --help and the README).
enum Exit : int {
  kOk = 0,
  kRuntime = 1,
  kConfig = 2,
  kAlreadyRunning = 3,
  kAddressUnavailable = 4,
};

// An expected start-up failure: the message for the operator and the exit code.
struct StartError {
  int code;
  std::string message;
};

struct Settings {
  InstanceFlags flags;
  bool foreground = false;
  bool force_bind = false;
  bool nosync = false;
  int bind_wait_interval = 20;
  int bind_timeout = 300;
  int stop_timeout = 10;
  int lock_timeout = 30;
  int journal_idle_ms = 100;
  int join_interval = 10;
  int method_timeout = 600;
  int idle_connection_timeout = 180;
  int transaction_lease = 600;
  std::string metrics;  // --metrics ADDR:PORT ("" off)
  std::string console;  // --console ADDR:PORT ("" off)
  ObjectAdapter::RemoteCalls remote_calls = ObjectAdapter::RemoteCalls::kRelay;
};

// Parses argv; prints --help / --version and exits; throws StartError{kConfig} on bad input.
Settings parse_command_line(int argc, char** argv);

}  // namespace openoserv
