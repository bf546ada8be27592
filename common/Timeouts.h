// Every timeout of a call between processes, named once. Calls between dispatchers are bounded
// so that a dispatcher that does not answer is reported (by number and host), never waited for
// without end; each value says what it bounds and why it is that long.
#pragma once

#include <chrono>

namespace openoserv::timeouts {

using std::chrono::milliseconds;

// TCP connect to another dispatcher: loopback and LAN connects take microseconds; a host that
// is down makes the connect hang until this passes.
inline constexpr milliseconds kConnect{3000};
// "Is it up?": the odlist's connected flag and wping. Short, since a healthy oserv answers a
// ping in well under a millisecond.
inline constexpr milliseconds kLiveness{1000};
// State pushed to a node (odlist, classes) and shutdown orders: small calls on a healthy node.
inline constexpr milliseconds kPush{3000};
// A managed node reporting to its TMR server at start: the start waits this long at most.
inline constexpr milliseconds kReportIn{5000};
// Administration forwarded to the TMR server (odlist edits, names, classes): each is one
// committed transaction there.
inline constexpr milliseconds kTmrCall{10000};
// A new standby asks the primary for a copy of its database: an online backup, which takes as
// long as the database is large.
inline constexpr milliseconds kCopyBegin{600000};
// A planned switchover: how long the standby may take to receive the primary's last commits.
inline constexpr milliseconds kSwitchoverCatchUp{30000};
// A method program told to end (SIGTERM: past --method-timeout, or the oserv stops) gets this
// long to clean up before its process group is killed (SIGKILL).
inline constexpr milliseconds kProgramGrace{5000};
// A gateway that did not answer is not called again (to be told an endpoint left it) for this
// long: it takes a fresh copy of its endpoints when it starts again anyway.
inline constexpr milliseconds kGatewaySilence{30000};
// A gateway process that exited is started again after this long (a crash loop costs little).
inline constexpr milliseconds kGatewayRestart{1000};
// A gateway's calls to the Endpoint Manager (a login assignment is one small transaction).
inline constexpr milliseconds kEndpointManagerCall{10000};
// The Endpoint Manager's policy programs (allow_install_policy, select_gateway_policy, ...).
inline constexpr milliseconds kPolicy{30000};
// An administrator's change told to a live endpoint (wep set interfaces), through its gateway.
inline constexpr milliseconds kEndpointTell{10000};
// What the web console asks a dispatcher for one page (its status, threads, transactions, log;
// the TMR server's gateways and endpoints): small reads. A page waits this long at most per
// call, and the browser's request itself is given 5 s more.
inline constexpr milliseconds kConsoleCall{2000};
// A client's wait for its own oserv (the --timeout default of every command, in seconds).
inline constexpr int kClientSeconds = 30;

}  // namespace openoserv::timeouts
