// odstat: the method threads of an oserv (appendix C of the seed).
#include <fmt/core.h>

#include "ClientMain.h"
#include "JsonOutput.h"

namespace po = boost::program_options;
using namespace openoserv;

namespace {
bool current = false, verbose = false;
}

int main(int argc, char** argv) {
  return client_main(
      {.name = "odstat",
       .usage =
           "Usage: odstat -c [-v] [options]\n\n"
           "Lists the method threads of the oserv: thread id, state (run: the method runs here;\n"
           "rwait: this dispatcher waits on the dispatcher that owns the object), start time,\n"
           "OID and method; -v adds the pid of the method program. A method in any state other\n"
           "than run for long points at a dispatcher to check (wping it).\n\n"
           "Exit codes: 0 success, 2 usage error, 3 the oserv does not answer.\n",
       .options =
           [](po::options_description& opts) {
             opts.add_options()("current,c", po::bool_switch(&current),
                                "list the current method threads")(
                 "verbose,v", po::bool_switch(&verbose), "with -c: add the pid");
           },
       .body =
           [](OservClient& client, const std::vector<std::string>& args) {
             if (!args.empty()) throw UsageError("odstat takes no arguments");
             if (!current) throw UsageError("only -c is supported (see odstat --help)");
             OServ::MethodThreads_var list = client.call([&] { return client.dispatcher()->odstat(); });
             if (json_output()) {
               Json j = json_document("odstat", 1);
               j["threads"] = Json::array();
               for (CORBA::ULong i = 0; i < list->length(); ++i) {
                 const auto& t = list[i];
                 j["threads"].push_back({{"id", t.id}, {"state", t.state.in()},
                                         {"started", t.started.in()}, {"oid", t.oid.in()},
                                         {"method", t.method.in()}, {"pid", t.pid}});
               }
               print_json(j);
               return 0;
             }
             for (CORBA::ULong i = 0; i < list->length(); ++i) {
               const auto& t = list[i];
               fmt::print("{:<6}{:<7}{}  {} {}", t.id, t.state.in(), t.started.in(), t.oid.in(),
                          t.method.in());
               if (verbose) fmt::print(" pid={}", t.pid);
               fmt::print("\n");
             }
             return 0;
           },
       .json = true},
      argc, argv);
}
