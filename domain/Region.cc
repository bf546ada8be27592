// Region membership, the odlist and calls across the region.
#include "Region.h"

#include <algorithm>
#include <future>

#include <utility>

#include <fmt/core.h>

#include "Failure.h"
#include "Timeouts.h"

namespace openoserv {

Region::Region(const DispatcherInfo& self, db::Database& db, OservLog& log, Peers& peers)
    : self_(self), db_(db), log_(log), peers_(peers) {
  link_ = is_tmr() ? "this is the TMR server" : "not yet reported to the TMR server";
  if (is_tmr()) sender_ = std::thread([this] { send_loop(); });
}

Region::~Region() { stop(); }

void Region::stop() {
  {
    std::lock_guard guard(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sender_.joinable()) sender_.join();
  if (joiner_.joinable()) joiner_.join();
}

std::string Region::describe(std::uint32_t od) {
  auto rec = odlist::find(db_, od);
  return rec ? odlist::describe(*rec) : fmt::format("dispatcher {}", od);
}

std::vector<Region::Member> Region::members() {
  std::vector<Member> out;
  std::vector<std::future<bool>> answers;
  for (auto& r : odlist::load(db_)) {
    if (r.od == self_.od) {
      answers.push_back(std::async(std::launch::deferred, [] { return true; }));
    } else {
      answers.push_back(std::async(std::launch::async, [this, od = r.od] {
        try {
          peers_.ping(od, timeouts::kLiveness);
          return true;
        } catch (const Failure&) {
          return false;
        }
      }));
    }
    out.push_back({std::move(r), false});
  }
  for (size_t i = 0; i < out.size(); ++i) out[i].connected = answers[i].get();
  return out;
}

std::string Region::edit(const OdlistEdit& e) {
  odlist::validate(e);
  if (is_tmr()) return apply_edit(e);
  try {
    return peers_.edit_odlist(e);
  } catch (const Unreachable& u) {
    fail(fmt::format("{} is made at the TMR server, and {}", odlist::edit_name(e.kind), u.what()));
  }
}

std::string Region::apply_edit(const OdlistEdit& e) {
  const std::string message = odlist::apply_edit(db_, e, self_.region);
  log_.line(fmt::format("{}: {}", odlist::edit_name(e.kind), message));
  if (e.kind != OdlistEdit::Kind::kChangeIp || e.flag) push_odlist();
  return message;
}

std::string Region::ping(std::uint32_t od) {
  if (od == self_.od) return self_.instance.logical_host;
  peers_.ping(od, timeouts::kLiveness);
  auto rec = odlist::find(db_, od);
  return rec ? rec->label() : std::string();
}

std::uint32_t Region::dispatcher_at(const std::string& ip, std::uint16_t port) {
  const std::uint64_t generation = db_.generation(db::Table::kOdlist);
  std::lock_guard guard(addresses_mu_);
  if (generation != addresses_generation_) {
    addresses_.clear();
    for (const auto& r : odlist::load(db_))
      if (r.od != self_.od) addresses_[{r.ip, r.port}] = r.od;
    addresses_generation_ = generation;
  }
  const auto it = addresses_.find({ip, port});
  return it == addresses_.end() ? 0 : it->second;
}

std::string Region::shutdown(std::uint32_t od, const std::function<bool()>& still_wanted) {
  if (od != 0 && od != self_.od) return peers_.shutdown(od);
  std::string others;
  if (od == 0) {
    // All at once: one dispatcher that does not answer delays the others by nothing.
    std::vector<std::future<std::string>> replies;
    for (const auto& r : odlist::load(db_)) {
      if (r.od == self_.od) continue;
      replies.push_back(std::async(std::launch::async, [this, od = r.od] {
        try {
          return peers_.shutdown(od);
        } catch (const Failure& e) {
          return std::string(e.what());
        }
      }));
    }
    for (auto& reply : replies) others += reply.get() + "\n";
  }
  if (!still_wanted()) {
    log_.line(fmt::format("^shutdown of dispatcher {} not carried out: its caller gave up waiting",
                          self_.od));
    fail(fmt::format("the shutdown of dispatcher {} came after its caller gave up; it was not "
                     "carried out",
                     self_.od));
  }
  log_.line(fmt::format("shutdown requested by odadmin (dispatcher {})", self_.od));
  if (stop_self_) stop_self_();
  return fmt::format("{}Dispatcher {} ({}) is shutting down.", others, self_.od, self_.id());
}

Region::Registration Region::register_node(const std::string& hostname, const std::string& ip,
                                           std::uint16_t port, bool force_bind) {
  if (!is_tmr())
    fail(fmt::format("dispatcher {} is a managed node; register with the TMR server (dispatcher "
                     "1)",
                     self_.od));
  odlist::require_ipv4(ip);
  odlist::require_host_name(hostname);
  if (port == 0) fail("a managed node needs a port");
  auto txn = db_.begin(nullptr, "register node");
  odlist::lock(*txn);
  std::uint32_t od = kTmrDispatcher;
  for (const auto& r : odlist::load(db_)) {
    if (r.ip == ip && r.port == port)
      fail(fmt::format("{}:{} is already dispatcher {} of region {}", ip, port, r.od,
                       self_.region));
    od = std::max(od, r.od + 1);
  }
  odlist::put(*txn, {.od = od, .port = port, .ip = ip, .hostnames = {hostname},
                     .force_bind = force_bind});
  txn->commit();
  log_.line(fmt::format("managed node {} ({}:{}) joined region {} as dispatcher {}", hostname, ip,
                        port, self_.region, od));
  push_odlist();
  return {self_.region, od, odlist::load(db_)};
}

std::vector<OdRecord> Region::node_started(std::uint32_t od, const std::string& ip,
                                           std::uint16_t port) {
  if (!is_tmr()) fail(fmt::format("dispatcher {} is not the TMR server", self_.od));
  if (!odlist::find(db_, od))
    fail(fmt::format("dispatcher {} is not in the odlist of region {}", od, self_.region));
  log_.line(fmt::format("dispatcher {} reported in from {}:{}", od, ip, port));
  return odlist::load(db_);
}

void Region::odlist_update(const std::vector<OdRecord>& records) {
  if (is_tmr()) fail("the TMR server's odlist is authoritative; edit it with odadmin odlist");
  const auto before = odlist::find(db_, kTmrDispatcher);
  odlist::replace(db_, records);
  log_.line("odlist updated by the TMR server");
  const auto after = odlist::find(db_, kTmrDispatcher);
  if (!before || !after || (before->ip == after->ip && before->port == after->port)) return;
  const std::string address = after->address();
  log_.line(fmt::format("the TMR server is at {} now (was {}:{}): reporting in there", address,
                        before->ip, before->port));
  {
    std::lock_guard guard(mu_);
    tmr_moved_to_ = address;
  }
  wake_.notify_all();
}

bool Region::report_in(std::chrono::milliseconds timeout) {
  try {
    odlist::replace(db_, peers_.node_started(self_.od, self_.ip, self_.instance.port, timeout));
    std::lock_guard guard(mu_);
    joined_ = true;
    link_ = fmt::format("connected to the TMR server {} since {}", describe(kTmrDispatcher),
                        OservLog::timestamp());
    return true;
  } catch (const Failure& e) {
    std::lock_guard guard(mu_);
    lost_link(e.what());
    return false;
  }
}

void Region::lost_link(const std::string& why) {
  joined_ = false;
  if (link_.rfind("retrying", 0) != 0)
    link_ = fmt::format("retrying since {}: {}", OservLog::timestamp(), why);
}

void Region::keep_link(std::chrono::seconds interval) {
  std::lock_guard guard(mu_);
  if (stopping_ || joiner_.joinable()) return;
  if (is_tmr()) {
    joiner_ = std::thread([this, interval] { sweep_loop(interval); });
    return;
  }
  joiner_ = std::thread([this, interval] {
    std::unique_lock lock(mu_);
    for (;;) {
      wake_.wait_for(lock, interval, [this] { return stopping_ || !tmr_moved_to_.empty(); });
      if (stopping_) break;
      const bool was_joined = joined_;
      const std::string moved = std::exchange(tmr_moved_to_, {});
      lock.unlock();
      if (!moved.empty()) {
        if (report_in(timeouts::kReportIn)) rejoined();
        if (on_tmr_moved_) on_tmr_moved_(moved);
      } else if (was_joined) {
        check_link();
      } else if (report_in(timeouts::kReportIn)) {
        rejoined();
      }
      lock.lock();
    }
  });
}

// Joined: is the TMR server still there? One that stopped answering is reported once, and the
// node reports in again (to a TMR server that may have restarted with another odlist).
void Region::check_link() {
  try {
    peers_.ping(kTmrDispatcher, timeouts::kLiveness);
  } catch (const Failure& e) {
    log_.line(fmt::format("^lost the TMR server: {}; reporting in again every interval", e.what()));
    std::lock_guard guard(mu_);
    lost_link(e.what());
  }
}

void Region::rejoined() {
  log_.line(fmt::format("joined region {}: {}", self_.region, link_state()));
  if (on_joined_) on_joined_();
}

std::string Region::link_state() {
  std::lock_guard guard(mu_);
  return link_;
}

void Region::push_odlist() {
  {
    std::lock_guard guard(mu_);
    push_pending_ = true;
  }
  wake_.notify_all();
}

void Region::push_class(const std::string& cls) {
  {
    std::lock_guard guard(mu_);
    classes_pending_.insert(cls);
  }
  wake_.notify_all();
}

void Region::push_administrators() {
  {
    std::lock_guard guard(mu_);
    admins_pending_ = true;
  }
  wake_.notify_all();
}

void Region::send_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] {
      return stopping_ || push_pending_ || admins_pending_ || !classes_pending_.empty();
    });
    if (stopping_) return;
    const bool odlist = std::exchange(push_pending_, false);
    const bool admins = std::exchange(admins_pending_, false);
    const std::set<std::string> classes = std::exchange(classes_pending_, {});
    lock.unlock();
    // The state as it is now: pushes asked for while these run are sent after them.
    try {
      if (odlist) send_odlist();
      for (const auto& cls : classes) send_class(cls);
      if (admins) send_administrators();
    } catch (const std::exception& e) {  // the database could not be read: try once more later
      log_.line(fmt::format("^region update not sent: {}", e.what()));
    }
    lock.lock();
  }
}

