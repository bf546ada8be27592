// wtask: task libraries at the TMR server; running a task on a managed node.
#include <cstdio>

#include <fmt/core.h>

#include "ClientMain.h"
#include "TextFile.h"

using namespace openoserv;

namespace {

// The TaskLibrary object LIBRARY, created (on the TMR server) when `create` and missing.
std::string library_oid(OservClient& client, const std::string& library, bool create) {
  auto d = client.dispatcher();
  try {
    CORBA::String_var oid = d->lookup("TaskLibrary", library.c_str());
    return oid.in();
  } catch (const OServ::Failed& e) {
    if (!create) throw ClientError(e.reason.in());
  } catch (const CORBA::Exception& e) {
    throw ClientError(client.explain(e), OservClient::is_unreachable(e));
  }
  // Task libraries live on the TMR server, so a new one is created there.
  OServ::StatusBlock_var status = client.call([&] { return d->status(); });
  if (status->dispatcher != 1)
    throw ClientError(fmt::format("task library {} does not exist; create it by running wtask "
                                  "add at the TMR server",
                                  library));
  CORBA::String_var oid = client.call([&] {
    return d->create_object("TMF_TaskLibrary::TaskLibrary", "TaskLibrary", library.c_str());
  });
  return oid.in();
}

OServ::MethodResult* call(OservClient& client, const std::string& oid, const char* method,
                          const std::vector<std::string>& args) {
  OServ::StringList wire;
  wire.length(static_cast<CORBA::ULong>(args.size()));
  for (CORBA::ULong i = 0; i < args.size(); ++i) wire[i] = args[i].c_str();
  return client.call([&] { return client.dispatcher()->invoke(oid.c_str(), method, wire); });
}

}  // namespace

int main(int argc, char** argv) {
  return client_main(
      {.name = "wtask",
       .usage =
           "Usage: wtask add LIBRARY TASK SCRIPT_FILE\n"
           "       wtask list LIBRARY\n"
           "       wtask run LIBRARY TASK NODE\n\n"
           "add:  stores the shell script SCRIPT_FILE as TASK in the task library LIBRARY at the\n"
           "      TMR server (created there on first use).\n"
           "list: lists the tasks of LIBRARY.\n"
           "run:  runs TASK on the managed node NODE (its ManagedNode label): the TMR server copies\n"
           "      the script there and the node runs it as a method thread; prints its output.\n\n"
           "Exit codes: run: the task's exit code; otherwise 0 done. 1 refused or the call failed,\n"
           "2 usage error, 3 the oserv does not answer.\n",
       .body =
           [](OservClient& client, const std::vector<std::string>& args) {
             const std::string cmd = args.empty() ? "" : args[0];
             OServ::MethodResult_var r;
             if (cmd == "add" && args.size() == 4) {
               auto script = read_text_file(args[3]);
               if (!script) throw UsageError(fmt::format("{} does not exist", args[3]));
               r = call(client, library_oid(client, args[1], true), "add_task", {args[2], *script});
             } else if (cmd == "list" && args.size() == 2) {
               r = call(client, library_oid(client, args[1], false), "list_tasks", {});
             } else if (cmd == "run" && args.size() == 4) {
               r = call(client, library_oid(client, args[1], false), "run_task", {args[2], args[3]});
             } else {
               throw UsageError("see wtask --help for the commands and their arguments");
             }
             std::fputs(r->output.in(), stdout);
             return static_cast<int>(r->exit_code);
           }},
      argc, argv);
}
