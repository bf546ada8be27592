// odadmin: administer an oserv (status block, odlist, force bind, shutdown, db_sync, ior).
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include <fmt/ranges.h>

#include "ClientMain.h"
#include "Database.h"
#include "Failure.h"
#include "JsonOutput.h"
#include "Numbers.h"
#include "Odlist.h"
#include "RegionCa.h"
#include "WireConvert.h"

namespace po = boost::program_options;
using namespace openoserv;

namespace {

const char* kUsageText = R"(Usage: odadmin [options] [COMMAND [ARGS...]]

Administers the oserv of one instance (--id, else $OSERV, else oserv), reached over its Unix
socket <etc-root>/run/<ID>.sock, or over IIOP on TLS with --host HOST[:PORT] (showing --cert FILE,
$OSERV_CERT or the local instance's certificate; see the README's Security section).

Commands:
  (none)                          print the dispatcher's status block, then who this client
                                  is to it ("You are = ...": principal and roles)
  odlist                          print the region's dispatchers: Region Disp Flags Port IPaddr
                                  Hostname(s). Flags: c = connected (answers this dispatcher
                                  now), t = trusted, f = force bind set, - = not set
  odlist change_ip OD IP TRUE|FALSE
                                  record dispatcher OD at address IP; TRUE sends the odlist
                                  to the region now, FALSE leaves nodes to fetch it when they
                                  next start
  odlist add_hostname_alias OD IP NAME
  odlist delete_hostname_alias OD IP NAME
                                  add or remove a host name of dispatcher OD (at address IP):
                                  1 to 253 letters, digits, '.', '-', '_'; at most 32 names,
                                  the last one cannot be deleted
                                  The odlist edits are made at the TMR server, from any node.
  set_force_bind TRUE|FALSE OD|all
                                  bind dispatcher OD (or every dispatcher) to its own address
                                  only; takes effect when that oserv restarts
  shutdown OD|all                 stop dispatcher OD (or every dispatcher, this one last),
                                  from any node of the region
  db_sync                         make the database durable now
  ior                             print the dispatcher's IOR (stable across restarts; decode it
                                  with omniORB's catior)
  method_user [USER]              print (or, super only, set) the account this dispatcher's
                                  method programs, run_script and tasks run as (default
                                  nobody; root only if you mean it)
  log [LINES]                     print the last LINES (default 20, at most 1000) lines of
                                  the dispatcher's oservlog, also of a remote one (admin)
  ping                            exit 0 when the dispatcher answers
  join_token [USES [SECONDS]]     at the TMR server: print a token for USES new managed nodes
                                  (default 1) within SECONDS (default 3600); give it to
                                  oinstall --managed-node --token (senior)
  issue_cert ADMIN FILE [DAYS]    at the TMR server: write a client certificate of
                                  administrator ADMIN, valid DAYS (default 365), to FILE (0600:
                                  certificate, CA, key); use it with --host H --cert FILE
                                  (super)
  revoke_cert ADMIN SERIAL|all    at the TMR server: revoke ADMIN's certificate SERIAL (as
                                  wgetadmin lists them) or all of them, region-wide (super)
  renew_cert                      get a new key and certificate for this dispatcher from the
                                  TMR server; used from its next start (senior)
  set_allow_rconnect TRUE|FALSE   accept administrators' client certificates here or not
                                  ("Remote client login allowed"; senior)
  replication                     at a TMR server: its role (primary or standby), the epoch,
                                  the mode, and each standby's lag in transactions, bytes and
                                  seconds (also at the end of the status block)
  set_replication sync|async      at the primary: sync acknowledges a commit once a standby in
                                  sync holds it durably; async does not wait (super)
  set_replication auto_promote SECONDS|off
                                  at the primary: a standby that has not heard from the primary
                                  for SECONDS stands for the next epoch, and promotes itself
                                  once a majority of the region's members (its dispatchers and
                                  standbys) confirm that the primary does not answer them
                                  either; no majority, no promotion. Off by default (super)
  promote [--planned]             at a standby: become the primary TMR server of the next
                                  epoch (the manual takeover); it restarts as primary in the
                                  same process and tells every dispatcher, and dispatcher 1 of
                                  an older epoch is refused from then on. --planned: a
                                  switchover with the primary running: it stops committing,
                                  this standby takes everything, and the old primary becomes
                                  its standby; nothing is lost, in async mode too (super)
  rejoin [IP:PORT]                at a demoted TMR server (one that learned the region has a
                                  newer primary): register there as a standby, copy its
                                  database anew and follow it; what was committed here alone
                                  stays in DBDIR/divergence-*.txt. IP:PORT names the primary
                                  when this server stepped down (demote) and its odlist does
                                  not know the one promoted since (super)
  demote                          at the primary (a cluster manager's demote): refuse commits
                                  from now on and, once the standbys have them, restart in the
                                  same process as a demoted TMR server; 'rejoin IP:PORT' then
                                  follows the primary promoted meanwhile (super)
  health [MAX_METHOD_SECONDS]     deep check for supervisors: exit 0 and "healthy", or exit 1
                                  and one line per problem (odb.log not emptied while no
                                  transaction is open; a method thread older than
                                  MAX_METHOD_SECONDS, default 3600)

With --offline, odlist and its edits and set_force_bind work on the database of the stopped
instance itself (no oserv is called; change_ip takes no TRUE|FALSE): the repair for an odlist
entry that keeps the oserv from starting ("Database mismatch"). A managed node's TMR server
replaces the node's copy of the odlist when the node joins; edit it there too.

Exit codes: 0 success, 1 the oserv refused or failed the request (or, offline, the edit does
not apply or the database cannot be opened), 2 usage error, 3 the oserv does not answer.
)";


