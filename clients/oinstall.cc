// oinstall: create an oserv instance: database, etc directory scripts, instances entry. The
// instances entry is written last, so an interrupted install leaves no half-registered instance
// behind.
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "Certificates.h"
#include "Database.h"
#include "HostPort.h"
#include "Instance.h"
#include "InstanceScripts.h"
#include "LogicalHost.h"
#include "Odlist.h"
#include "OrbInit.h"
#include "OrbTls.h"
#include "oserv.hh"
#include "PeerChain.h"
#include "ProgramVersion.h"
#include "RegionCa.h"
#include "Replog.h"
#include "TextFile.h"
#include "Timeouts.h"
#include "WireConvert.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace openoserv;

namespace {

const char* kUsage = R"(Usage: oinstall --dbdir DIR [options]
       oinstall --managed-node --tmr HOST[:PORT] --token TOKEN --dbdir DIR [options]
       oinstall --standby --tmr HOST[:PORT] --token TOKEN --dbdir DIR [options]

Creates an oserv instance: a TMR server (dispatcher 1) of a new region with a random 10-digit
region number and the region's certificate authority or, with --managed-node, a managed node of
the region whose TMR server answers at --tmr (it must be running). A node joins with a token
made at the TMR server ('odadmin join_token'; also read from $OSERV_JOIN_TOKEN): oinstall checks
that the CA the TMR server shows is the one the token names before it sends the token, makes
the node's key here, and the TMR server assigns the next dispatcher number, records the node in
its odlist and signs the node's certificate. With --standby, the instance is a standby TMR
server of that region (docs/REPLICATION.md): it joins with a token the same way, gets a
certificate for dispatcher 1 at its own address and the region CA's key (to act as TMR server
once promoted), and at its first start copies the primary's database, then follows every
commit the primary makes. It

  - initialises the object database in DBDIR (which must not hold one already),
  - writes setup_env.sh, setup_env.csh and oserv.rc into ETCDIR (default <etc-root>/<ID>),
  - adds the line ID:DBDIR:ETCDIR:PORT:HOSTNAME to <etc-root>/instances (or, with --registry,
    the key ...\Services\<ID>\Parameters to the registry export).
The ID is --id, else $OSERV, else the first free one of oserv, oserv1, oserv2, ...
The logical host is --hostname, else $WLOCALHOST, else <etc-root>/../wlocalhost, else this
machine's name (the oserv's own order); it must resolve to an address of this machine.

Then: . ETCDIR/setup_env.sh; oserv.rc start; odadmin; odadmin odlist
To copy an instance to another cluster node's etc root, use ocopyinst (ha/copy-cluster.sh).

Exit codes: 0 created, 1 failure (nothing registered; the message says otherwise), 2 usage or
configuration error, 3 the TMR server does not answer.
)";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct TmrUnreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Request {
  InstanceFlags flags;  // id, etc root, registry, dbdir, etcdir, hostname as given
  int port = kDefaultPort;
  bool force_bind = false, nosync = false, managed_node = false, standby = false;
  std::string tmr, token;
  std::string method_user = "nobody";
};

po::options_description options(Request& r, std::string& id, std::string& etc_root,
                                std::string& registry, std::string& dbdir, std::string& etcdir,
                                std::string& hostname) {
  po::options_description opts("Options");
  opts.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("id", po::value(&id), "instance ID (default: $OSERV, else the next free one)")
      ("etc-root", po::value(&etc_root),
       "configuration root (default: $OSERV_ETC_ROOT, else /etc/Tivoli)")
      ("registry", po::value(&registry), "register in this registry export (.reg) instead")
      ("dbdir", po::value(&dbdir), "database directory to create (required)")
      ("etcdir", po::value(&etcdir), "directory for the instance scripts (default <etc-root>/<ID>)")
      ("port", po::value(&r.port)->default_value(kDefaultPort), "TCP port")
      ("hostname", po::value(&hostname), "logical host name or address")
      ("managed-node", po::bool_switch(&r.managed_node),
       "create a managed node of an existing region (needs --tmr)")
      ("standby", po::bool_switch(&r.standby),
       "create a standby TMR server of an existing region (needs --tmr; docs/REPLICATION.md)")
      ("tmr", po::value(&r.tmr), "the TMR server, HOST[:PORT] (port default 94)")
      ("token", po::value(&r.token),
       "the join token made at the TMR server by 'odadmin join_token' (default: "
       "$OSERV_JOIN_TOKEN)")
      ("force-bind", po::bool_switch(&r.force_bind),
       "bind only the logical host's address (odadmin set_force_bind TRUE 1)")
      ("method-user", po::value(&r.method_user)->default_value("nobody"),
       "the account method programs, run_script and tasks run as (odadmin set_method_user; "
       "root only if you mean it)")
      ("nosync", po::bool_switch(&r.nosync),
       "run this instance's database without fsync (tests and benchmarks only: a power loss "
       "may lose committed work)");
  return opts;
}

