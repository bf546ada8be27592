// wchkdb: offline check of an object database (the oserv must be stopped: it owns the database).
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "Database.h"
#include "DatabaseCheck.h"
#include "Instance.h"
#include "ProgramVersion.h"

namespace po = boost::program_options;
using namespace openoserv;

int main(int argc, char** argv) {
  std::string id, etc_root, registry, dbdir;
  po::options_description opts(
      "Usage: wchkdb [--id ID | --dbdir DIR] [options]\n\n"
      "Checks a stopped instance's object database: recovers it from odb.log like a start\n"
      "would, then verifies every odlist record and reports attributes and names that refer to\n"
      "objects which do not exist (dangling references), one line each.\n\n"
      "Exit codes: 0 consistent, 1 problems found (listed), 2 usage or configuration error,\n"
      "3 the database is in use by a running oserv (stop it first), 4 the database cannot be\n"
      "opened (damaged journal or LMDB error).\n\nOptions");
  opts.add_options()("help,h", "print this help and exit")("version", "print the version and exit")(
      "id", po::value(&id), "instance ID (default: $OSERV, else oserv)")(
      "etc-root", po::value(&etc_root), "configuration root (default: $OSERV_ETC_ROOT)")(
      "registry", po::value(&registry), "read instances from this registry export")(
      "dbdir", po::value(&dbdir), "check this database directory instead of an instance's");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "wchkdb: %s (see wchkdb --help)\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << opts;
    return 0;
  }
  if (vm.count("version")) {
    print_version("wchkdb");
    return 0;
  }
  try {
    if (dbdir.empty()) {
      InstanceFlags flags;
      if (vm.count("id")) flags.id = id;
      if (vm.count("etc-root")) flags.etc_root = etc_root;
      if (vm.count("registry")) flags.registry = registry;
      dbdir = load_instance(flags).dbdir;
    }
    auto db = db::Database::open(dbdir, {.owner_id = "wchkdb"});
    if (const auto& r = db->recovery(); !r.rolled_back.empty())
      fmt::print("recovered: rolled back {} transaction(s) from odb.log\n", r.rolled_back.size());
    auto problems = check_database(*db);
    for (const auto& p : problems) fmt::print("{}\n", p);
    fmt::print("{}: {} problem(s)\n", dbdir, problems.size());
    return problems.empty() ? 0 : 1;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "wchkdb: %s\n", e.what());
    return 2;
  } catch (const db::DbInUse& e) {
    std::fprintf(stderr, "wchkdb: %s; stop it first\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wchkdb: %s\n", e.what());
    return 4;
  }
}