using Args = std::vector<std::string>;

bool planned_mode = false;  // --planned (promote)

// The status block as JSON (docs/JSON.md, openoserv.status/1); replication and you_are are
// added by the caller.
Json status_json(const OServ::StatusBlock& s) {
  Json j = json_document("status", 1);
  j["instance_id"] = s.instance_id.in();
  j["region"] = s.region;
  j["dispatcher"] = s.dispatcher;
  j["logical_host"] = s.logical_host.in();
  j["listening_on"] = s.bound_address.in();
  j["port"] = s.port;
  j["pid"] = s.pid;
  j["started"] = s.started.in();
  j["version"] = s.version_line.in();
  j["interpreter_type"] = s.interpreter_type.in();
  j["database_directory"] = s.database_dir.in();
  j["install_directory"] = s.install_dir.in();
  j["encryption_level"] = s.encryption_level.in();
  j["remote_client_login"] = bool(s.remote_client_login);
  j["force_bind"] = {{"setting", bool(s.force_bind)}, {"active", bool(s.force_bind_active)}};
  j["state_check_interval"] = s.state_check_interval;
  j["tmr_link"] = s.tmr_link.in();
  return j;
}

void print_status(const OServ::StatusBlock& s) {
  for (const auto& [name, value] : wire::status_lines(s)) {
    // Tivoli's odd one out: "State checking every 180 seconds", without " = ".
    if (name == "State checking every") fmt::print("{} {}\n", name, value);
    else if (name.empty()) fmt::print("{}\n", value);
    else fmt::print("{} = {}\n", name, value);
  }
}

template <typename F>
void print_lines(OservClient& client, F&& f) {
  OServ::StringList_var lines = client.call(f);
  for (CORBA::ULong i = 0; i < lines->length(); ++i) fmt::print("{}\n", lines[i].in());
}

// One line of `odadmin odlist`.
struct OdlistRow {
  std::uint32_t od;
  bool connected, force_bind;
  unsigned port;
  std::string ip;
  std::vector<std::string> hostnames;
};

