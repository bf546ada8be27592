// wping: is the oserv of a managed node alive? Asks the local oserv to ping the dispatcher that
// the odlist knows under HOST (a logical host name, alias or address), so it works from any node.
#include <cstdio>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "ClientMain.h"

namespace po = boost::program_options;
using namespace openoserv;

const char* kUsageText =
    "Usage: wping [options] HOST\n\n"
    "Checks that the oserv of the dispatcher known in the odlist as HOST (a host name, alias\n"
    "or IP address, or a dispatcher number) answers, by a call from the local oserv.\n\n"
    "Exit codes: 0 alive, 1 not answering or not in the odlist, 2 usage error, 3 the local\n"
    "oserv does not answer.\n";

int wping(OservClient& client, const std::vector<std::string>& args) {
  if (args.size() != 1) throw UsageError("one HOST is needed (see wping --help)");
  const std::string& target = args[0];
  auto d = client.dispatcher();
  OServ::OdEntries_var list = client.call([&] { return d->odlist(); });
  CORBA::ULong od = 0;
  for (CORBA::ULong i = 0; i < list->length() && !od; ++i) {
    const auto& e = list[i];
    if (target == e.ipaddr.in() || target == std::to_string(e.od)) od = e.od;
    for (CORBA::ULong h = 0; h < e.hostnames.length() && !od; ++h) {
      const std::string name = e.hostnames[h].in();
      // "black" also matches "black.itsc.austin.ibm.com", as Tivoli's labels do.
      if (name == target || name.rfind(target + ".", 0) == 0) od = e.od;
    }
  }
  if (!od) {
    std::fprintf(stderr, "wping: %s is not a dispatcher of this region (see odadmin odlist)\n",
                 target.c_str());
    return 1;
  }
  CORBA::String_var host = client.call([&] { return d->ping_od(od); });
  fmt::print("{} (dispatcher {}) is alive\n", *host.in() ? host.in() : target.c_str(), od);
  return 0;
}

int main(int argc, char** argv) {
  return client_main({.name = "wping", .usage = kUsageText, .body = wping}, argc, argv);
}
