// Region membership, the odlist and calls across the region.
#include "Region.h"

#include <arpa/inet.h>

#include <algorithm>
#include <future>

#include <fmt/core.h>

#include "Failure.h"
#include "Timeouts.h"

namespace openoserv {

namespace {

void require_ipv4(const std::string& ip) {
  in_addr a{};
  if (::inet_pton(AF_INET, ip.c_str(), &a) != 1) fail(fmt::format("'{}' is not an IPv4 address", ip));
}

void require_address(const OdRecord& r, const std::string& ip) {
  if (r.ip != ip)
    fail(fmt::format("dispatcher {} has the address {}, not {}; see 'odadmin odlist'", r.od, r.ip,
                     ip));
}

// Applies `e` to `r`; returns the operator message.
std::string apply(const OdlistEdit& e, OdRecord& r) {
  switch (e.kind) {
    case OdlistEdit::Kind::kForceBind:
      r.force_bind = e.flag;
      return fmt::format("Force socket bind set to {} for dispatcher(s) {}. Restart the oserv(s) "
                         "for the change to take effect.",
                         e.flag ? "TRUE" : "FALSE", e.od ? std::to_string(e.od) : "all");
    case OdlistEdit::Kind::kChangeIp: {
      const std::string old = r.ip;
      r.ip = e.ip;
      return fmt::format("Dispatcher {} address changed from {} to {}.", r.od, old, e.ip);
    }
    case OdlistEdit::Kind::kAddAlias:
      require_address(r, e.ip);
      if (std::find(r.hostnames.begin(), r.hostnames.end(), e.name) == r.hostnames.end())
        r.hostnames.push_back(e.name);
      return fmt::format("Host name {} added to dispatcher {} ({}).", e.name, r.od, e.ip);
    case OdlistEdit::Kind::kDeleteAlias: {
      require_address(r, e.ip);
      auto it = std::find(r.hostnames.begin(), r.hostnames.end(), e.name);
      if (it == r.hostnames.end()) fail(fmt::format("dispatcher {} has no host name {}", r.od, e.name));
      r.hostnames.erase(it);
      return fmt::format("Host name {} deleted from dispatcher {} ({}).", e.name, r.od, e.ip);
    }
  }
  fail("unknown odlist edit");
}

const char* edit_name(OdlistEdit::Kind kind) {
  switch (kind) {
    case OdlistEdit::Kind::kForceBind: return "set_force_bind";
    case OdlistEdit::Kind::kChangeIp: return "change_ip";
    case OdlistEdit::Kind::kAddAlias: return "add_hostname_alias";
    case OdlistEdit::Kind::kDeleteAlias: return "delete_hostname_alias";
  }
  return "odlist edit";
}

void validate(const OdlistEdit& e) {
  const char* what = edit_name(e.kind);
  if (e.kind == OdlistEdit::Kind::kForceBind) return;
  require_ipv4(e.ip);
  if (e.od == 0) fail(fmt::format("{} needs one dispatcher number", what));
  if (e.kind != OdlistEdit::Kind::kChangeIp && e.name.empty())
    fail(fmt::format("{} needs a host name", what));
}

}  // namespace

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
  validate(e);
  if (is_tmr()) return apply_edit(e);
  try {
    return peers_.edit_odlist(e);
  } catch (const Unreachable& u) {
    fail(fmt::format("{} is made at the TMR server, and {}", edit_name(e.kind), u.what()));
  }
}

std::string Region::apply_edit(const OdlistEdit& e) {
  auto txn = db_.begin(nullptr, edit_name(e.kind));
  odlist::lock(*txn);
  std::vector<OdRecord> targets;
  if (e.od == 0) {
    targets = odlist::load(db_);  // committed, and no other change can start: we hold the lock
  } else if (auto rec = odlist::find(*txn, e.od)) {
    targets.push_back(*rec);
  } else {
    fail(fmt::format("dispatcher {} is not in the odlist of region {}; see 'odadmin odlist'", e.od,
                     self_.region));
  }
  std::string message;
  for (auto& r : targets) {
    message = apply(e, r);
    odlist::put(*txn, r);
  }
  txn->commit();
  log_.line(fmt::format("{}: {}", edit_name(e.kind), message));
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
  require_ipv4(ip);
  if (hostname.empty() || port == 0) fail("a managed node needs a host name and a port");
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
  odlist::replace(db_, records);
  log_.line("odlist updated by the TMR server");
}

bool Region::report_in(std::chrono::milliseconds timeout) {
  try {
    odlist::replace(db_, peers_.node_started(self_.od, self_.ip, self_.instance.port, timeout));
    std::lock_guard guard(mu_);
    link_ = fmt::format("connected to the TMR server {} since {}", describe(kTmrDispatcher),
                        OservLog::timestamp());
    return true;
  } catch (const Failure& e) {
    std::lock_guard guard(mu_);
    if (link_.rfind("retrying", 0) != 0)
      link_ = fmt::format("retrying since {}: {}", OservLog::timestamp(), e.what());
    return false;
  }
}

void Region::retry_report_in(std::chrono::seconds interval) {
  std::lock_guard guard(mu_);
  if (stopping_ || joiner_.joinable()) return;
  joiner_ = std::thread([this, interval] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      wake_.wait_for(lock, interval);
      if (stopping_) return;
      lock.unlock();
      const bool joined = report_in(timeouts::kReportIn);
      lock.lock();
      if (joined) {
        log_.line(fmt::format("joined region {}: {}", self_.region, link_));
        lock.unlock();
        if (on_joined_) on_joined_();
        return;
      }
    }
  });
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

void Region::send_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || push_pending_ || !classes_pending_.empty(); });
    if (stopping_) return;
    const bool odlist = std::exchange(push_pending_, false);
    const std::set<std::string> classes = std::exchange(classes_pending_, {});
    lock.unlock();
    // The state as it is now: pushes asked for while these run are sent after them.
    try {
      if (odlist) send_odlist();
      for (const auto& cls : classes) send_class(cls);
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
    } catch (const Failure& e) {
      // A node that is down gets the odlist when it next reports in.
      log_.line(fmt::format("^odlist update not delivered: {}", e.what()));
    }
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
