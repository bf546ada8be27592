// Probing the listening address before omniORB binds it.
//
// omniORB binds its endpoints when the RootPOA is created and treats a failure as fatal, with a
// message that cannot tell a taken port from a missing address. So the oserv probes first: a
// taken port is waited for (`port N: In use. Waiting...`, as Tivoli did) up to a deadline; an
// address that is not on this host fails at once with a message that says so.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace openoserv {

enum class BindProbe { kFree, kInUse, kAddressNotLocal, kDenied, kOtherError };

// Tries bind(ip, port) with SO_REUSEADDR (as omniORB does) and closes the socket again.
// An empty `ip` means all addresses.
BindProbe probe_bind(const std::string& ip, std::uint16_t port, int* error = nullptr);

struct PortWaitResult {
  BindProbe outcome;
  int waited_seconds;
  bool stopped = false;  // `pause` said stop: the wait was given up
};

// Probes until the port is free, `timeout` passes, or a non-retryable error. `on_wait` is called
// before each wait (the caller logs "port N: In use. Waiting..."); `pause(d)` waits up to d (at
// most `interval`) and returns false when the wait must end now (a stop was asked for).
PortWaitResult wait_for_port(const std::string& ip, std::uint16_t port,
                             std::chrono::milliseconds interval, std::chrono::milliseconds timeout,
                             const std::function<void()>& on_wait,
                             const std::function<bool(std::chrono::milliseconds)>& pause);

}  // namespace openoserv