// "<32 hex>.<32 hex>" (domain/Certificates.h).
bool valid_token(const std::string& token) {
  if (token.size() != 65 || token[32] != '.') return false;
  for (size_t i = 0; i < token.size(); ++i)
    if (i != 32 && !std::isxdigit(static_cast<unsigned char>(token[i]))) return false;
  return true;
}

Request parse(int argc, char** argv) {
  Request r;
  std::string id, etc_root, registry, dbdir, etcdir, hostname;
  const auto opts = options(r, id, etc_root, registry, dbdir, etcdir, hostname);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  if (vm.count("help")) {
    std::cout << kUsage << "\n" << opts;
    std::exit(0);
  }
  if (vm.count("version")) {
    print_version("oinstall");
    std::exit(0);
  }
  if (!vm.count("dbdir")) throw UsageError("--dbdir is required");
  if (r.managed_node && r.standby)
    throw UsageError("--managed-node and --standby: choose one");
  const bool joins = r.managed_node || r.standby;
  if (joins != !r.tmr.empty())
    throw UsageError("--managed-node or --standby, and --tmr HOST[:PORT], go together");
  if (joins && r.token.empty())
    if (const char* env = std::getenv("OSERV_JOIN_TOKEN")) r.token = env;
  if (joins && !valid_token(r.token))
    throw UsageError(r.token.empty()
                         ? "a managed node or standby joins with --token TOKEN (make one at the TMR server "
                           "with 'odadmin join_token')"
                         : "--token: not a join token (64 hex digits around a dot, as 'odadmin "
                           "join_token' prints it)");
  if (r.port < 1 || r.port > 65535) throw UsageError(fmt::format("--port {} is not a TCP port", r.port));
  if (!::getpwnam(r.method_user.c_str()))
    throw UsageError(fmt::format("--method-user {}: no such user on this host", r.method_user));
  auto given = [&](const char* name, const std::string& v) {
    return vm.count(name) ? std::optional<std::string>(v) : std::nullopt;
  };
  r.flags.id = given("id", id);
  r.flags.etc_root = given("etc-root", etc_root);
  r.flags.registry = given("registry", registry);
  r.flags.dbdir = fs::absolute(dbdir).lexically_normal().string();
  if (vm.count("etcdir")) r.flags.etcdir = fs::absolute(etcdir).lexically_normal().string();
  r.flags.hostname = given("hostname", hostname);
  r.flags.port = static_cast<std::uint16_t>(r.port);
  return r;
}

// Where the new instance goes: its ID, directories and logical host, resolved with the oserv's
// own precedence (resolve_instance), and checked before anything is written.
struct Placement {
  // Held from reading the table to registering the instance: oinstalls at once on one etc root
  // take their turns (each sees the IDs the others took, and writes its scripts only for its own).
  std::unique_ptr<InstanceTable::EditLock> lock;
  InstanceTable table;
  ResolvedInstance inst;
  HostAddress address;
  bool explicit_host = false;  // --hostname or $WLOCALHOST: recorded in the instances entry
};

Placement place(const Request& r) {
  const auto env = InstanceEnvironment::from_process();
  InstanceFlags flags = r.flags;
  InstanceSelection where = select_instance(flags, env);
  auto lock = std::make_unique<InstanceTable::EditLock>(where.table_path);
  Placement p{std::move(lock), InstanceTable::load(where.table_path, where.table_format), {}, {},
              false};
  if (!flags.id && !env.oserv) flags.id = p.table.next_free_id();
  where = select_instance(flags, env);
  if (auto* existing = p.table.find(where.id))
    throw UsageError(fmt::format("instance {} already exists ({}); choose another --id", where.id,
                                 existing->origin));
  if (fs::exists(*flags.dbdir + "/data.mdb"))
    throw UsageError(
        fmt::format("{} already holds a database; choose an empty --dbdir", *flags.dbdir));
  std::optional<std::string> wlocalhost;
  if (auto text = read_text_file(where.wlocalhost_path())) wlocalhost = parse_wlocalhost(*text);
  char system_host[256] = {};
  ::gethostname(system_host, sizeof system_host - 1);
  p.inst = resolve_instance(where, p.table, flags, env, wlocalhost, system_host);
  p.explicit_host = flags.hostname || env.wlocalhost;
  p.address = resolve_logical_host(p.inst.logical_host, p.inst.logical_host_source);
  if (!p.address.local)
    throw UsageError(fmt::format("logical host {} (from {}) is {}, not an address of this machine",
                                 p.inst.logical_host, p.inst.logical_host_source, p.address.ip));
  return p;
}

