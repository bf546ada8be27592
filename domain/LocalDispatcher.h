// This dispatcher's domain, assembled: what it is, its database and log, and the components
// that serve the region, its objects and its open transactions. Built by the oserv's main once
// the database is open and the other dispatchers reachable; the servants hold a reference.
#pragma once

#include <chrono>

#include "Database.h"
#include "DispatcherInfo.h"
#include "MethodThreads.h"
#include "Objects.h"
#include "OservLog.h"
#include "Peers.h"
#include "Region.h"
#include "TransactionSessions.h"

namespace openoserv {

struct LocalDispatcher {
  LocalDispatcher(const DispatcherInfo& info, db::Database& db, OservLog& log, Peers& peers,
                  std::chrono::milliseconds method_timeout)
      : info(info),
        db(db),
        log(log),
        region(info, db, log, peers),
        objects(info, db, log, region, peers, threads, method_timeout),
        transactions(db) {}

  // Before the ORB stops: no more background calls, and method programs told to end so that
  // the calls running them return.
  void stop() {
    region.stop();
    threads.terminate_programs();
  }

  const DispatcherInfo& info;
  db::Database& db;
  OservLog& log;
  Region region;
  MethodThreads threads;  // before objects, which refers to it
  Objects objects;
  TransactionSessions transactions;
};

}  // namespace openoserv
