// Region membership and calls between dispatchers.
#include "Region.h"

#include <fmt/core.h>

namespace openoserv {

Region::Region(CORBA::ORB_ptr orb, db::Database& db, OservLog& log, std::uint32_t region,
               std::uint32_t od)
    : orb_(orb), db_(db), log_(log), region_(region), od_(od) {
  link_ = is_tmr() ? "this is the TMR server" : "not yet reported to the TMR server";
}

Region::~Region() { stop(); }

void Region::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard guard(mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  wake_.notify_all();
  for (auto& t : threads) t.join();
}

OServ::Dispatcher_ptr Region::dispatcher(std::uint32_t od, unsigned timeout_ms) {
  const std::uint64_t generation = db_.odlist_generation();
  {
    std::lock_guard guard(refs_mu_);
    auto it = refs_.find({od, timeout_ms});
    if (it != refs_.end() && it->second.generation == generation)
      return OServ::Dispatcher::_duplicate(it->second.ref);
  }
  auto rec = db_.od(od);
  if (!rec) fail(fmt::format("dispatcher {} is not in the odlist of region {}", od, region_));
  const std::string address = fmt::format("{}:{}", rec->ip, rec->port);
  std::lock_guard guard(refs_mu_);
  CachedRef& cached = refs_[{od, timeout_ms}];
  if (cached.address != address || CORBA::is_nil(cached.ref)) {
    CORBA::Object_var obj =
        orb_->string_to_object(fmt::format("corbaloc::{}/Dispatcher", address).c_str());
    omniORB::setClientCallTimeout(obj, timeout_ms);
    cached.ref = OServ::Dispatcher::_unchecked_narrow(obj);
    cached.address = address;
  }
  cached.generation = generation;
  return OServ::Dispatcher::_duplicate(cached.ref);
}

std::string Region::describe(std::uint32_t od) {
  auto rec = db_.od(od);
  if (!rec) return fmt::format("dispatcher {}", od);
  return fmt::format("dispatcher {} ({}, {}:{})", od,
                     rec->hostnames.empty() ? rec->ip : rec->hostnames.front(), rec->ip,
                     rec->port);
}

std::string Region::unreachable(std::uint32_t od, const CORBA::Exception& e) {
  if (auto* failed = OServ::Failed::_downcast(&e)) return failed->reason.in();
  return fmt::format("{} does not answer ({})", describe(od), e._name());
}

OServ::OdEntries* Region::to_wire(const std::vector<db::OdRecord>& records) {
  auto* list = new OServ::OdEntries;
  list->length(static_cast<CORBA::ULong>(records.size()));
  for (CORBA::ULong i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    OServ::OdEntry& e = (*list)[i];
    e.od = r.od;
    e.port = r.port;
    e.ipaddr = r.ip.c_str();
    e.hostnames.length(static_cast<CORBA::ULong>(r.hostnames.size()));
    for (CORBA::ULong h = 0; h < r.hostnames.size(); ++h) e.hostnames[h] = r.hostnames[h].c_str();
    e.force_bind = r.force_bind;
    e.connected = false;
  }
  return list;
}

std::vector<db::OdRecord> Region::from_wire(const OServ::OdEntries& entries) {
  std::vector<db::OdRecord> out;
  for (CORBA::ULong i = 0; i < entries.length(); ++i) {
    const auto& e = entries[i];
    db::OdRecord r{.od = e.od, .port = e.port, .ip = e.ipaddr.in(), .force_bind = e.force_bind};
    for (CORBA::ULong h = 0; h < e.hostnames.length(); ++h) r.hostnames.emplace_back(e.hostnames[h].in());
    if (r.od == 0 || r.port == 0 || r.ip.empty())
      fail(fmt::format("odlist entry {} is incomplete (od, port and address are required)", i));
    out.push_back(std::move(r));
  }
  return out;
}

void Region::push_odlist() {
  auto records = db_.odlist();
  std::lock_guard guard(mu_);
  if (stopping_) return;
  threads_.emplace_back([this, records] {
    OServ::OdEntries_var list = to_wire(records);
    for (const auto& r : records) {
      if (r.od == od_) continue;
      try {
        OServ::Dispatcher_var d = dispatcher(r.od, 3000);
        d->odlist_update(list.in());
      } catch (const CORBA::Exception& e) {
        // A node that is down gets the odlist when it next reports in.
        log_.line(fmt::format("^odlist update not delivered: {}", unreachable(r.od, e)));
      }
    }
  });
}

bool Region::report_in(const std::string& ip, std::uint16_t port, unsigned timeout_ms) {
  try {
    OServ::Dispatcher_var tmr = dispatcher(1, timeout_ms);
    OServ::OdEntries_var list = tmr->node_started(od_, ip.c_str(), port);
    db_.replace_odlist(from_wire(list.in()));
    std::lock_guard guard(mu_);
    link_ = fmt::format("connected to the TMR server {} since {}", describe(1),
                        OservLog::timestamp());
    return true;
  } catch (const CORBA::Exception& e) {
    const std::string why = unreachable(1, e);
    std::lock_guard guard(mu_);
    if (link_.rfind("retrying", 0) != 0)
      link_ = fmt::format("retrying since {}: {}", OservLog::timestamp(), why);
    return false;
  }
}

void Region::retry_report_in(const std::string& ip, std::uint16_t port, int interval) {
  std::lock_guard guard(mu_);
  if (stopping_) return;
  threads_.emplace_back([this, ip, port, interval] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::seconds(interval));
      if (stopping_) return;
      lock.unlock();
      const bool joined = report_in(ip, port, 5000);
      lock.lock();
      if (joined) {
        log_.line(fmt::format("joined region {}: {}", region_, link_));
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

}  // namespace openoserv
