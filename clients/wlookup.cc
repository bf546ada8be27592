// wlookup: find objects by name in the region's name registry (kept at the TMR server).
#include <fmt/core.h>

#include "ClientMain.h"

namespace po = boost::program_options;
using namespace openoserv;

namespace {
std::string resource;
bool all = false;
}

int main(int argc, char** argv) {
  return client_main(
      {.name = "wlookup",
       .usage =
           "Usage: wlookup -r RESOURCE LABEL\n"
           "       wlookup -r RESOURCE -a\n\n"
           "Prints the OID registered as LABEL under RESOURCE (e.g. wlookup -r ManagedNode black),\n"
           "or with -a every LABEL and OID of the resource.\n\n"
           "Exit codes: 0 found, 1 no such name, 2 usage error, 3 the oserv does not answer.\n",
       .options =
           [](po::options_description& opts) {
             opts.add_options()("resource,r", po::value(&resource), "the resource (name space)")(
                 "all,a", po::bool_switch(&all), "list every name of the resource");
           },
       .body =
           [](OservClient& client, const std::vector<std::string>& args) {
             if (resource.empty()) throw UsageError("-r RESOURCE is needed");
             auto d = client.dispatcher();
             if (all) {
               if (!args.empty()) throw UsageError("-a takes no LABEL");
               OServ::NameEntries_var names =
                   client.call([&] { return d->list_names(resource.c_str()); });
               for (CORBA::ULong i = 0; i < names->length(); ++i)
                 fmt::print("{} {}\n", names[i].label.in(), names[i].oid.in());
               return 0;
             }
             if (args.size() != 1) throw UsageError("one LABEL is needed (or -a)");
             CORBA::String_var oid =
                 client.call([&] { return d->lookup(resource.c_str(), args[0].c_str()); });
             fmt::print("{}\n", oid.in());
             return 0;
           }},
      argc, argv);
}