void print_odlist(std::uint32_t region, const std::vector<OdlistRow>& rows) {
  if (json_output()) {
    Json j = json_document("odlist", 1);
    j["region"] = region;
    j["dispatchers"] = Json::array();
    for (const auto& r : rows)
      j["dispatchers"].push_back({{"od", r.od},
                                  {"ip", r.ip},
                                  {"port", r.port},
                                  {"hostnames", r.hostnames},
                                  {"connected", r.connected},
                                  {"force_bind", r.force_bind}});
    return print_json(j);
  }
  fmt::print("{:<12}{:<6}{:<7}{:<14}{:<16}{}\n", "Region", "Disp", "Flags", "Port", "IPaddr",
             "Hostname(s)");
  bool first = true;
  for (const auto& r : rows) {
    const std::string flags = fmt::format("{}t{}", r.connected ? 'c' : '-', r.force_bind ? 'f' : '-');
    fmt::print("{:<12}{:>4}  {:<7}{:<14}{:<16}{}\n", first ? std::to_string(region) : "", r.od,
               flags, r.port, r.ip, fmt::join(r.hostnames, ","));
    first = false;
  }
}

CORBA::ULong parse_od(const std::string& text) {
  if (text == "all") return 0;
  if (auto od = parse_number<CORBA::ULong>(text); od && *od >= 1) return *od;
  throw UsageError(fmt::format("'{}' is not a dispatcher number or 'all'", text));
}

CORBA::ULong parse_count(const std::string& text, const char* what) {
  const auto n = parse_number<CORBA::ULong>(text);
  if (!n || *n == 0) throw UsageError(fmt::format("{} '{}' is not a positive number", what, text));
  return *n;
}

bool parse_bool(const std::string& text) {
  if (text == "TRUE" || text == "true") return true;
  if (text == "FALSE" || text == "false") return false;
  throw UsageError(fmt::format("'{}' is neither TRUE nor FALSE", text));
}

// `odlist EDIT ...` or `set_force_bind ...` as an edit (an online change_ip needs TRUE|FALSE,
// whether to send the odlist now; offline there is nobody to send it to).
OdlistEdit parse_edit(const Args& args, bool offline) {
  if (args[0] == "set_force_bind") {
    require_args("odadmin", args, 2, "set_force_bind TRUE|FALSE OD|all");
    return {.kind = OdlistEdit::Kind::kForceBind, .od = parse_od(args[2]),
            .flag = parse_bool(args[1])};
  }
  const Args words(args.begin() + 1, args.end());
  const std::string& edit = words[0];
  if (edit == "change_ip") {
    if (offline && words.size() == 3)
      return {.kind = OdlistEdit::Kind::kChangeIp, .od = parse_od(words[1]), .ip = words[2]};
    require_args("odadmin odlist", words, 3, "change_ip OD IP TRUE|FALSE");
    return {.kind = OdlistEdit::Kind::kChangeIp, .od = parse_od(words[1]), .ip = words[2],
            .flag = parse_bool(words[3])};
  }
  if (edit == "add_hostname_alias" || edit == "delete_hostname_alias") {
    require_args("odadmin odlist", words, 3, (edit + " OD IP NAME").c_str());
    return {.kind = edit == "add_hostname_alias" ? OdlistEdit::Kind::kAddAlias
                                                 : OdlistEdit::Kind::kDeleteAlias,
            .od = parse_od(words[1]), .ip = words[2], .name = words[3]};
  }
  throw UsageError(fmt::format("unknown odlist edit '{}' (change_ip, add_hostname_alias, "
                               "delete_hostname_alias)",
                               edit));
}

int print_message(OservClient& client, const std::function<char*()>& call) {
  CORBA::String_var msg = client.call(call);
  fmt::print("{}\n", msg.in());
  return 0;
}

int status(OservClient& client, const Args&) {
  OServ::StatusBlock_var s = client.call([&] { return client.dispatcher()->status(); });
  if (json_output()) {
    Json j = status_json(s.in());
    if (s->dispatcher == 1) {
      OServ::StringList_var lines =
          client.call([&] { return client.dispatcher()->replication_status(); });
      j["replication"] = json_strings(lines.in());
    }
    CORBA::String_var me = client.call([&] { return client.dispatcher()->whoami(); });
    j["you_are"] = me.in();
    print_json(j);
    return 0;
  }
  print_status(s.in());
  // A TMR server, primary or standby, says how it stands with the other.
  if (s->dispatcher == 1) print_lines(client, [&] { return client.dispatcher()->replication_status(); });
  // Who this client is to the oserv (its principal and roles), as the access check sees it.
  CORBA::String_var me = client.call([&] { return client.dispatcher()->whoami(); });
  fmt::print("You are = {}\n", me.in());
  return 0;
}

