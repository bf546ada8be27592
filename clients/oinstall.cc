// oinstall: create an oserv instance (TMR server): database, etc directory scripts, instances
// entry. The instances entry is written last, so an interrupted install leaves no half-registered
// instance behind.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <random>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "Database.h"
#include "Instance.h"
#include "InstanceScripts.h"
#include "LogicalHost.h"
#include "TextFile.h"
#include "HostPort.h"
#include "Odlist.h"
#include "OrbInit.h"
#include "Timeouts.h"
#include "WireConvert.h"
#include "oserv.hh"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace openoserv;

namespace {

const char* kUsage = R"(Usage: oinstall --dbdir DIR [options]
       oinstall --managed-node --tmr HOST[:PORT] --dbdir DIR [options]

Creates an oserv instance: a TMR server (dispatcher 1) of a new region with a random 10-digit
region number or, with --managed-node, a managed node of the region whose TMR server answers at
--tmr (it must be running): the TMR server assigns the next dispatcher number and records the
node in its odlist. It
  - initialises the object database in DBDIR (which must not hold one already),
  - writes setup_env.sh, setup_env.csh and oserv.rc into ETCDIR (default <etc-root>/<ID>),
  - adds the line ID:DBDIR:ETCDIR:PORT:HOSTNAME to <etc-root>/instances (or, with --registry,
    the key ...\Services\<ID>\Parameters to the registry export).
The ID is --id, else $OSERV, else the first free one of oserv, oserv1, oserv2, ...
The logical host is --hostname, else $WLOCALHOST, else <etc-root>/../wlocalhost, else this
machine's name; it must resolve to an address of this machine.

Then: . ETCDIR/setup_env.sh; oserv.rc start; odadmin; odadmin odlist

With --copy-to DIR (what ha/copy-cluster.sh runs), nothing is created: the existing instance
--id is copied to the etc root DIR of another cluster node (a mounted or local path): its
instances line (or, with --target-registry, its registry key), its ETCDIR when that lies under
the etc root (scripts rewritten for DIR; an ETCDIR elsewhere is taken to be on the shared disk
and left alone), and the start/stop scripts. Running it again changes nothing.

Exit codes: 0 created (or copied), 1 failure (nothing registered; the message says otherwise),
2 usage or configuration error, 3 the TMR server does not answer.
)";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct TmrUnreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string absolute(const std::string& path) {
  return fs::absolute(path).lexically_normal().string();
}

std::uint32_t new_region_number() {
  // Ten digits, as Tivoli's: 1000000000 .. 4294967295 (fits the 32-bit wire type).
  std::random_device rd;
  std::uniform_int_distribution<std::uint32_t> dist(1000000000u, 4294967295u);
  return dist(rd);
}

std::string bindir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find this program's directory (/proc/self/exe)");
  return exe.parent_path().string();
}

struct Registration {
  std::uint32_t region, od;
  std::vector<OdRecord> odlist;
};

// Asks the TMR server at `tmr` (HOST[:PORT]) for a dispatcher number.
Registration register_with_tmr(const std::string& tmr, const std::string& host,
                               const std::string& ip, std::uint16_t port, bool force_bind) {
  HostPort address;
  try {
    address = parse_host_port(tmr, kDefaultPort);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("--tmr {}", e.what()));
  }
  CORBA::ORB_var orb =
      init_orb("oinstall", {{"traceLevel", "0"},
                            {"clientCallTimeOutPeriod", std::to_string(timeouts::kTmrCall.count())},
                            {"clientConnectTimeOutPeriod", std::to_string(timeouts::kConnect.count())}});
  try {
    CORBA::Object_var obj =
        orb->string_to_object(corbaloc_url(address.text(), "Dispatcher").c_str());
    OServ::Dispatcher_var d = OServ::Dispatcher::_unchecked_narrow(obj);
    CORBA::ULong region = 0;
    OServ::OdEntries_var list;
    const CORBA::ULong od = d->register_node(host.c_str(), ip.c_str(), port, force_bind, region,
                                             list.out());
    Registration r{region, od, wire::odlist(list.in())};
    orb->destroy();
    return r;
  } catch (const OServ::Failed& e) {
    throw std::runtime_error(fmt::format("the TMR server {} refused: {}", tmr, e.reason.in()));
  } catch (const CORBA::Exception& e) {
    throw TmrUnreachable(fmt::format("the TMR server {} does not answer ({}); start it first",
                                     tmr, e._name()));
  }
}

// The instance's files under `from` copied to `to`, with the etc root's path rewritten in the
// scripts (they name it, e.g. OSERV_ETC_ROOT='/etc/Tivoli').
void copy_tree(const fs::path& from, const fs::path& to, const std::string& old_root,
               const std::string& new_root) {
  make_directories(to.string());
  for (const auto& entry : fs::directory_iterator(from)) {
    const fs::path target = to / entry.path().filename();
    if (entry.is_directory()) {
      copy_tree(entry.path(), target, old_root, new_root);
      continue;
    }
    if (!entry.is_regular_file()) continue;
    std::string text = read_text_file(entry.path().string()).value_or("");
    for (size_t pos = text.find(old_root); pos != std::string::npos;
         pos = text.find(old_root, pos + new_root.size()))
      text.replace(pos, old_root.size(), new_root);
    const auto mode = static_cast<unsigned>(entry.status().permissions() & fs::perms::mask);
    write_file_atomically(target.string(), text, mode);
  }
}

