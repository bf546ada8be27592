// ORB start-up: options, and the client interceptors: one keeps requests off connections their
// peer has closed, one chooses UTF-8 for references without code-set information, one says on
// whose behalf a dispatcher calls.
#include "OrbInit.h"

#include <atomic>
#include <cstring>
#include <memory>

#include <omniORB4/CORBA.h>
#include <omniORB4/codeSets.h>
#include <omniORB4/internal/giopRope.h>
#include <omniORB4/internal/giopStrand.h>
#include <omniORB4/internal/giopStream.h>
#include <omniORB4/internal/GIOP_C.h>
#include <omniORB4/omniIOR.h>
#include <omniORB4/omniInterceptors.h>

#include "Connections.h"

namespace openoserv {

namespace {

// A request is sent on a connection kept from an earlier call when one is idle. If the peer
// closed it meanwhile (it restarted, or a failover moved it: a GIOP CloseConnection message or
// the end of the stream is waiting on it), the request would be sent into the void and fail as
// COMM_FAILURE "completed maybe", which omniORB does not retry when the call has a deadline, and
// every call of ours has one. Such a connection is dropped here, before anything is sent, and
// omniORB retries the call on a new one.
CORBA::Boolean skip_closed_connection(omni::omniInterceptors::clientSendRequest_T::info_T& info) {
  omni::giopStrand& strand = info.giop_c.strand();
  if (strand.first_use || !idle_connection_closing(socket_of(strand.connection))) return true;
  strand.state(omni::giopStrand::DYING);  // released, it is closed, not offered again
  omni::giopStream::CommFailure::_raise(omni::COMM_FAILURE_MarshalArguments, CORBA::COMPLETED_NO,
                                        /*retry=*/1, __FILE__, __LINE__,
                                        "the peer closed this idle connection", &strand);
  return false;  // not reached
}

// Runs after omniORB's own code-set interceptor, which has chosen ISO 8859-1 for this request
// without remembering it for the connection when the reference had no code-set information.
CORBA::Boolean choose_utf8(omni::omniInterceptors::clientSendRequest_T::info_T& info) {
  omni::giopStrand& strand = info.giop_c.strand();
  const GIOP::Version version = info.giop_c.version();
  if (strand.tcs_selected || version.minor < 1) return true;  // already negotiated, or GIOP 1.0
  const omniIOR::IORInfo* ior = info.giop_c.ior()->getIORInfo();
  if (ior->TCS_C() || ior->TCS_W()) return true;  // the IOR said: omniORB negotiated
  using omni::omniCodeSet;
  auto* tcs_c = omniCodeSet::getTCS_C(omniCodeSet::ID_UTF_8, version);
  auto* tcs_w = omniCodeSet::getTCS_W(omniCodeSet::ID_UTF_16, version);
  strand.tcs_c = tcs_c;
  strand.tcs_w = tcs_w;
  strand.version = version;
  strand.tcs_selected = 1;
  info.giop_c.TCS_C(tcs_c);
  info.giop_c.TCS_W(tcs_w);
  cdrEncapsulationStream context(CORBA::ULong(0), CORBA::Boolean(1));
  tcs_c->id() >>= context;
  tcs_w->id() >>= context;
  CORBA::Octet* data;
  CORBA::ULong max, length;
  context.getOctetStream(data, max, length);
  const CORBA::ULong n = info.service_contexts.length();
  info.service_contexts.length(n + 1);
  info.service_contexts[n].context_id = IOP::CodeSets;
  info.service_contexts[n].context_data.replace(max, length, data, 1);
  return true;
}

thread_local const std::string* on_behalf_of = nullptr;

CORBA::Boolean add_on_behalf_of(omni::omniInterceptors::clientSendRequest_T::info_T& info) {
  if (!on_behalf_of || on_behalf_of->empty()) return true;
  const CORBA::ULong n = info.service_contexts.length();
  info.service_contexts.length(n + 1);
  info.service_contexts[n].context_id = kOnBehalfOfContext;
  auto& data = info.service_contexts[n].context_data;
  data.length(static_cast<CORBA::ULong>(on_behalf_of->size()));
  std::memcpy(data.get_buffer(), on_behalf_of->data(), on_behalf_of->size());
  return true;
}

std::atomic<std::uint64_t> outgoing_epoch{0};

CORBA::Boolean add_epoch(omni::omniInterceptors::clientSendRequest_T::info_T& info) {
  const std::uint64_t epoch = outgoing_epoch.load(std::memory_order_relaxed);
  if (epoch == 0) return true;
  const CORBA::ULong n = info.service_contexts.length();
  info.service_contexts.length(n + 1);
  info.service_contexts[n].context_id = kEpochContext;
  auto& data = info.service_contexts[n].context_data;
  data.length(sizeof epoch);
  std::memcpy(data.get_buffer(), &epoch, sizeof epoch);
  return true;
}

}  // namespace

void set_outgoing_epoch(std::uint64_t epoch) { outgoing_epoch = epoch; }

std::uint64_t epoch_of(const IOP::ServiceContextList& contexts) {
  for (CORBA::ULong i = 0; i < contexts.length(); ++i) {
    const auto& data = contexts[i].context_data;
    if (contexts[i].context_id != kEpochContext || data.length() != sizeof(std::uint64_t)) continue;
    std::uint64_t epoch = 0;
    std::memcpy(&epoch, data.get_buffer(), sizeof epoch);
    return epoch;
  }
  return 0;
}

std::string stale_epoch_refusal(const std::string& who) {
  return who + " refuses this TMR server: it knows a newer epoch of the region (a standby was "
               "promoted since); see odadmin replication";
}

OnBehalfOf::OnBehalfOf(const std::string& caller) : saved_(on_behalf_of) {
  on_behalf_of = &caller;
}
OnBehalfOf::~OnBehalfOf() { on_behalf_of = saved_; }

std::string corbaloc_url(const std::string& host_port, const std::string& key) {
  return "corbaloc:ssliop:1.2@" + host_port + "/" + key;
}

CORBA::ORB_ptr init_orb(const char* name, const OrbOptions& options) {
  // omniORB takes {name, value} pairs ending with {nullptr, nullptr}.
  auto table = std::make_unique<const char* [][2]>(options.size() + 4);
  size_t i = 0;
  for (const auto& [key, value] : options) {
    table[i][0] = key.c_str();
    table[i++][1] = value.c_str();
  }
  table[i][0] = "nativeCharCodeSet";
  table[i++][1] = "UTF-8";
  // No GIOP LocateRequest before the first call on a reference: it would cost every client a
  // round trip more, and the call itself reports a missing object.
  table[i][0] = "verifyObjectExistsAndType";
  table[i++][1] = "0";
  // A message may be 64 MB, not omniORB's 2 MB: wep ls of a region of 10,000 endpoints is a
  // 2 MB reply, and each relay on the way must pass it whole.
  table[i][0] = "giopMaxMsgSize";
  table[i++][1] = "67108864";
  table[i][0] = table[i][1] = nullptr;
  int argc = 1;
  std::string arg0 = name;
  char* argv[] = {arg0.data(), nullptr};
  CORBA::ORB_ptr orb = CORBA::ORB_init(argc, argv, "omniORB4", table.get());
  // ORB::destroy() clears the interceptors; an ORB made again (ORB_init after destroy) needs
  // them again. Adding one twice adds it once.
  omniORB::getInterceptors()->clientSendRequest.add(skip_closed_connection);
  omniORB::getInterceptors()->clientSendRequest.add(choose_utf8);
  omniORB::getInterceptors()->clientSendRequest.add(add_on_behalf_of);
  omniORB::getInterceptors()->clientSendRequest.add(add_epoch);
  return orb;
}

}  // namespace openoserv
