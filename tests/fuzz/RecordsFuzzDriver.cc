// Runs the records and configuration readers' fuzz target without libFuzzer: a valid input of
// each reader mutated at random, ROUNDS (argv[1]) in all, a fixed seed.
#include <cstdlib>
#include <string>
#include <vector>

#include "LcfDat.h"
#include "Mutations.h"
#include "Records.h"

int main(int argc, char** argv) {
  using namespace openoserv;
  const long rounds = argc > 1 ? std::atol(argv[1]) : 100000;
  omniORB::traceLevel = 0;  // the CDR decoder reports each malformed string it is given
  lcf::LcfDat dat;
  dat.label = "ep1";
  dat.oid = "1.2.3#TMF_Endpoint::Endpoint#";
  dat.key = "k3y";
  dat.gateway = {"127.0.0.3", 9494};
  dat.alternates = {{"127.0.0.4", 9494}};
  dat.last_login = 1765000000;
  dat.region_ca = std::string(64, 'a');
  const std::vector<std::string> seeds = {
      records::encode_od({.od = 2, .port = 9494, .ip = "10.0.0.2", .hostnames = {"black", "b"},
                          .force_bind = true}),
      records::encode_administrator({.name = "alice", .logins = {"alice", "bob@black"},
                                     .roles = 3, .certificates = {"0A1B"}}),
      records::encode_endpoint({.label = "ep1", .oid = "1.2.3#TMF_Endpoint::Endpoint#",
                                .interp = "linux-x86_64", .address = "10.0.0.9",
                                .gateway = "gw1", .last_login = 1765000000,
                                .login_kind = "normal", .migrations = 1, .key_hash = "h",
                                .last_upcall = 4, .login_interfaces = "gw+9494"}),
      records::encode_gateway({.label = "gw1", .oid = "1.2.5#TMF_Gateway::Gateway#", .od = 2,
                               .host = "10.0.0.2", .port = 9494, .ior = "IOR:00"}),
      records::encode_class({{"say", "/bin/echo"}, {"run", "/usr/bin/env"}}),
      records::encode_string("a task script\n"),
      "oserv:/var/db/black.db:/etc/Tivoli:94:black\n# comment\noserv1::::\n",
      "Windows Registry Editor Version 5.00\r\n\r\n; exported\r\n"
      "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\oserv\\Parameters]\r\n"
      "\"dbdir\"=\"/var/db/a.db\"\r\n\"hostname\"=\"black\"\r\n\"port\"=dword:0000005e\r\n",
      lcf::serialize(dat),
  };
  for (std::size_t i = 0; i < seeds.size(); ++i)
    fuzz::run_mutations(std::string(1, static_cast<char>(i)) + seeds[i],
                        rounds / static_cast<long>(seeds.size()), 20261208 + i);
  return 0;
}
