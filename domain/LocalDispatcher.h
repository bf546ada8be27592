// This dispatcher's domain, assembled: what it is, its database and log, and the components
// that serve the region, its objects and its open transactions. Built by the oserv's main once
// the database is open and the other dispatchers reachable; the servants hold a reference.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "Administrators.h"
#include "Certificates.h"
#include "Database.h"
#include "DispatcherInfo.h"
#include "Election.h"
#include "EndpointManager.h"
#include "GatewayHost.h"
#include "MethodThreads.h"
#include "Objects.h"
#include "OservLog.h"
#include "Peers.h"
#include "Programs.h"
#include "Region.h"
#include "Replication.h"
#include "Timeouts.h"
#include "TransactionSessions.h"

namespace openoserv {

struct LocalDispatcher {
  LocalDispatcher(const DispatcherInfo& info, db::Database& db, OservLog& log, Peers& peers,
                  std::chrono::milliseconds method_timeout, std::chrono::seconds lease)
      : info(info),
        db(db),
        log(log),
        peers(peers),
        region(info, db, log, peers),
        programs(info.instance.dbdir + "/programs", method_timeout, timeouts::kProgramGrace),
        objects(info, db, log, region, peers, threads, programs),
        transactions(db, log, lease),
        administrators(db, log, region, peers),
        certificates(db, log, administrators, info.instance.dbdir + "/ssl", info.region),
        endpoint_manager(info, db, log, objects, threads),
        gateway_host(info, db, log, objects, threads),
        replication(db, log),
        voter(db, log) {
    objects.set_endpoint_tier(&gateway_host, [this, method_timeout](const Oid& oid,
                                                                    const std::string& method,
                                                                    const std::vector<std::string>& args) {
      return endpoint_manager.downcall(oid, method, args,
                                       std::chrono::duration_cast<std::chrono::seconds>(method_timeout));
    }, [this, method_timeout](const Oid& oid, const std::string& method,
                              const std::vector<std::string>& args) {
      return endpoint_manager.downcall_here(
          gateway_host.running(), oid.text(), method, args,
          std::chrono::duration_cast<std::chrono::seconds>(method_timeout));
    });
  }

  // Before the ORB stops: no more background calls, and method programs told to end so that
  // the calls running them return (within the grace period of Programs).
  void stop() {
    replication.stop();
    if (follower) follower->stop();
    region.stop();
    gateway_host.stop_all();
    endpoint_manager.stop();
    programs.stop_all();
  }

  const DispatcherInfo& info;
  db::Database& db;
  OservLog& log;
  Peers& peers;
  Region region;
  MethodThreads threads;  // before objects, which refers to it
  Programs programs;      // likewise
  Objects objects;
  TransactionSessions transactions;
  Administrators administrators;
  Certificates certificates;
  EndpointManager endpoint_manager;  // at the TMR server
  GatewayHost gateway_host;          // the gateways this node runs
  ReplicationSource replication;     // at a primary TMR server with standbys
  Voter voter;                       // every member: its votes in automatic promotions
  ReplicaFollower* follower = nullptr;  // at a standby (its oserv owns it)
  AutoPromoter* auto_promoter = nullptr;  // likewise
  std::function<std::string(bool planned)> promote;  // at a standby: see serve_standby
  // At a primary: a planned switchover to the standby at (host, ip, port); see serve_once.
  std::function<std::uint64_t(const std::string&, const std::string&, std::uint16_t)> switchover;
  // At a demoted TMR server: becomes a standby again, of the primary at "ip:port" ("": the one
  // its odlist names).
  std::function<std::string(const std::string&)> rejoin;
  std::function<std::string()> step_down;  // at a primary: odadmin demote (see serve_once)
};

}  // namespace openoserv
