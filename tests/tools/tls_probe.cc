// tls_probe: the region CA's certificates on omniORB's SSL transport, the ground the dispatchers'
// TLS will stand on (tests/integration/tls_probe_test.sh).
//
//   tls_probe ca DIR REGION                    a region CA in DIR (ca.pem, ca.key)
//   tls_probe issue CADIR DIR REGION OD HOURS  an identity for dispatcher OD in DIR (self.pem,
//                                              self.key, ca.pem, identity.pem = both for omniORB)
//   tls_probe serve DIR PORT                   an SSL-only server at 127.0.0.1:PORT (peer
//                                              certificate required); Hop::call() returns the
//                                              caller's certificate identity (its CN)
//   tls_probe call DIR URL                     calls URL with DIR's identity (DIR "-": no
//                                              certificate, plain IIOP); prints the answer
// Exit codes: 0 done, 1 the call failed (its CORBA exception is printed), 2 usage.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <omniORB4/omniInterceptors.h>
#include <omniORB4/sslContext.h>

#include <fmt/core.h>

#include "OrbInit.h"
#include "RegionCa.h"
#include "raw.hh"

using namespace openoserv;

namespace {

thread_local std::string caller_identity;

CORBA::Boolean note_identity(omni::omniInterceptors::serverReceiveRequest_T::info_T& info) {
  caller_identity = info.peeridentity() ? info.peeridentity() : "";
  return true;
}

class Probe : public POA_RawBench::Hop {
 public:
  char* call() override { return CORBA::string_dup(caller_identity.c_str()); }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// omniORB 4.2 loads the private key only when a key password is set ("sslContext private key
// is not set", then "no shared cipher" at the handshake); the key is not encrypted, so any
// value does.
OrbOptions ssl_options(const std::string& dir) {
  return {{"sslCAFile", dir + "/ca.pem"},
          {"sslKeyFile", dir + "/identity.pem"},
          {"sslKeyPassword", "unencrypted"},
          {"sslVerifyMode", "peer,fail"}};
}

int serve(const std::string& dir, const std::string& port) {
  OrbOptions options = ssl_options(dir);
  options.emplace_back("endPoint", "giop:ssl:127.0.0.1:" + port);
  CORBA::ORB_var orb = init_orb("tls_probe", options);
  omniORB::getInterceptors()->serverReceiveRequest.add(note_identity);
  CORBA::Object_var obj = orb->resolve_initial_references("omniINSPOA");
  PortableServer::POA_var poa = PortableServer::POA::_narrow(obj);
  PortableServer::ObjectId_var id = PortableServer::string_to_ObjectId("Probe");
  poa->activate_object_with_id(id, new Probe);
  PortableServer::POAManager_var manager = poa->the_POAManager();
  manager->activate();
  std::printf("ready\n");
  std::fflush(stdout);
  orb->run();
  return 0;
}

int call(const std::string& dir, const std::string& url) {
  CORBA::ORB_var orb = init_orb("tls_probe", dir == "-" ? OrbOptions{} : ssl_options(dir));
  try {
    CORBA::Object_var obj = orb->string_to_object(url.c_str());
    RawBench::Hop_var hop = RawBench::Hop::_unchecked_narrow(obj);
    omniORB::setClientCallTimeout(hop, 5000);
    CORBA::String_var who = hop->call();
    std::printf("%s\n", who.in());
    orb->destroy();
    return 0;
  } catch (const CORBA::Exception& e) {
    std::printf("%s\n", e._name());
    orb->destroy();
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // The SSL transport registers itself when linked in; name a symbol so the linker keeps it.
  (void)sslContext::verify_mode;
  const std::string verb = argc > 1 ? argv[1] : "";
  try {
    if (verb == "ca" && argc == 4) {
      tls::save_ca(argv[2], tls::make_region_ca(static_cast<std::uint32_t>(std::stoul(argv[3]))),
                   true);
      return 0;
    }
    if (verb == "issue" && argc == 7) {
      const tls::Identity ca{read_file(std::string(argv[2]) + "/ca.key"),
                             read_file(std::string(argv[2]) + "/ca.pem")};
      const tls::Identity self =
          tls::issue(ca,
                     {.kind = tls::Subject::Kind::kDispatcher,
                      .region = static_cast<std::uint32_t>(std::stoul(argv[4])),
                      .od = static_cast<std::uint32_t>(std::stoul(argv[5])), .name = "",
                      .ip = "127.0.0.1"},
                     std::chrono::hours(std::stol(argv[6])));
      tls::save_ca(argv[3], ca, false);
      tls::save_self(argv[3], self, ca.cert_pem);
      return 0;
    }
    if (verb == "serve" && argc == 4) return serve(argv[2], argv[3]);
    if (verb == "call" && argc == 4) {
      // Ends without static destructors and the leak check: omniORB's SSL context is a
      // process-lifetime singleton it never frees, which is no finding about our code.
      const int code = call(argv[2], argv[3]);
      std::fflush(stdout);
      std::_Exit(code);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tls_probe: %s\n", e.what());
    return 1;
  } catch (const CORBA::Exception& e) {
    std::fprintf(stderr, "tls_probe: CORBA %s\n", e._name());
    return 1;
  }
  std::fprintf(stderr, "usage: see the head of tests/tools/tls_probe.cc\n");
  return 2;
}
