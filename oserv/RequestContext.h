// Every request this oserv serves passes one omniORB server interceptor
// (serverReceiveRequest), on the thread that then runs the servant. It does two things:
//
// * Object keys that are bare OIDs ("1669180253.2.7#Class#", what a corbaloc URL carries) are
//   rewritten to the key of the object POA ("\xffOID\0<oid>"), whose servant locator serves
//   every object without a servant per object. omniORB itself only looks bare keys up among
//   objects activated one by one in its INS POA. IORs carry the POA key itself, because GIOP
//   LocateRequests (which omniORB clients send for a type-checked IOR) pass no interceptor.
// * It records who is calling from where (the connection's local and peer addresses), for the
//   servants: the log of administrative calls names the caller; and whether that caller is still
//   connected (caller_gone()), so that an order whose caller gave up waiting is not carried out.
// * It asks the access check (oserv/Authorization) who the caller is and whether it may call
//   the operation; a caller that may not gets NO_PERMISSION before anything runs.
// * It refuses (OBJECT_NOT_EXIST) a request that arrived at an address the odlist records for
//   another dispatcher: a listener on all addresses of a host that also carries a stopped node's
//   service address must not answer in that node's place (see set_request_guard).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <omniORB4/CORBA.h>

#include "Access.h"

struct x509_st;  // OpenSSL's X509

namespace openoserv {

// The name of the POA that serves framework objects; its persistent keys are "\xffOID\0<oid>".
inline constexpr const char* kObjectPoaName = "OID";

struct RequestContext {
  std::string local_address;  // "giop:ssl:127.0.0.2:9494", "giop:unix:/…/oserv.sock"
  std::string peer_address;   // "giop:ssl:127.0.0.1:41302", "giop:unix:…"
  std::string operation;
  int socket = -1;            // the connection's, for caller_gone()
  // The verified certificate a TLS peer showed (OpenSSL's X509; null: none), owned by the
  // connection.
  const ::x509_st* peer_certificate = nullptr;
  Principal principal;        // who calls (set by the access check)
  std::string on_behalf_of;   // the caller's kOnBehalfOfContext, if it sent one
  std::uint64_t caller_epoch = 0;  // the caller's kEpochContext (a primary TMR server's), or 0
  std::string_view object_key;  // the request's object key as sent (during the access check)
  // More than kSmallArguments bytes of arguments follow the request's header, or may still
  // come (a fragmented request): read before the access check, so that what anyone may call
  // can be refused before a large argument is allocated.
  bool large_arguments = false;
  static constexpr std::uint32_t kSmallArguments = 64 * 1024;

  // Whether the caller came over the Unix socket (a local client) rather than TLS.
  bool on_unix_socket() const { return peer_address.rfind("giop:unix:", 0) == 0; }

  // The request being served on this thread (empty outside a request).
  static const RequestContext& current();
  // "giop:ssl:127.0.0.1:41302" or "a local client" — for log lines.
  static std::string caller();
  // Records a refusal decided past the access check (a method's role) in the audit log.
  static void note_refusal(const std::string& why);
  // Records, for the generic invoke, the method it runs (audited as the method is).
  static void note_invoke(const std::string& oid, const std::string& method);
  // True when the caller of the current request has closed its connection: it gave up waiting
  // (a client's call timeout closes the connection), so the reply would reach nobody.
  static bool caller_gone();
};

// Answers the request in its access check with a GIOP LOCATION_FORWARD to the same object key
// at `host_port` (an oserv's TLS port): the caller's ORB sends the request there itself, with
// its own credentials, as any CORBA client follows a forward.
[[noreturn]] void forward_request(CORBA::ORB_ptr orb, const RequestContext& request,
                                  const std::string& host_port);

// Decides, for a request that arrived at TLS address `ip`:`port` of this host, whether it was
// meant for another dispatcher (whose number it returns, 0 if not).
using RequestGuard = std::function<std::uint32_t(const std::string& ip, std::uint16_t port)>;

// Decides whether the request may run: sets request.principal, and throws CORBA::NO_PERMISSION
// (after logging) when it may not.
using AccessCheck = std::function<void(RequestContext& request)>;

// Installs the interceptor on the process's ORB (call once, after ORB_init, before the POAs).
// A request must arrive whole within `timeout` of its header (a caller that stalls mid-request
// loses its connection); the reply is written without a deadline on TLS connections (their
// listener's TCP user timeout bounds it: limit_unacknowledged_data) and within `timeout` on
// the Unix socket. Requests that arrive whole, the common case, never wait on the socket with
// a deadline, which would cost a poll and two blocking-mode switches per request.
void install_request_interceptor(std::chrono::seconds timeout);
class OservMetrics;
// Counts every request's operation, result and latency there from now on (set once, before the
// endpoints are activated, for the process's life; null: none).
void set_call_metrics(OservMetrics* metrics);
// Sets the guard (before the endpoints are activated).
void set_request_guard(RequestGuard guard);
// What the servants report to the access check's audit log.
struct AuditNotes {
  // A refusal decided past the access check (RequestContext::note_refusal).
  std::function<void(const RequestContext&, const std::string& why)> refused;
  // The generic invoke's method (RequestContext::note_invoke).
  std::function<void(const RequestContext&, const std::string& oid, const std::string& method)>
      invoked;
};

// Sets the access check (before the endpoints are activated); without one every call runs.
void set_access_check(AccessCheck check, AuditNotes notes = {});

}  // namespace openoserv
