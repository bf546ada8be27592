// Runs the endpoint protocol's fuzz target without libFuzzer: a valid session (one frame of
// every type) mutated at random, ROUNDS from argv[1].
#include <cstdlib>
#include <string>

#include "Mutations.h"
#include "Protocol.h"

int main(int argc, char** argv) {
  using namespace openoserv::lcf;
  const long rounds = argc > 1 ? std::atol(argv[1]) : 100000;
  // omniORB reports each malformed string it is given; a peer's bad frames are ours to report.
  omniORB::traceLevel = 0;
  Lcf::Login login;
  login.protocol = 1;
  login.kind = "normal";
  login.label = "ep";
  login.oid = "1.2.3#TMF_Endpoint::Endpoint#";
  login.key = "k";
  login.interp = "linux-x86_64";
  login.address = "127.0.0.5";
  login.port = 9495;
  Lcf::LoginReply reply;
  reply.accepted = true;
  reply.alternates.length(2);
  reply.alternates[0] = "gw1+9494";
  reply.alternates[1] = "gw2+9494";
  reply.heartbeat = 30;
  Lcf::Downcall call;
  call.method = "m";
  call.args.length(1);
  call.args[0] = "arg";
  Lcf::MethodBody body;
  body.digest = "d";
  body.program.length(40);
  Lcf::Upcall up;
  up.id = 5;
  up.method = "report";
  Lcf::Redirect redirect;
  redirect.gateways.length(1);
  redirect.gateways[0] = "gw2+9494";
  std::string seed = encode(Type::kLogin, 1, login) + encode(Type::kLoginReply, 1, reply) +
                     encode(Type::kHeartbeat, 0, Lcf::Heartbeat{1}) +
                     encode(Type::kDowncall, 2, call) +
                     encode(Type::kDowncallResult, 2, Lcf::DowncallResult{0, "ok"}) +
                     encode(Type::kMethodRequest, 3, Lcf::MethodRequest{"d"}) +
                     encode(Type::kMethodBody, 3, body) + encode(Type::kUpcall, 4, up) +
                     encode(Type::kUpcallAck, 4, Lcf::UpcallAck{5}) +
                     encode(Type::kRedirect, 0, redirect);
  openoserv::fuzz::run_mutations(seed, rounds, 20261128);
  return 0;
}