int replication(OservClient& client, const Args& args) {
  require_args("odadmin", args, 0, "replication");
  if (json_output()) {
    OServ::StringList_var lines =
        client.call([&] { return client.dispatcher()->replication_status(); });
    Json j = json_document("replication", 1);
    j["lines"] = json_strings(lines.in());
    print_json(j);
    return 0;
  }
  print_lines(client, [&] { return client.dispatcher()->replication_status(); });
  return 0;
}

int set_replication(OservClient& client, const Args& args) {
  const bool auto_promote = args.size() > 1 && args[1] == "auto_promote";
  if (auto_promote)
    require_args("odadmin", args, 2, "set_replication auto_promote SECONDS|off");
  else
    require_args("odadmin", args, 1, "set_replication sync|async|auto_promote SECONDS|off");
  const std::string mode = auto_promote ? "auto_promote " + args[2] : args[1];
  return print_message(client,
                       [&] { return client.dispatcher()->set_replication(mode.c_str()); });
}

int promote(OservClient& client, const Args& args) {
  require_args("odadmin", args, 0, "promote [--planned]");
  return print_message(client, [&] { return client.dispatcher()->promote(planned_mode); });
}

int rejoin(OservClient& client, const Args& args) {
  if (args.size() > 1) require_args("odadmin", args, 1, "rejoin [IP:PORT]");
  const std::string primary = args.size() > 1 ? args[1] : "";
  return print_message(client, [&] { return client.dispatcher()->rejoin(primary.c_str()); });
}

int demote(OservClient& client, const Args& args) {
  require_args("odadmin", args, 0, "demote");
  return print_message(client, [&] { return client.dispatcher()->demote(); });
}

int odlist(OservClient& client, const Args& args) {
  auto d = client.dispatcher();
  if (args.size() == 1) {
    OServ::StatusBlock_var s = client.call([&] { return d->status(); });
    OServ::OdEntries_var list = client.call([&] { return d->odlist(); });
    std::vector<OdlistRow> rows;
    for (CORBA::ULong i = 0; i < list->length(); ++i) {
      const auto& e = list[i];
      rows.push_back({e.od, bool(e.connected), bool(e.force_bind), e.port, e.ipaddr.in(), {}});
      for (CORBA::ULong h = 0; h < e.hostnames.length(); ++h)
        rows.back().hostnames.emplace_back(e.hostnames[h].in());
    }
    print_odlist(s->region, rows);
    return 0;
  }
  const OdlistEdit e = parse_edit(args, false);
  return print_message(client, [&] {
    switch (e.kind) {
      case OdlistEdit::Kind::kChangeIp: return d->change_ip(e.od, e.ip.c_str(), e.flag);
      case OdlistEdit::Kind::kAddAlias:
        return d->add_hostname_alias(e.od, e.ip.c_str(), e.name.c_str());
      case OdlistEdit::Kind::kDeleteAlias:
        return d->delete_hostname_alias(e.od, e.ip.c_str(), e.name.c_str());
      case OdlistEdit::Kind::kForceBind: break;
    }
    return d->set_force_bind(e.flag, e.od);
  });
}

int set_force_bind(OservClient& client, const Args& args) { return odlist(client, args); }

