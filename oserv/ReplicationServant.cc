// Replication operations.
#include "ReplicationServant.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include <fmt/core.h>

#include "Failure.h"
#include "HostPort.h"
#include "Odlist.h"
#include "ServantSupport.h"
#include "Timeouts.h"
#include "WireConvert.h"

namespace openoserv {

namespace {

// The primary holds a fetch at most this long, whatever the standby asks.
constexpr CORBA::ULong kMaxFetchWaitMs = 10000;

OServ::Program* octets(const std::string& bytes) {
  auto out = std::make_unique<OServ::Program>(static_cast<CORBA::ULong>(bytes.size()));
  out->length(static_cast<CORBA::ULong>(bytes.size()));
  if (!bytes.empty()) std::memcpy(out->get_buffer(), bytes.data(), bytes.size());
  return out.release();
}

}  // namespace

void ReplicationServant::primary_only(const char* what) const {
  if (local_.follower)
    fail(fmt::format("{} is done at the primary TMR server; this is a standby", what));
}

OServ::ReplicaBatch* ReplicationServant::replica_fetch(const char* standby, CORBA::ULongLong after,
                                                       CORBA::ULong after_crc,
                                                       CORBA::ULong wait_ms) {
  return guarded([&] {
    primary_only("replication");
    const auto wait = std::chrono::milliseconds(std::min(wait_ms, kMaxFetchWaitMs));
    ReplicaBatch b = local_.replication.fetch(standby, after, after_crc, wait);
    auto out = std::make_unique<OServ::ReplicaBatch>();
    out->primary_seq = b.primary_seq;
    out->first_kept = b.first_kept;
    out->epoch = b.epoch;
    out->bytes_behind = b.bytes_behind;
    out->in_sync = b.in_sync;
    out->diverged = b.diverged;
    out->records.length(static_cast<CORBA::ULong>(b.records.size()));
    for (CORBA::ULong i = 0; i < b.records.size(); ++i) {
      const std::string& r = b.records[i];
      out->records[i].length(static_cast<CORBA::ULong>(r.size()));
      std::memcpy(out->records[i].get_buffer(), r.data(), r.size());
    }
    return out.release();
  });
}

OServ::ReplicaCopy* ReplicationServant::replica_copy_begin() {
  return guarded([&] {
    primary_only("a standby's copy");
    const ReplicaCopy c = local_.replication.copy_begin();
    auto out = std::make_unique<OServ::ReplicaCopy>();
    out->id = c.id.c_str();
    out->size = c.size;
    out->seq = c.seq;
    return out.release();
  });
}

OServ::Program* ReplicationServant::replica_copy_read(const char* id, CORBA::ULongLong offset,
                                                      CORBA::ULong size) {
  return guarded([&] { return octets(local_.replication.copy_read(id, offset, size)); });
}

void ReplicationServant::replica_copy_end(const char* id) {
  guarded([&] { local_.replication.copy_end(id); });
}

OServ::StringList* ReplicationServant::replication_status() {
  return guarded([&] {
    auto lines = local_.follower ? local_.follower->status() : local_.replication.status();
    if (local_.auto_promoter)
      for (auto& line : local_.auto_promoter->status()) lines.push_back(std::move(line));
    return new OServ::StringList(wire::strings(lines));
  });
}

char* ReplicationServant::set_replication(const char* mode) {
  return guarded([&] {
    primary_only("set_replication");
    if (local_.info.od != kTmrDispatcher)
      fail(fmt::format("set_replication is done at the TMR server; this is dispatcher {}",
                       local_.info.od));
    return dup(local_.replication.set_mode(mode));
  });
}

char* ReplicationServant::promote(CORBA::Boolean planned) {
  return guarded([&] {
    if (!local_.follower || !local_.promote)
      fail("promote is done at a standby TMR server; this oserv is not one");
    return dup(local_.promote(planned));
  });
}

CORBA::ULongLong ReplicationServant::switchover(const char* hostname, const char* ipaddr,
                                                CORBA::UShort port) {
  return guarded([&] {
    primary_only("switchover");
    if (!local_.switchover) fail("switchover is done at the primary TMR server");
    return static_cast<CORBA::ULongLong>(local_.switchover(hostname, ipaddr, port));
  });
}

CORBA::ULongLong ReplicationServant::epoch_after(CORBA::ULongLong epoch,
                                                 CORBA::ULongLong& newest) {
  return guarded([&] {
    primary_only("epoch_after");
    const auto [first, latest] = openoserv::epoch_after(local_.db, epoch);
    newest = latest;
    return static_cast<CORBA::ULongLong>(first);
  });
}

OServ::ULongList* ReplicationServant::replica_checksums(CORBA::ULongLong from, CORBA::ULong count) {
  return guarded([&] {
    primary_only("replica_checksums");
    const auto crcs = openoserv::replica_checksums(local_.db, from, count);
    auto out = std::make_unique<OServ::ULongList>(static_cast<CORBA::ULong>(crcs.size()));
    out->length(static_cast<CORBA::ULong>(crcs.size()));
    for (CORBA::ULong i = 0; i < crcs.size(); ++i) (*out)[i] = crcs[i];
    return out.release();
  });
}

void ReplicationServant::rejoin_standby(const char* hostname, const char* ipaddr,
                                        CORBA::UShort port) {
  guarded([&] {
    primary_only("rejoin_standby");
    if (local_.info.od != kTmrDispatcher) fail("rejoin_standby is done at the TMR server");
    local_.replication.add_standby(hostname, ipaddr, port);
  });
}

CORBA::Boolean ReplicationServant::request_vote(CORBA::ULongLong epoch, const char* candidate,
                                                CORBA::ULongLong seq, CORBA::String_out why) {
  return guarded([&] {
    const bool standby = local_.follower != nullptr;
    const bool primary = !standby && local_.info.od == kTmrDispatcher;
    // Does the primary's port take a connection from here? A TCP connect bounded by
    // kLiveness, not a call: an ORB call to a host cut off waits for its connect timeout (and a
    // standby's call carries no epoch). A primary that accepts but hangs counts as there: no
    // vote, the safe side.
    const Ballot b = local_.voter.vote({epoch, candidate, seq}, primary, standby, [this] {
      const auto tmr = odlist::find(local_.db, kTmrDispatcher);
      return tmr && tcp_accepts(tmr->ip, tmr->port, timeouts::kLiveness);
    });
    why = dup(b.why);
    return static_cast<CORBA::Boolean>(b.granted);
  });
}

char* ReplicationServant::rejoin(const char* primary) {
  return guarded([&] {
    if (!local_.rejoin) fail("rejoin is done at a demoted TMR server or a standby");
    return dup(local_.rejoin(primary));
  });
}

char* ReplicationServant::demote() {
  return guarded([&] {
    if (local_.follower || !local_.step_down)
      fail("demote is done at the primary TMR server; this oserv is not one");
    return dup(local_.step_down());
  });
}

}  // namespace openoserv
