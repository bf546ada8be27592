// The server request interceptor.
#include "RequestContext.h"

#include <omniORB4/internal/giopStrand.h>
#include <omniORB4/internal/giopStream.h>
#include <omniORB4/internal/GIOP_S.h>
#include <omniORB4/omniInterceptors.h>

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include <fmt/core.h>

#include "Connections.h"
#include "Numbers.h"
#include "OservMetrics.h"
#include "Oid.h"
#include "OrbInit.h"
#include "OrbTls.h"

namespace openoserv {

namespace {

thread_local RequestContext current_request;
RequestGuard guard;         // set before the endpoints activate, read-only afterwards
AccessCheck access_check;  // likewise
AuditNotes audit_notes;     // likewise

// Refuses a request that arrived at another dispatcher's address: "giop:ssl:IP:PORT", or on a
// dual-stack listener "giop:ssl:[::ffff:IP]:PORT".
void check_addressee(const std::string& local) {
  constexpr std::string_view kTcp = "giop:ssl:", kMapped = "::ffff:";
  if (!guard || local.compare(0, kTcp.size(), kTcp) != 0) return;
  const size_t colon = local.rfind(':');
  const auto port = parse_number<std::uint16_t>(std::string_view(local).substr(colon + 1));
  if (!port) return;
  std::string_view ip = std::string_view(local).substr(kTcp.size(), colon - kTcp.size());
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  if (ip.substr(0, kMapped.size()) == kMapped) ip.remove_prefix(kMapped.size());
  if (guard(std::string(ip), *port) != 0) throw CORBA::OBJECT_NOT_EXIST(0, CORBA::COMPLETED_NO);
}

// The object POA's key prefix: POA name separator, the name, the terminating NUL.
std::string object_key_prefix() {
  std::string prefix = "\xff";
  prefix += kObjectPoaName;
  prefix += '\0';
  return prefix;
}

omni_time_t request_timeout;  // set before the endpoints activate, read-only afterwards
OservMetrics* call_metrics = nullptr;  // likewise
thread_local std::chrono::steady_clock::time_point request_arrived;

void count_call(OservMetrics::Result result) {
  if (!call_metrics) return;
  call_metrics->record(current_request.operation, result,
                       std::chrono::steady_clock::now() - request_arrived);
}

OservMetrics::Result result_of(const CORBA::Exception* e) {
  if (!e) return OservMetrics::Result::kError;
  if (CORBA::NO_PERMISSION::_downcast(e)) return OservMetrics::Result::kRefused;
  if (CORBA::UserException::_downcast(e)) return OservMetrics::Result::kFailed;
  return OservMetrics::Result::kError;
}

void set_deadline(omni::giopStream& stream) {
  omni_time_t deadline;
  omni_thread::get_time(deadline, request_timeout);
  stream.setDeadline(deadline);
}

// The reply: a fresh deadline on the Unix socket (the method may have run longer than the
// request's), none on TLS (the kernel's user timeout stands in for it).
void reply_deadline(omni::giopStream& stream) {
  if (current_request.on_unix_socket()) set_deadline(stream);
  else stream.clearDeadline();
}

CORBA::Boolean on_reply(omni::omniInterceptors::serverSendReply_T::info_T& info) {
  count_call(OservMetrics::Result::kOk);
  reply_deadline(info.giop_s);
  return true;
}

CORBA::Boolean on_exception(omni::omniInterceptors::serverSendException_T::info_T& info) {
  count_call(result_of(info.exception));
  reply_deadline(info.giop_s);
  return true;
}

CORBA::Boolean on_request(omni::omniInterceptors::serverReceiveRequest_T::info_T& info) {
  // The rest of the request (its arguments, or the body skipped after a refusal) within the
  // timeout: a read only happens if it has not all arrived with the header.
  set_deadline(info.giop_s);
  if (call_metrics) request_arrived = std::chrono::steady_clock::now();
  current_request.local_address = info.myaddress() ? info.myaddress() : "";
  current_request.peer_address = info.peeraddress() ? info.peeraddress() : "";
  current_request.operation = info.operation() ? info.operation() : "";
  current_request.large_arguments =
      info.giop_s.checkInputOverrun(1, RequestContext::kSmallArguments + 1);
  current_request.socket = socket_of(info.giop_s.strand().connection);
  current_request.peer_certificate = peer_certificate(info.giop_s.strand().connection);
  check_addressee(current_request.local_address);
  current_request.principal = {};
  current_request.on_behalf_of.clear();
  const IOP::ServiceContextList& contexts = info.giop_s.service_contexts();
  current_request.caller_epoch = epoch_of(contexts);
  for (CORBA::ULong i = 0; i < contexts.length(); ++i) {
    const auto& data = contexts[i].context_data;
    if (contexts[i].context_id != kOnBehalfOfContext) continue;
    current_request.on_behalf_of.assign(reinterpret_cast<const char*>(data.get_buffer()),
                                        std::min<CORBA::ULong>(data.length(), 512));
  }
  omni::GIOP_S& request = info.giop_s;
  const int size = request.keysize();
  const CORBA::Octet* key = request.key();
  current_request.object_key = size > 0 ? std::string_view(reinterpret_cast<const char*>(key),
                                                           static_cast<size_t>(size))
                                        : std::string_view();
  if (access_check) access_check(current_request);
  current_request.object_key = {};
  // OIDs start with the region number; no other key of ours starts with a digit.
  if (size <= 0 || key[0] < '0' || key[0] > '9') return true;
  static const std::string prefix = object_key_prefix();
  std::string rewritten = prefix;
  rewritten.append(reinterpret_cast<const char*>(key), static_cast<size_t>(size));
  omniObjKey& target = request.keyobj();
  target.set_size(static_cast<int>(rewritten.size()));
  std::memcpy(target.write_key(), rewritten.data(), rewritten.size());
  return true;
}

}  // namespace

const RequestContext& RequestContext::current() { return current_request; }

std::string RequestContext::caller() {
  const auto& peer = current_request.peer_address;
  if (peer.empty()) return "this oserv";
  if (current_request.on_unix_socket()) {
    // The kernel says who is at the other end of a Unix socket.
    ucred cred{};
    socklen_t size = sizeof cred;
    if (current_request.socket >= 0 &&
        ::getsockopt(current_request.socket, SOL_SOCKET, SO_PEERCRED, &cred, &size) == 0)
      return fmt::format("a local client (pid {}, uid {}, Unix socket)", cred.pid, cred.uid);
    return "a local client (Unix socket)";
  }
  return peer;
}

bool RequestContext::caller_gone() { return peer_closed(current_request.socket); }

void forward_request(CORBA::ORB_ptr orb, const RequestContext& request,
                     const std::string& host_port) {
  CORBA::Object_var there = orb->string_to_object(
      corbaloc_url(host_port, corbaloc_key(request.object_key)).c_str());
  throw omniORB::LOCATION_FORWARD(there._retn(), /*permanent=*/false);
}

void set_call_metrics(OservMetrics* metrics) { call_metrics = metrics; }

void set_request_guard(RequestGuard g) { guard = std::move(g); }

void set_access_check(AccessCheck check, AuditNotes notes) {
  access_check = std::move(check);
  audit_notes = std::move(notes);
}

void RequestContext::note_refusal(const std::string& why) {
  if (audit_notes.refused) audit_notes.refused(current_request, why);
}

void RequestContext::note_invoke(const std::string& oid, const std::string& method) {
  if (audit_notes.invoked) audit_notes.invoked(current_request, oid, method);
}

void install_request_interceptor(std::chrono::seconds timeout) {
  request_timeout.assign(static_cast<unsigned long>(timeout.count()), 0);
  omniORB::getInterceptors()->serverReceiveRequest.add(on_request);
  omniORB::getInterceptors()->serverSendReply.add(on_reply);
  omniORB::getInterceptors()->serverSendException.add(on_exception);
}

}  // namespace openoserv