int copy_instance(const InstanceSelection& source, const std::string& id,
                  const std::string& target_root, const std::string& target_registry) {
  auto table = InstanceTable::load(source.table_path, source.table_format);
  const InstanceEntry* found = table.find(id);
  if (!found) {
    std::string known;
    for (const auto& k : table.ids()) known += (known.empty() ? "" : ", ") + k;
    throw UsageError(fmt::format("instance {} is not in {} (known: {})", id, source.table_path,
                                 known.empty() ? "none" : known));
  }
  InstanceEntry entry = *found;
  entry.origin.clear();
  const std::string root = source.etc_root;
  const std::string etcdir = entry.etcdir.value_or(source.default_etcdir());
  const bool etcdir_local = etcdir == root || etcdir.rfind(root + "/", 0) == 0;
  if (etcdir_local) {
    const std::string target_etcdir = target_root + etcdir.substr(root.size());
    copy_tree(etcdir, target_etcdir, root, target_root);
    if (entry.etcdir) entry.etcdir = target_etcdir;
  }
  const bool registry = !target_registry.empty();
  auto target = InstanceTable::load(registry ? target_registry : target_root + "/instances",
                                    registry ? InstanceTable::Format::kRegistry
                                             : InstanceTable::Format::kInstancesFile);
  std::string what = "added";
  if (const InstanceEntry* existing = target.find(id)) {
    const bool same = existing->dbdir == entry.dbdir && existing->etcdir == entry.etcdir &&
                      existing->port == entry.port && existing->hostname == entry.hostname;
    what = same ? "already up to date" : "updated";
    if (!same) target.remove_and_save(id);
  }
  if (what != "already up to date") target.add_and_save(entry);
  write_etc_root_scripts(target_root, id);
  make_directories(target_root + "/run");
  fmt::print("Instance {} copied to {}: entry {} in {}; ETCDIR {}.\n", id, target_root, what,
             target.path(),
             etcdir_local ? "copied to " + entry.etcdir.value_or(target_root + "/" + id)
                          : etcdir + " left alone (outside the etc root: the shared disk)");
  return 0;
}