struct Membership {
  std::uint32_t region, od;
  std::vector<OdRecord> odlist;
  std::string ca_pem;           // a managed node: its region's CA
  tls::Identity self;           // a managed node: its key and certificate
  std::string ca_key_pem;       // a standby: the region CA's key
};

// The region CA the TMR server at `address` shows in its TLS handshake, if it is the one the
// token's pin names (so the token goes to that TMR server and no other).
std::string pinned_ca(const HostPort& address, const std::string& token) {
  const std::string pin = token.substr(33);
  std::vector<std::string> chain;
  try {
    chain = tls::peer_chain(address.host, address.port, timeouts::kConnect);
  } catch (const tls::TlsError& e) {
    throw TmrUnreachable(fmt::format("the TMR server {} does not answer: {}; start it first",
                                     address.text(), e.what()));
  }
  // The CA the token pins, and the server's own certificate (the first) signed by it.
  for (const auto& cert : chain)
    if (Certificates::pin_of(cert) == pin && !tls::verify(cert, chain.front())) return cert;
  throw std::runtime_error(fmt::format(
      "the oserv at {} does not show the region CA the token names: the token is from another "
      "TMR server, or something else answers at that address; nothing was sent to it",
      address.text()));
}

// Joins the region whose TMR server answers at `tmr` (HOST[:PORT]) with the token: a dispatcher
// number, the odlist, and a certificate for a key made here.
Membership register_with_tmr(const Request& r, const Placement& p) {
  HostPort address;
  try {
    address = parse_host_port(r.tmr, kDefaultPort);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("--tmr {}", e.what()));
  }
  Membership m{};
  m.ca_pem = pinned_ca(address, r.token);
  // omniORB reads the CA from a file: a private one of this process until the database exists.
  char dir[] = "/tmp/oinstall.XXXXXX";
  if (!::mkdtemp(dir)) throw std::runtime_error(fmt::format("mkdtemp: {}", std::strerror(errno)));
  const std::string ca_file = std::string(dir) + "/ca.pem";
  struct Remove {
    std::string dir;
    ~Remove() { fs::remove_all(dir); }
  } remove{dir};
  tls::write_private(ca_file, m.ca_pem);
  const tls::KeyRequest request = tls::make_request();
  OrbOptions options = {{"traceLevel", "0"},
                        {"clientCallTimeOutPeriod", std::to_string(timeouts::kTmrCall.count())},
                        {"clientConnectTimeOutPeriod", std::to_string(timeouts::kConnect.count())}};
  for (auto& option : tls_options({.ca = ca_file, .identity = ""})) options.push_back(option);
  CORBA::ORB_var orb = init_orb("oinstall", options);
  try {
    CORBA::Object_var obj =
        orb->string_to_object(corbaloc_url(address.text(), "Dispatcher").c_str());
    OServ::Dispatcher_var d = OServ::Dispatcher::_unchecked_narrow(obj);
    if (r.standby) {
      OServ::StandbyGrant_var grant =
          d->join_standby(r.token.c_str(), request.csr_pem.c_str(), p.inst.logical_host.c_str(),
                          p.address.ip.c_str(), p.inst.port);
      m.region = grant->region;
      m.od = kTmrDispatcher;
      m.odlist = wire::odlist(grant->odlist);
      m.self = {request.key_pem, grant->certificate.in()};
      m.ca_key_pem = grant->ca_key.in();
    } else {
      OServ::JoinGrant_var grant =
          d->join_region(r.token.c_str(), request.csr_pem.c_str(), p.inst.logical_host.c_str(),
                         p.address.ip.c_str(), p.inst.port, r.force_bind);
      m.region = grant->region;
      m.od = grant->od;
      m.odlist = wire::odlist(grant->odlist);
      m.self = {request.key_pem, grant->certificate.in()};
    }
    orb->destroy();
  } catch (const OServ::Failed& e) {
    throw std::runtime_error(fmt::format("the TMR server {} refused: {}", r.tmr, e.reason.in()));
  } catch (const CORBA::Exception& e) {
    throw TmrUnreachable(fmt::format("the TMR server {} does not answer ({}); start it first",
                                     r.tmr, e._name()));
  }
  if (auto why = tls::verify(m.ca_pem, m.self.cert_pem))
    throw std::runtime_error(fmt::format("the TMR server {} sent a certificate that does not "
                                         "verify: {}",
                                         r.tmr, *why));
  return m;
}

// A TMR server founds a region: ten digits, as Tivoli's (1000000000 .. 4294967295, which fits
// the 32-bit wire type), and an odlist of itself.
Membership found_region(const Request& r, const Placement& p) {
  std::random_device rd;
  std::uniform_int_distribution<std::uint32_t> digits(1000000000u, 4294967295u);
  return {digits(rd), kTmrDispatcher,
          {{.od = kTmrDispatcher, .port = p.inst.port, .ip = p.address.ip,
            .hostnames = {p.inst.logical_host}, .force_bind = r.force_bind}},
          "", {}};
}