// --offline: the odlist of a stopped instance's database, read and edited in place. The repair
// for an odlist that keeps the oserv from starting (a change_ip to a wrong address).
int offline(OservClient& client, const Args& args) {
  if (args.empty() || (args[0] != "odlist" && args[0] != "set_force_bind"))
    throw UsageError("--offline works with odlist and set_force_bind only");
  const ResolvedInstance inst = client.instance();
  std::unique_ptr<db::Database> db;
  try {
    db = db::Database::open(inst.dbdir, {.owner_id = "odadmin --offline"});
  } catch (const db::DbInUse& e) {
    throw ClientError(fmt::format("{}: the oserv runs; edit its odlist without --offline", e.what()));
  } catch (const db::DbError& e) {
    throw ClientError(e.what());
  }
  const auto region = parse_number<std::uint32_t>(db->get_meta(db::kMetaRegion).value_or(""));
  if (args[0] == "odlist" && args.size() == 1) {
    std::vector<OdlistRow> rows;
    for (auto& r : odlist::load(*db))
      rows.push_back({r.od, false, r.force_bind, r.port, r.ip, r.hostnames});
    print_odlist(region.value_or(0), rows);
    return 0;
  }
  try {
    fmt::print("{}\n", odlist::apply_edit(*db, parse_edit(args, true), region.value_or(0)));
  } catch (const Failure& e) {
    throw ClientError(e.what());
  }
  const auto self = parse_number<std::uint32_t>(db->get_meta(db::kMetaDispatcher).value_or(""));
  if (self.value_or(kTmrDispatcher) != kTmrDispatcher)
    fmt::print("Changed in {} only: this is a managed node, whose TMR server sends its own odlist "
               "when the node joins; make the same change there.\n",
               inst.dbdir);
  return 0;
}

int shutdown(OservClient& client, const Args& args) {
  require_args("odadmin", args, 1, "shutdown OD|all");
  const CORBA::ULong od = parse_od(args[1]);
  return print_message(client, [&] { return client.dispatcher()->shutdown(od); });
}

int db_sync(OservClient& client, const Args& args) {
  require_args("odadmin", args, 0, "db_sync");
  return print_message(client, [&] { return client.dispatcher()->db_sync(); });
}

int method_user(OservClient& client, const Args& args) {
  if (args.size() > 2) throw UsageError("usage: odadmin method_user [USER]");
  if (args.size() == 2)
    return print_message(client,
                         [&] { return client.dispatcher()->set_method_user(args[1].c_str()); });
  return print_message(client, [&] { return client.dispatcher()->method_user(); });
}

int log(OservClient& client, const Args& args) {
  if (args.size() > 2) throw UsageError("usage: odadmin log [LINES]");
  CORBA::ULong lines = 20;
  if (args.size() == 2) lines = parse_count(args[1], "LINES");
  print_lines(client, [&] { return client.dispatcher()->log_tail(lines); });
  return 0;
}

int ior(OservClient& client, const Args& args) {
  require_args("odadmin", args, 0, "ior");
  return print_message(client, [&] { return client.dispatcher()->ior(); });
}

int health(OservClient& client, const Args& args) {
  if (args.size() > 2) throw UsageError("usage: odadmin health [MAX_METHOD_SECONDS]");
  CORBA::ULong limit = 3600;
  if (args.size() == 2) {
    const auto seconds = parse_number<CORBA::ULong>(args[1]);
    if (!seconds) throw UsageError(fmt::format("'{}' is not a number of seconds", args[1]));
    limit = *seconds;
  }
  OServ::StringList_var problems = client.call([&] { return client.dispatcher()->health(limit); });
  if (problems->length() == 0) {
    fmt::print("{} is healthy\n", client.instance_name());
    return 0;
  }
  for (CORBA::ULong i = 0; i < problems->length(); ++i) fmt::print("{}\n", problems[i].in());
  return 1;
}

int ping(OservClient& client, const Args& args) {
  require_args("odadmin", args, 0, "ping");
  client.call([&] { client.dispatcher()->ping(); });
  fmt::print("{} is alive\n", client.instance_name());
  return 0;
}

int join_token(OservClient& client, const Args& args) {
  if (args.size() > 3) throw UsageError("usage: odadmin join_token [USES [SECONDS]]");
  const CORBA::ULong uses = args.size() > 1 ? parse_count(args[1], "USES") : 1;
  const CORBA::ULong seconds = args.size() > 2 ? parse_count(args[2], "SECONDS") : 3600;
  return print_message(client, [&] { return client.dispatcher()->join_token(uses, seconds); });
}

