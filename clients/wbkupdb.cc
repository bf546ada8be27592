// wbkupdb: online backup of an oserv's object database into a directory on the oserv's host.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "OservClient.h"

namespace po = boost::program_options;
using namespace openoserv;

int main(int argc, char** argv) {
  ClientOptions client_options;
  std::string target;
  po::options_description opts(
      "Usage: wbkupdb [options] DIRECTORY\n\n"
      "Copies the running oserv's database into DIRECTORY (absent or empty, on the oserv's host)\n"
      "without stopping it. The copy holds the committed state only: transactions open at the\n"
      "moment of the copy are left out. Restore by stopping the oserv and replacing DBDIR's\n"
      "data.mdb with the copy's.\n\n"
      "Exit codes: 0 done, 1 the oserv failed the backup, 2 usage error, 3 the oserv does not\n"
      "answer.\n\nOptions");
  opts.add_options()("help,h", "print this help and exit");
  client_options.add_to(opts);
  po::options_description hidden;
  hidden.add_options()("target", po::value(&target));
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description positional;
  positional.add("target", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "wbkupdb: %s (see wbkupdb --help)\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << opts;
    return 0;
  }
  if (target.empty()) {
    std::fprintf(stderr, "wbkupdb: a target DIRECTORY is needed (see wbkupdb --help)\n");
    return 2;
  }
  try {
    OservClient client(client_options, vm);
    const std::string dir = std::filesystem::absolute(target).lexically_normal().string();
    CORBA::String_var msg = client.call([&] { return client.dispatcher()->backup(dir.c_str()); });
    fmt::print("{}\n", msg.in());
    return 0;
  } catch (const ClientError& e) {
    std::fprintf(stderr, "wbkupdb: %s\n", e.what());
    return e.unreachable() ? 3 : 1;
  }
}
