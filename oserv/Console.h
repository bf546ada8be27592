// The read-only web console (oserv --console ADDR:PORT, off by default; docs/OPERATIONS.md):
// what Tivoli's desktop showed, in a browser. Its pages are in oserv/ConsolePages.h.
//
// Who may look: HTTPS only, with the same authentication as remote clients. The browser shows
// an administrator's client certificate of the region (odadmin issue_cert), not revoked, and
// this dispatcher must allow remote client login; the principal needs `user` to see a page,
// and each part of a page needs the role of the operation that reads it (log_tail: admin), so
// the console shows nobody more than odadmin would. Only GET and HEAD; refusals go to the
// audit log (bursts of 200 at most, then 5 a second). The server's certificate is the dispatcher's own, issued
// by the region's CA: a browser that trusts ca.pem trusts the console.
//
// What it shows it asks for as any client would, through the ORB with this dispatcher's
// certificate: dispatcher N's status, odstat, tmstat and log from N itself, gateways and
// endpoints from the TMR server, liveness by ping. Every call is bounded (timeouts::
// kConsoleCall), so a dispatcher that hangs makes its own parts late, not the console.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "LogLimit.h"
#include "OrbTls.h"
#include "OservLog.h"
#include "WebServer.h"

namespace openoserv {

class Authorization;
class CorbaPeers;
namespace db {
class Database;
}

class Console {
 public:
  // What a run of the dispatcher lends the console (a promotion or a demotion ends the run and
  // starts another in the same process).
  struct Run {
    CorbaPeers& peers;
    Authorization& authorization;
    db::Database& db;
    std::uint32_t region;
  };

  // Listens on `address` ("IP:PORT") with the dispatcher's certificate for the process's life.
  // Throws std::runtime_error naming the address or the file that is wrong.
  Console(const std::string& address, const TlsFiles& files, OservLog& audit);
  const std::string& address() const { return server_->address(); }

  // The run to read (null between runs; waits for the pages being made from the last one).
  void attach(const Run* run);

 private:
  web::Response serve(const web::Request& request);
  web::Response page(const Run& run, const web::Request& request);
  void refused(const web::Request& request, const std::string& who, const std::string& why);

  OservLog& audit_;
  std::shared_mutex mu_;  // guards run_: pages share it, attach() has it alone
  const Run* run_ = nullptr;
  LogLimit refusals_;  // of the audit log's refusal lines (anyone may ask for pages)
  std::unique_ptr<web::Server> server_;  // last: serves only once the rest is made
};

// While alive (or until end()), `console` (if any) reads `run`. End it before the ORB stops.
class ConsoleAttachment {
 public:
  ConsoleAttachment(Console* console, const Console::Run& run) : console_(console), run_(run) {
    if (console_) console_->attach(&run_);
  }
  ~ConsoleAttachment() { end(); }
  void end() {
    if (console_) console_->attach(nullptr);
    console_ = nullptr;
  }
  ConsoleAttachment(const ConsoleAttachment&) = delete;
  ConsoleAttachment& operator=(const ConsoleAttachment&) = delete;

 private:
  Console* console_;
  Console::Run run_;
};

}  // namespace openoserv
