// After a start that recovered from an unclean stop (journal rolled back, a dead owner taken
// over: a "failover notice") or that, after a clean stop, runs on another physical host than
// last time (a planned move: a "switchover notice"), the oserv logs the notice and runs the
// instance's hook programs, <ETCDIR>/failover.d/* in name order, with OSERV_NOTICE set to
// failover or switchover, so administrators learn what to check or redo. Hooks are method
// threads: odstat shows them, a stop ends them.
#pragma once

#include "Database.h"
#include "DispatcherInfo.h"
#include "MethodThreads.h"
#include "OservLog.h"
#include "Programs.h"

namespace openoserv {

void failover_notice(db::Database& db, const DispatcherInfo& info, OservLog& log,
                     MethodThreads& threads, Programs& programs);

}  // namespace openoserv
