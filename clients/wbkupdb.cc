// wbkupdb: online backup of an oserv's object database into a directory on the oserv's host.
#include <filesystem>

#include <fmt/core.h>

#include "ClientMain.h"

using namespace openoserv;

int main(int argc, char** argv) {
  return client_main(
      {.name = "wbkupdb",
       .usage =
           "Usage: wbkupdb [options] DIRECTORY\n\n"
           "Copies the running oserv's database into DIRECTORY (absent or empty, on the oserv's\n"
           "host) without stopping it. The copy holds the committed state only: transactions open\n"
           "at the moment of the copy are left out. Restore by stopping the oserv and replacing\n"
           "DBDIR's data.mdb with the copy's.\n\n"
           "Exit codes: 0 done, 1 the oserv failed the backup, 2 usage error, 3 the oserv does\n"
           "not answer.\n",
       .body =
           [](OservClient& client, const std::vector<std::string>& args) {
             if (args.size() != 1) throw UsageError("one target DIRECTORY is needed");
             const std::string dir = std::filesystem::absolute(args[0]).lexically_normal().string();
             CORBA::String_var msg =
                 client.call([&] { return client.dispatcher()->backup(dir.c_str()); });
             fmt::print("{}\n", msg.in());
             return 0;
           }},
      argc, argv);
}
