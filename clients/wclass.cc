// wclass: install classes whose methods are programs, and create their objects.
#include <fmt/core.h>

#include "ClientMain.h"

using namespace openoserv;

int main(int argc, char** argv) {
  return client_main(
      {.name = "wclass",
       .usage =
           "Usage: wclass method CLASS METHOD PROGRAM\n"
           "       wclass methods CLASS\n"
           "       wclass create CLASS RESOURCE LABEL\n\n"
           "method:  installs (or replaces) METHOD of CLASS as PROGRAM (an absolute path on every\n"
           "         node). The class is kept at the TMR server and sent to every dispatcher. The\n"
           "         program runs as: PROGRAM OID METHOD ARGS..., with OSERV_OID, OSERV_METHOD,\n"
           "         OSERV_DISPATCHER and OSERV_METHOD_THREAD set; its output and exit code are\n"
           "         the method's.\n"
           "methods: lists the methods of CLASS.\n"
           "create:  creates an object of CLASS on this oserv's dispatcher, named LABEL under\n"
           "         RESOURCE, and prints its OID.\n\n"
           "Exit codes: 0 done, 1 refused, 2 usage error, 3 the oserv does not answer.\n",
       .body =
           [](OservClient& client, const std::vector<std::string>& args) {
             auto d = client.dispatcher();
             const std::string cmd = args.empty() ? "" : args[0];
             if (cmd == "method" && args.size() == 4) {
               client.call([&] {
                 d->install_method(args[1].c_str(), args[2].c_str(), args[3].c_str());
               });
               fmt::print("Method {} of class {} installed: {}\n", args[2], args[1], args[3]);
             } else if (cmd == "methods" && args.size() == 2) {
               OServ::MethodDefs_var defs =
                   client.call([&] { return d->class_methods(args[1].c_str()); });
               for (CORBA::ULong i = 0; i < defs->length(); ++i)
                 fmt::print("{} {}\n", defs[i].name.in(), defs[i].program.in());
             } else if (cmd == "create" && args.size() == 4) {
               CORBA::String_var oid = client.call([&] {
                 return d->create_object(args[1].c_str(), args[2].c_str(), args[3].c_str());
               });
               fmt::print("{}\n", oid.in());
             } else {
               throw UsageError("see wclass --help for the commands and their arguments");
             }
             return 0;
           }},
      argc, argv);
}
