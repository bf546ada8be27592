// The dispatcher's region: its odlist (the TMR server's is authoritative, a managed node keeps a
// copy), references to the other dispatchers, and a managed node's link to its TMR server.
//
// Calls to other dispatchers go over IIOP to the address the odlist records, with a bounded
// timeout; a dispatcher that does not answer is reported by number and host, never waited for.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "Database.h"
#include "OservLog.h"
#include "oserv.hh"

namespace openoserv {

// An operation's failure, as a sentence for the operator (CORBA OServ::Failed).
[[noreturn]] inline void fail(const std::string& reason) { throw OServ::Failed(reason.c_str()); }

class Region {
 public:
  Region(CORBA::ORB_ptr orb, db::Database& db, OservLog& log, std::uint32_t region,
         std::uint32_t od);
  ~Region();

  bool is_tmr() const { return od_ == 1; }
  std::uint32_t od() const { return od_; }

  // A reference to dispatcher `od` (calls on it time out after `timeout_ms`). Throws
  // OServ::Failed naming the od when it is not in the odlist.
  OServ::Dispatcher_ptr dispatcher(std::uint32_t od, unsigned timeout_ms = 10000);
  // Runs f(dispatcher od) with `timeout_ms`. A Failed from it passes through; any other CORBA
  // exception becomes Failed: `prefix` (a string, or a function making one only then) followed
  // by which dispatcher does not answer.
  template <typename Prefix, typename F>
  auto call(std::uint32_t od, unsigned timeout_ms, Prefix&& prefix, F&& f)
      -> decltype(f(OServ::Dispatcher_ptr())) {
    try {
      OServ::Dispatcher_var d = dispatcher(od, timeout_ms);
      return f(d.in());
    } catch (const OServ::Failed&) {
      throw;
    } catch (const CORBA::Exception& e) {
      if constexpr (std::is_invocable_v<Prefix>)
        fail(prefix() + unreachable(od, e));
      else
        fail(std::string(prefix) + unreachable(od, e));
    }
  }
  // "dispatcher N (host, ip:port)" for messages.
  std::string describe(std::uint32_t od);
  // A sentence for a call to `od` that failed with a CORBA system exception.
  std::string unreachable(std::uint32_t od, const CORBA::Exception& e);

  static OServ::OdEntries* to_wire(const std::vector<db::OdRecord>& records);
  static std::vector<db::OdRecord> from_wire(const OServ::OdEntries& entries);

  // TMR server: sends the odlist to every other dispatcher, in the background.
  void push_odlist();

  // Managed node: reports to the TMR server (waiting at most `timeout_ms`) and takes its
  // odlist. Returns false if the TMR server did not answer.
  bool report_in(const std::string& ip, std::uint16_t port, unsigned timeout_ms);
  // Managed node: keeps reporting in every `interval` seconds until it succeeds.
  void retry_report_in(const std::string& ip, std::uint16_t port, int interval);
  // Called (on the joining thread) each time this node reports in successfully.
  void set_on_joined(std::function<void()> f) { on_joined_ = std::move(f); }
  // Managed node: how the link to the TMR server stands (for odadmin).
  std::string link_state();

  // Stops background work (before the ORB shuts down).
  void stop();

 private:
  CORBA::ORB_ptr orb_;
  db::Database& db_;
  OservLog& log_;
  std::uint32_t region_, od_;
  std::mutex mu_;
  std::string link_;  // guarded by mu_
  bool stopping_ = false;
  std::condition_variable wake_;
  std::vector<std::thread> threads_;
  std::function<void()> on_joined_;
  // References by (od, timeout), reused while the odlist keeps the same address for the od:
  // making one from a corbaloc costs more than a loopback call.
  struct CachedRef {
    std::uint64_t generation = ~std::uint64_t{0};  // of the odlist it was made from
    std::string address;
    OServ::Dispatcher_var ref;
  };
  std::mutex refs_mu_;
  std::map<std::pair<std::uint32_t, unsigned>, CachedRef> refs_;
};

}  // namespace openoserv