void create_database(const Request& r, const Placement& p, const Membership& m) {
  auto db = db::Database::open(p.inst.dbdir,
                               {.create = true, .sync = !r.nosync, .owner_id = p.inst.where.id});
  db->put_meta(db::kMetaRegion, std::to_string(m.region));
  db->put_meta(db::kMetaDispatcher, std::to_string(m.od));
  db->put_meta(db::kMetaInstanceId, p.inst.where.id);
  db->put_meta(db::kMetaCreated, std::to_string(::time(nullptr)));
  db->put_meta(db::kMetaDurability, r.nosync ? "nosync" : "sync");
  db->put_meta(db::kMetaMethodUser, r.method_user);
  // A standby's database is the primary's: copied at its first start (docs/REPLICATION.md).
  if (r.standby) {
    db->put_meta(db::kMetaRole, "standby");
    db->put_meta(db::kMetaStandbyCopy, "needed");
  }
  odlist::replace(*db, m.odlist);
  db->sync();
}

std::string bindir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find this program's directory (/proc/self/exe)");
  return exe.parent_path().string();
}

// The scripts, then the instances entry: the commit point of the install.
void register_instance(const Request& r, Placement& p) {
  const auto& inst = p.inst;
  const auto env = InstanceEnvironment::from_process();
  write_instance_scripts({.id = inst.where.id,
                          .etc_root = inst.where.etc_root,
                          .etcdir = inst.etcdir,
                          .dbdir = inst.dbdir,
                          .bindir = bindir(),
                          .wlocalhost = env.wlocalhost,
                          .registry = inst.where.table_format == InstanceTable::Format::kRegistry
                                          ? std::optional(inst.where.table_path)
                                          : std::nullopt});
  make_directories(inst.where.run_dir());
  write_etc_root_scripts(inst.where.etc_root, inst.where.id);
  InstanceEntry entry{.id = inst.where.id, .dbdir = inst.dbdir, .etcdir = inst.etcdir};
  if (r.port != kDefaultPort) entry.port = inst.port;
  if (p.explicit_host) entry.hostname = inst.logical_host;
  p.table.add_and_save(entry);
}

int install(const Request& r) {
  Placement p = place(r);
  // A managed node gets its number, region and odlist from the TMR server, before anything is
  // written here (so a refusal there leaves nothing behind).
  const bool joins = r.managed_node || r.standby;
  const Membership m = joins ? register_with_tmr(r, p) : found_region(r, p);
  try {
    create_database(r, p, m);
  } catch (const std::exception& e) {
    if (r.standby)
      throw std::runtime_error(fmt::format("{}; the standby is already recorded at the TMR "
                                           "server {}",
                                           e.what(), r.tmr));
    if (!r.managed_node) throw;
    throw std::runtime_error(fmt::format("{}; dispatcher {} is already recorded at the TMR "
                                         "server {}",
                                         e.what(), m.od, r.tmr));
  }
  // A TMR server founds the region's certificate authority and gives itself a certificate; a
  // node keeps what it joined with. The keys live beside the database, so they fail over with
  // it.
  const std::string ssl = p.inst.dbdir + "/ssl";
  if (r.standby) {
    tls::save_ca(ssl, {.key_pem = m.ca_key_pem, .cert_pem = m.ca_pem}, true);
    tls::save_self(ssl, m.self, m.ca_pem);
  } else if (!r.managed_node) {
    const tls::Identity ca = tls::make_region_ca(m.region);
    tls::save_ca(ssl, ca, true);
    tls::save_self(ssl,
                   tls::issue(ca,
                              {.kind = tls::Subject::Kind::kDispatcher, .region = m.region,
                               .od = m.od, .name = "", .ip = p.address.ip},
                              std::chrono::hours(24 * 825)),
                   ca.cert_pem);
  } else {
    tls::save_ca(ssl, {.key_pem = "", .cert_pem = m.ca_pem}, false);
    tls::save_self(ssl, m.self, m.ca_pem);
  }
  register_instance(r, p);
  const auto& inst = p.inst;
  fmt::print(
      "Created instance {}: region {}, dispatcher {} ({}) {}:{} ({}){}.\n"
      "  Database directory: {}\n  Etc directory:      {}\n  Registered in:      {}\n"
      "Start it with: . {}/setup_env.sh; oserv.rc start\n",
      inst.where.id, m.region, m.od,
      r.standby ? "standby TMR server" : m.od == kTmrDispatcher ? "TMR server" : "managed node",
      inst.logical_host, inst.port, p.address.ip, r.force_bind ? ", force bind" : "", inst.dbdir,
      inst.etcdir, inst.where.table_path, inst.etcdir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return install(parse(argc, argv));
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
