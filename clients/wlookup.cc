// wlookup: find objects by name in the region's name registry (kept at the TMR server).
#include <fmt/core.h>

#include "ClientMain.h"
#include "JsonOutput.h"

namespace po = boost::program_options;
using namespace openoserv;

namespace {

const char* kUsageText = R"(Usage: wlookup -r RESOURCE LABEL [--ior | --url]
       wlookup -r RESOURCE -a

Prints the OID registered as LABEL under RESOURCE (e.g. wlookup -r ManagedNode black; "black"
also finds "black.itsc.austin.ibm.com"), or with -a every LABEL and OID of the resource.
With --ior it prints the object's CORBA reference instead (an IOR made by the dispatcher that
owns the object), with --url its corbaloc URL at the owner's address. Both stay valid across
restarts and failovers, and any ORB can call them (idlcall takes them too).

Exit codes: 0 found, 1 no such name, 2 usage error, 3 the oserv does not answer.
)";

std::string resource;
bool all = false, ior = false, url = false;

int lookup(OservClient& client, const std::vector<std::string>& args) {
  if (resource.empty()) throw UsageError("-r RESOURCE is needed");
  if (ior && url) throw UsageError("--ior and --url exclude each other");
  auto d = client.dispatcher();
  if (all) {
    if (!args.empty() || ior || url) throw UsageError("-a takes no LABEL, --ior or --url");
    OServ::NameEntries_var names = client.call([&] { return d->list_names(resource.c_str()); });
    if (json_output()) {
      Json j = json_document("names", 1);
      j["resource"] = resource;
      j["names"] = Json::array();
      for (CORBA::ULong i = 0; i < names->length(); ++i)
        j["names"].push_back({{"label", names[i].label.in()}, {"oid", names[i].oid.in()}});
      print_json(j);
      return 0;
    }
    for (CORBA::ULong i = 0; i < names->length(); ++i)
      fmt::print("{} {}\n", names[i].label.in(), names[i].oid.in());
    return 0;
  }
  if (args.size() != 1) throw UsageError("one LABEL is needed (or -a)");
  CORBA::String_var oid = client.call([&] { return d->lookup(resource.c_str(), args[0].c_str()); });
  if (json_output()) {
    Json j = json_document("lookup", 1);
    j["resource"] = resource;
    j["label"] = args[0];
    j["oid"] = oid.in();
    if (ior) j["ior"] = CORBA::String_var(client.call([&] { return d->object_ior(oid.in()); })).in();
    if (url) j["url"] = CORBA::String_var(client.call([&] { return d->object_url(oid.in()); })).in();
    print_json(j);
    return 0;
  }
  if (ior) oid = client.call([&] { return d->object_ior(oid.in()); });
  if (url) oid = client.call([&] { return d->object_url(oid.in()); });
  fmt::print("{}\n", oid.in());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return client_main(
      {.name = "wlookup",
       .usage = kUsageText,
       .options =
           [](po::options_description& opts) {
             opts.add_options()("resource,r", po::value(&resource), "the resource (name space)")(
                 "all,a", po::bool_switch(&all), "list every name of the resource")(
                 "ior", po::bool_switch(&ior), "print the object's IOR instead of its OID")(
                 "url", po::bool_switch(&url), "print the object's corbaloc URL instead");
           },
       .body = lookup,
       .json = true},
      argc, argv);
}
