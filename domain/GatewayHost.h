// The gateways a managed node runs (seed 4.8: the gateway fails over with its node): each is a
// Gateway object (TMF_Gateway::Gateway) in this node's database, and a process
// (oserv-gateway, gateway/) this oserv starts, watches and stops.
//
// A gateway wanted running (its attribute "run" is 1: set by host_gateway and start_gateway,
// cleared by stop_gateway) is started when the oserv starts and restarted, after
// timeouts::kGatewayRestart, whenever its process exits. It runs as the oserv's user, with the
// node's certificate (DBDIR/ssl), state in DBDIR/gateway/<label>, and dies with the oserv
// (PR_SET_PDEATHSIG): a new oserv, here or on the node that takes the disk over, starts it
// again. While it runs it is a method thread "gateway" of its object, as odstat -c shows it.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "Database.h"
#include "DispatcherInfo.h"
#include "EndpointManager.h"
#include "MethodThreads.h"
#include "Objects.h"
#include "Oid.h"
#include "OservLog.h"
#include "Records.h"

namespace openoserv {

class GatewayHost {
 public:
  GatewayHost(const DispatcherInfo& self, db::Database& db, OservLog& log, Objects& objects,
              MethodThreads& threads)
      : self_(self), db_(db), log_(log), objects_(objects), threads_(threads) {}
  ~GatewayHost();
  GatewayHost(const GatewayHost&) = delete;
  GatewayHost& operator=(const GatewayHost&) = delete;

  // A new Gateway object here, reached by endpoints at this node's address and `port`, started
  // now. Returns its OID.
  std::string create(const std::string& label, std::uint16_t port);
  // start_gateway, stop_gateway, gateway_status of the object `gateway` (local).
  std::string start(const Oid& gateway);
  std::string stop(const Oid& gateway);
  std::string status(const Oid& gateway);

  // At the oserv's start: every gateway wanted running.
  void start_all();
  // At its stop: every gateway process stopped (its endpoints told where to go).
  void stop_all();

  // The directory of gateway `label`'s state (its endpoints' copy, method cache, log).
  std::string state_dir(const std::string& label) const;
  // The gateways running here, each with the service reference its process wrote when it
  // started (DIR/gateway.ior); those without one yet are left out.
  std::vector<GatewayRecord> running();
  // The TMR server moved (a standby was promoted): each running gateway is told to follow it
  // through `calls`; one that cannot be told is restarted (it starts with the new address).
  void follow_tmr(GatewayCalls& calls, const std::string& address, std::uint64_t epoch);

 private:
  struct Process;
  struct Config {
    std::string label;
    std::uint16_t port = 0;
    bool run = false;
  };
  Config config(const Oid& gateway);
  std::pair<std::string, std::string> tmr_and_epoch();
  static constexpr std::size_t kTmrArg = 8;  // argv: ..., "--tmr", <here>, ...
  void set_run(const Oid& gateway, bool run);
  void launch(const Oid& gateway, const Config& config);  // mu_ held
  void watch(Process& p);
  pid_t spawn(const Process& p);

  const DispatcherInfo& self_;
  db::Database& db_;
  OservLog& log_;
  Objects& objects_;
  MethodThreads& threads_;
  std::mutex mu_;  // guards running_ and each Process's pid/stopping/exited
  std::condition_variable changed_;
  std::map<std::string, std::shared_ptr<Process>> running_;  // by OID key
};

}  // namespace openoserv