int run(int argc, char** argv) {
  std::string id, etc_root, registry, dbdir, etcdir, hostname;
  int port = kDefaultPort;
  bool force_bind = false, nosync = false, managed_node = false;
  std::string tmr, copy_to, target_registry;
  po::options_description opts("Options");
  opts.add_options()
      ("help,h", "print this help and exit")
      ("id", po::value(&id), "instance ID (default: $OSERV, else the next free one)")
      ("etc-root", po::value(&etc_root),
       "configuration root (default: $OSERV_ETC_ROOT, else /etc/Tivoli)")
      ("registry", po::value(&registry), "register in this registry export (.reg) instead")
      ("dbdir", po::value(&dbdir), "database directory to create (required)")
      ("etcdir", po::value(&etcdir), "directory for the instance scripts (default <etc-root>/<ID>)")
      ("port", po::value(&port)->default_value(kDefaultPort), "TCP port")
      ("hostname", po::value(&hostname), "logical host name or address")
      ("managed-node", po::bool_switch(&managed_node),
       "create a managed node of an existing region (needs --tmr)")
      ("tmr", po::value(&tmr), "the TMR server, HOST[:PORT] (port default 94)")
      ("copy-to", po::value(&copy_to), "copy instance --id to this etc root (see above)")
      ("target-registry", po::value(&target_registry),
       "with --copy-to: register the copy in this registry export")
      ("force-bind", po::bool_switch(&force_bind),
       "bind only the logical host's address (odadmin set_force_bind TRUE 1)")
      ("nosync", po::bool_switch(&nosync),
       "run this instance's database without fsync (tests and benchmarks only: a power loss "
       "may lose committed work)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  if (vm.count("help")) {
    std::cout << kUsage << "\n" << opts;
    return 0;
  }
  if (!copy_to.empty()) {
    if (!vm.count("id")) throw UsageError("--copy-to needs --id");
    InstanceFlags flags;
    if (vm.count("etc-root")) flags.etc_root = etc_root;
    if (vm.count("registry")) flags.registry = registry;
    return copy_instance(select_instance(flags, InstanceEnvironment::from_process()), id,
                         absolute(copy_to), target_registry);
  }
  if (!vm.count("dbdir")) throw UsageError("--dbdir is required");
  if (managed_node != !tmr.empty())
    throw UsageError("--managed-node and --tmr HOST[:PORT] go together");
  if (port < 1 || port > 65535) throw UsageError(fmt::format("--port {} is not a TCP port", port));

  const auto env = InstanceEnvironment::from_process();
  InstanceFlags flags;
  if (vm.count("etc-root")) flags.etc_root = etc_root;
  if (vm.count("registry")) flags.registry = registry;
  InstanceSelection where = select_instance(flags, env);
  auto table = InstanceTable::load(where.table_path, where.table_format);
  if (vm.count("id")) {
    where.id = id;
  } else if (env.oserv) {
    where.id = *env.oserv;
  } else {
    where.id = table.next_free_id();
  }
  if (!is_valid_instance_id(where.id))
    throw UsageError(fmt::format("'{}' is not a valid instance ID", where.id));
  if (auto* existing = table.find(where.id))
    throw UsageError(fmt::format("instance {} already exists ({}); choose another --id",
                                 where.id, existing->origin));

  dbdir = absolute(dbdir);
  etcdir = vm.count("etcdir") ? absolute(etcdir) : where.default_etcdir();
  if (fs::exists(dbdir + "/data.mdb"))
    throw UsageError(fmt::format("{} already holds a database; choose an empty --dbdir", dbdir));

  // The logical host: recorded in the instances entry only when chosen explicitly, so that an
  // instance installed under the machine's own name keeps following it.
  std::optional<std::string> explicit_host =
      vm.count("hostname") ? std::optional(hostname) : env.wlocalhost;
  std::string host = explicit_host.value_or("");
  std::string host_source = vm.count("hostname") ? "--hostname" : "$WLOCALHOST";
  if (!explicit_host) {
    auto file = read_text_file(where.wlocalhost_path());
    if (auto name = file ? parse_wlocalhost(*file) : std::nullopt) {
      host = *name;
      host_source = where.wlocalhost_path();
    } else {
      char buf[256] = {};
      ::gethostname(buf, sizeof buf - 1);
      host = buf;
      host_source = "hostname";
    }
  }
  HostAddress address = resolve_logical_host(host, host_source);
  if (!address.local)
    throw UsageError(fmt::format("logical host {} (from {}) is {}, not an address of this machine",
                                 host, host_source, address.ip));

  // A managed node gets its number, region and odlist from the TMR server, before anything
  // is written here (so a refusal there leaves nothing behind).
  std::uint32_t region = 0, od = 1;
  std::vector<OdRecord> odlist;
  if (managed_node) {
    auto joined = register_with_tmr(tmr, host, address.ip, static_cast<std::uint16_t>(port),
                                     force_bind);
    region = joined.region;
    od = joined.od;
    odlist = std::move(joined.odlist);
  } else {
    region = new_region_number();
    odlist.push_back({.od = 1,
                      .port = static_cast<std::uint16_t>(port),
                      .ip = address.ip,
                      .hostnames = {host},
                      .force_bind = force_bind});
  }
  try {
    auto db = db::Database::open(dbdir, {.create = true, .sync = !nosync, .owner_id = where.id});
    db->put_meta(db::kMetaRegion, std::to_string(region));
    db->put_meta(db::kMetaDispatcher, std::to_string(od));
    db->put_meta(db::kMetaInstanceId, where.id);
    db->put_meta(db::kMetaCreated, std::to_string(::time(nullptr)));
    db->put_meta(db::kMetaDurability, nosync ? "nosync" : "sync");
    odlist::replace(*db, odlist);
    db->sync();
  } catch (const std::exception& e) {
    if (managed_node)
      throw std::runtime_error(fmt::format("{}; dispatcher {} is already recorded at the TMR "
                                           "server {}",
                                           e.what(), od, tmr));
    throw;
  }

  write_instance_scripts({.id = where.id,
                          .etc_root = where.etc_root,
                          .etcdir = etcdir,
                          .dbdir = dbdir,
                          .bindir = bindir(),
                          .wlocalhost = env.wlocalhost});
  make_directories(where.run_dir());
  write_etc_root_scripts(where.etc_root, where.id);

  InstanceEntry entry;
  entry.id = where.id;
  entry.dbdir = dbdir;
  entry.etcdir = etcdir;
  if (port != kDefaultPort) entry.port = static_cast<std::uint16_t>(port);
  if (explicit_host) entry.hostname = host;
  table.add_and_save(entry);

  fmt::print(
      "Created instance {}: region {}, dispatcher {} ({}) {}:{} ({}){}.\n"
      "  Database directory: {}\n  Etc directory:      {}\n  Registered in:      {}\n"
      "Start it with: . {}/setup_env.sh; oserv.rc start\n",
      where.id, region, od, od == 1 ? "TMR server" : "managed node", host, port, address.ip,
      force_bind ? ", force bind" : "", dbdir, etcdir,
      where.table_path, etcdir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "oinstall: " << e.what() << " (see oinstall --help)\n";
    return 2;
  } catch (const ConfigError& e) {
    std::cerr << "oinstall: " << e.what() << "\n";
    return 2;
  } catch (const TmrUnreachable& e) {
    std::cerr << "oinstall: " << e.what() << "\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "oinstall: " << e.what() << "\n";
    return 1;
  }
}