void Region::send_odlist() {
  const auto records = odlist::load(db_);
  for (const auto& r : records) {
    if (r.od == self_.od) continue;
    try {
      peers_.odlist_update(r.od, records);
      std::lock_guard guard(mu_);
      undelivered_.erase(r.od);
    } catch (const Failure& e) {
      // A node that is down gets it when it next reports in, or when the sweep finds it up
      // (one that reports in to an address dispatcher 1 has left can only learn it this way).
      std::lock_guard guard(mu_);
      if (undelivered_.insert(r.od).second)
        log_.line(fmt::format("^odlist update not delivered: {}; sent again once it answers",
                              e.what()));
    }
  }
}

// TMR server: every interval, every node pinged at once (the pings carry this server's epoch:
// a node that knows a newer one refuses it, and this server learns it was replaced), and the
// odlist sent again if a node that missed it answers now.
void Region::sweep_loop(std::chrono::seconds interval) {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait_for(lock, interval, [this] { return stopping_; });
    if (stopping_) return;
    lock.unlock();
    const auto answered = members();
    bool resend = false;
    {
      std::lock_guard guard(mu_);
      for (const auto& m : answered)
        resend = resend || (m.connected && undelivered_.count(m.record.od) != 0);
    }
    if (resend) push_odlist();
    lock.lock();
  }
}

void Region::send_class(const std::string& cls) {
  const auto bytes = db_.read(db::Table::kClasses, cls);
  const auto methods = bytes ? records::decode_class(cls, *bytes) : std::vector<MethodDef>{};
  for (const auto& r : odlist::load(db_)) {
    if (r.od == self_.od) continue;
    try {
      peers_.class_update(r.od, cls, methods);
    } catch (const Failure& e) {
      // A node that is down fetches the class at its first call of one of its methods.
      log_.line(fmt::format("^class {} not sent: {}", cls, e.what()));
    }
  }
}

}  // namespace openoserv

namespace openoserv {

void Region::send_administrators() {
  std::vector<AdministratorRecord> admins;
  for (const auto& [name, bytes] : db_.scan(db::Table::kAdministrators))
    admins.push_back(records::decode_administrator(name, bytes));
  for (const auto& r : odlist::load(db_)) {
    if (r.od == self_.od) continue;
    try {
      peers_.administrators_update(r.od, admins);
    } catch (const Failure& e) {
      // A node that is down takes the list when it next joins.
      log_.line(fmt::format("^administrators not sent: {}", e.what()));
    }
  }
}

}  // namespace openoserv