int issue_cert(OservClient& client, const Args& args) {
  if (args.size() < 3 || args.size() > 4)
    throw UsageError("usage: odadmin issue_cert ADMIN FILE [DAYS]");
  const CORBA::ULong days = args.size() > 3 ? parse_count(args[3], "DAYS") : 365;
  const tls::KeyRequest request = tls::make_request();
  CORBA::String_var ca;
  CORBA::String_var cert = client.call([&] {
    return client.dispatcher()->issue_certificate(args[1].c_str(), request.csr_pem.c_str(), days,
                                                  ca.out());
  });
  const tls::Identity self{request.key_pem, cert.in()};
  const std::string serial = tls::serial_of(self.cert_pem);
  try {
    tls::write_private(args[2], tls::identity_bundle(self, ca.in()));
  } catch (const tls::TlsError& e) {
    throw ClientError(fmt::format("{} (the certificate, serial {}, was issued; revoke it with "
                                  "odadmin revoke_cert {} {})",
                                  e.what(), serial, args[1], serial));
  }
  fmt::print("Wrote {}: client certificate {} of administrator {}, valid until {}. Use it with "
             "--host HOST --cert {} (or OSERV_CERT={}).\n",
             args[2], serial, args[1], tls::expiry_date(self.cert_pem), args[2], args[2]);
  return 0;
}

int revoke_cert(OservClient& client, const Args& args) {
  require_args("odadmin", args, 2, "revoke_cert ADMIN SERIAL|all");
  return print_message(client, [&] {
    return client.dispatcher()->revoke_certificate(args[1].c_str(), args[2].c_str());
  });
}

int renew_cert(OservClient& client, const Args& args) {
  require_args("odadmin", args, 0, "renew_cert");
  return print_message(client, [&] { return client.dispatcher()->renew_own_certificate(); });
}

int set_allow_rconnect(OservClient& client, const Args& args) {
  require_args("odadmin", args, 1, "set_allow_rconnect TRUE|FALSE");
  const bool allow = parse_bool(args[1]);
  return print_message(client, [&] { return client.dispatcher()->set_allow_rconnect(allow); });
}

bool offline_mode = false;  // --offline

int run(OservClient& client, const Args& args) {
  if (offline_mode) return offline(client, args);
  using Command = int (*)(OservClient&, const Args&);
  static const std::map<std::string, Command> commands = {
      {"", status},         {"odlist", odlist}, {"set_force_bind", set_force_bind},
      {"shutdown", shutdown}, {"db_sync", db_sync}, {"ior", ior}, {"method_user", method_user}, {"log", log},
      {"health", health},   {"ping", ping}, {"join_token", join_token},
      {"issue_cert", issue_cert}, {"revoke_cert", revoke_cert}, {"renew_cert", renew_cert},
      {"set_allow_rconnect", set_allow_rconnect}, {"replication", replication},
      {"set_replication", set_replication}, {"promote", promote}, {"rejoin", rejoin},
      {"demote", demote}};
  if (json_output() && !args.empty() && args != Args{"odlist"} && args[0] != "replication")
    throw UsageError("--json goes with the status block, odlist and replication only");
  const auto it = commands.find(args.empty() ? "" : args[0]);
  if (it == commands.end())
    throw UsageError(fmt::format("unknown command '{}' (see odadmin --help)", args[0]));
  return it->second(client, args);
}

}  // namespace

int main(int argc, char** argv) {
  return client_main({.name = "odadmin",
                      .usage = kUsageText,
                      .options =
                          [](po::options_description& opts) {
                            opts.add_options()(
                                "offline", po::bool_switch(&offline_mode),
                                "read or edit the odlist in the database of a stopped instance "
                                "(odlist, set_force_bind)")(
                                "planned", po::bool_switch(&planned_mode),
                                "promote: a switchover that loses nothing (the primary hands "
                                "over and becomes the standby)");
                          },
                      .body = run,
                      .json = true},
                     argc, argv);
}
