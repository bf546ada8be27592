// The dispatcher's region: the odlist and its edits, membership (nodes joining and reporting
// in), liveness of the other dispatchers, and region-wide orders (shutdown).
//
// The TMR server's odlist is authoritative: edits made at a managed node are sent to the TMR
// server, which applies each as one read-modify-write transaction (under the odlist lock, so no
// concurrent edit is lost) and then sends the whole odlist to every other dispatcher. Those
// pushes, and those of installed classes, are made by one sender thread, which always sends the
// committed state as it is when it sends, so a node never receives an older odlist or class
// record after a newer one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "Database.h"
#include "DispatcherInfo.h"
#include "Odlist.h"
#include "OservLog.h"
#include "Peers.h"

namespace openoserv {

class Region {
 public:
  Region(const DispatcherInfo& self, db::Database& db, OservLog& log, Peers& peers);
  ~Region();
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

  bool is_tmr() const { return self_.od == kTmrDispatcher; }
  const DispatcherInfo& self() const { return self_; }
  // "dispatcher N (host, ip:port)" for messages, or "dispatcher N" when it is not in the odlist.
  std::string describe(std::uint32_t od);

  struct Member {
    OdRecord record;
    bool connected = false;  // answers now (this dispatcher: always)
  };
  // The odlist, every other dispatcher pinged at once (each for at most timeouts::kLiveness).
  std::vector<Member> members();
  // Makes the edit at the TMR server (from a managed node: sends it there). Returns the
  // operator message.
  std::string edit(const OdlistEdit& edit);
  // The logical host of dispatcher `od` once it answered a ping (wping).
  std::string ping(std::uint32_t od);
  // The other dispatcher the odlist records at `ip`:`port` (0: none, or this one): a request
  // that arrived there was meant for it, not for this dispatcher.
  std::uint32_t dispatcher_at(const std::string& ip, std::uint16_t port);
  // Stops dispatcher `od` (0: every dispatcher, the others at once, this one last). The reply is
  // made before this dispatcher's own stop begins (see set_stop_self). `still_wanted` is asked
  // before this dispatcher stops: an order whose caller has given up waiting (and so was told it
  // failed) is not carried out later.
  std::string shutdown(std::uint32_t od, const std::function<bool()>& still_wanted);
  void set_stop_self(std::function<void()> stop) { stop_self_ = std::move(stop); }

  // TMR server: a new managed node gets the next dispatcher number and the odlist.
  struct Registration {
    std::uint32_t region = 0, od = 0;
    std::vector<OdRecord> odlist;
  };
  Registration register_node(const std::string& hostname, const std::string& ip,
                             std::uint16_t port, bool force_bind);
  // TMR server: a starting node reports in and gets the current odlist.
  std::vector<OdRecord> node_started(std::uint32_t od, const std::string& ip, std::uint16_t port);
  // Managed node: the TMR server sends its odlist.
  void odlist_update(const std::vector<OdRecord>& records);

  // Managed node: reports to the TMR server and takes its odlist. False if it did not answer.
  bool report_in(std::chrono::milliseconds timeout);
  // Managed node: keeps the link to the TMR server for the node's life. Every `interval`, a
  // node not joined reports in (and calls on_joined when that succeeds); a joined one pings its
  // TMR server, and one that does not answer turns the link to "retrying" (logged) until the
  // node has reported in again. TMR server: every `interval`, pings every node (see sweep_loop)
  // and sends the odlist again to those that missed it.
  void keep_link(std::chrono::seconds interval);
  void set_on_joined(std::function<void()> f) { on_joined_ = std::move(f); }
  // Managed node: called (by the link's thread) once an odlist from the TMR server moved
  // dispatcher 1 — a standby was promoted — with its new "ip:port"; the node has reported in
  // there already.
  void set_on_tmr_moved(std::function<void(const std::string&)> f) { on_tmr_moved_ = std::move(f); }
  // Managed node: how the link to the TMR server stands (for odadmin).
  std::string link_state();

  // TMR server: have the sender send the odlist, class `cls`, or every administrator, to every
  // other dispatcher.
  void push_odlist();
  void push_class(const std::string& cls);
  void push_administrators();
  // Stops the background threads (before the ORB shuts down).
  void stop();

 private:
  std::string apply_edit(const OdlistEdit& edit);
  void lost_link(const std::string& why);  // mu_ held
  void check_link();
  void rejoined();
  void send_loop();
  void sweep_loop(std::chrono::seconds interval);
  void send_odlist();
  void send_class(const std::string& cls);
  void send_administrators();

  const DispatcherInfo& self_;
  db::Database& db_;
  OservLog& log_;
  Peers& peers_;
  std::function<void()> stop_self_;
  std::function<void()> on_joined_;
  std::function<void(const std::string&)> on_tmr_moved_;

  std::mutex mu_;  // guards everything below
  std::string link_;
  bool joined_ = false;  // managed node: reported in, and the TMR server answered since
  std::string tmr_moved_to_;  // managed node: dispatcher 1 moved here; the link reports in now
  bool stopping_ = false;
  bool push_pending_ = false;
  bool admins_pending_ = false;
  std::set<std::string> classes_pending_;
  std::set<std::uint32_t> undelivered_;  // TMR server: nodes the last odlist did not reach
  std::condition_variable wake_;
  std::thread sender_;   // TMR server: sends the odlist
  std::thread joiner_;   // keep_link: a node's link to the TMR server, the TMR server's sweep

  // The other dispatchers' addresses, as of odlist generation addresses_generation_.
  std::mutex addresses_mu_;  // guards the two below
  std::uint64_t addresses_generation_ = ~std::uint64_t{0};
  std::map<std::pair<std::string, std::uint16_t>, std::uint32_t> addresses_;
};

}  // namespace openoserv
