// objcall: invoke a method on an object by OID, from any node of the region. The call goes to
// the local oserv, which forwards it to the dispatcher that owns the object.
#include <cstdio>

#include <fmt/core.h>

#include "ClientMain.h"

using namespace openoserv;

int main(int argc, char** argv) {
  return client_main(
      {.name = "objcall",
       .usage =
           "Usage: objcall [options] OID METHOD [ARGS...]\n\n"
           "Invokes METHOD on the object OID (<region>.<dispatcher>.<object>#<class>#, or without\n"
           "the #class# part) and prints what it returned. Built-in methods: ManagedNode ping,\n"
           "hostname, run_script SCRIPT; TaskLibrary add_task, list_tasks, run_task (see wtask).\n"
           "Other classes run the method program installed with wclass.\n\n"
           "Exit codes: the method's own exit code when it ran; 1 the call failed (no such object\n"
           "or method, the owning dispatcher does not answer: the message names it), 2 usage\n"
           "error, 3 the local oserv does not answer.\n",
       .body =
           [](OservClient& client, const std::vector<std::string>& args) {
             if (args.size() < 2) throw UsageError("an OID and a METHOD are needed");
             OServ::StringList wire;
             wire.length(static_cast<CORBA::ULong>(args.size() - 2));
             for (size_t i = 2; i < args.size(); ++i)
               wire[static_cast<CORBA::ULong>(i - 2)] = args[i].c_str();
             OServ::MethodResult_var r = client.call([&] {
               return client.dispatcher()->invoke(args[0].c_str(), args[1].c_str(), wire);
             });
             std::fputs(r->output.in(), stdout);
             return static_cast<int>(r->exit_code);
           },
       .negative_numbers = true},
      argc, argv);
}
