// The server request interceptor.
#include "RequestContext.h"

#include <omniORB4/internal/giopStrand.h>
#include <omniORB4/internal/giopStream.h>
#include <omniORB4/internal/GIOP_S.h>
#include <omniORB4/omniInterceptors.h>

#include <cstring>

namespace openoserv {

namespace {

thread_local RequestContext current_request;

// The object POA's key prefix: POA name separator, the name, the terminating NUL.
std::string object_key_prefix() {
  std::string prefix = "\xff";
  prefix += kObjectPoaName;
  prefix += '\0';
  return prefix;
}

CORBA::Boolean on_request(omni::omniInterceptors::serverReceiveRequest_T::info_T& info) {
  current_request.local_address = info.myaddress() ? info.myaddress() : "";
  current_request.peer_address = info.peeraddress() ? info.peeraddress() : "";
  current_request.operation = info.operation() ? info.operation() : "";
  omni::GIOP_S& request = info.giop_s;
  const int size = request.keysize();
  const CORBA::Octet* key = request.key();
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
  if (peer.rfind("giop:unix:", 0) == 0) return "a local client (Unix socket)";
  return peer;
}

void install_request_interceptor() {
  omniORB::getInterceptors()->serverReceiveRequest.add(on_request);
}

}  // namespace openoserv
