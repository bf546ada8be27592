// The endpoint tier's commands, as Tivoli named them: wcrtgate, wgateway, wep, wdelep, wepstatus,
// wputeppol, wgeteppol.
// One program; what it does follows the name it is run under. They talk to the local oserv,
// which forwards to the Endpoint Manager at the TMR server.
#include <cstdio>
#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "ClientMain.h"
#include "JsonOutput.h"

namespace po = boost::program_options;
using namespace openoserv;

namespace {

struct Options {
  std::string name, gateway, endpoint;
  unsigned port = 9494;
};

const char* kExitCodes =
    "\nExit codes: 0 done, 1 refused or failed (unknown name, permission denied, endpoint not\n"
    "answering), 2 usage error, 3 the oserv does not answer.\n";

std::string when(long long t) {
  if (t == 0) return "never";
  char buf[32];
  const time_t tt = static_cast<time_t>(t);
  tm parts{};
  ::localtime_r(&tt, &parts);
  std::strftime(buf, sizeof buf, "%Y/%m/%d-%H:%M:%S", &parts);
  return buf;
}

OServ::GatewayEntry find_gateway(OservClient& client, const std::string& label) {
  auto d = client.dispatcher();
  OServ::GatewayEntries_var all = client.call([&] { return d->gateways(); });
  for (CORBA::ULong i = 0; i < all->length(); ++i)
    if (label == all[i].label.in() || label == all[i].oid.in()) return all[i];
  throw ClientError(fmt::format("no gateway {} in this region (see wgateway)", label));
}

OServ::EndpointEntry find_endpoint(OservClient& client, const std::string& name) {
  auto d = client.dispatcher();
  OServ::EndpointEntries_var all = client.call([&] { return d->endpoints(""); });
  for (CORBA::ULong i = 0; i < all->length(); ++i)
    if (name == all[i].label.in() || name == all[i].oid.in()) return all[i];
  throw ClientError(fmt::format("no endpoint {} in this region (see wep ls)", name));
}

int wcrtgate(OservClient& client, const std::vector<std::string>& args, const Options& o) {
  if (args.size() != 1) throw UsageError("one managed node is needed (see wcrtgate --help)");
  if (o.port == 0 || o.port > 65535) throw UsageError("-p needs a port from 1 to 65535");
  const std::string name = o.name.empty() ? args[0] + "-gateway" : o.name;
  auto d = client.dispatcher();
  CORBA::String_var msg = client.call(
      [&] { return d->create_gateway(args[0].c_str(), name.c_str(), static_cast<CORBA::UShort>(o.port)); });
  std::puts(msg.in());
  return 0;
}

Json gateway_json(const OServ::GatewayEntry& g) {
  return {{"oid", g.oid.in()}, {"label", g.label.in()}, {"od", g.od}, {"host", g.host.in()},
          {"port", g.port}};
}

Json endpoint_json(const OServ::EndpointEntry& e) {
  return {{"oid", e.oid.in()},
          {"label", e.label.in()},
          {"gateway", e.gateway.in()},
          {"interp", e.interp.in()},
          {"address", e.address.in()},
          {"last_login", e.last_login},
          {"login_kind", e.login_kind.in()},
          {"migrations", e.migrations},
          {"upcalls_recorded", e.last_upcall},
          {"login_interfaces", e.login_interfaces.in()}};
}

int wgateway(OservClient& client, const std::vector<std::string>& args, const Options&) {
  auto d = client.dispatcher();
  if (json_output() && !(args.empty() || (args.size() == 2 && args[1] == "sessions")))
    throw UsageError("--json goes with the list of gateways and sessions only");
  if (args.empty()) {
    OServ::GatewayEntries_var all = client.call([&] { return d->gateways(); });
    if (json_output()) {
      Json j = json_document("gateways", 1);
      j["gateways"] = Json::array();
      for (CORBA::ULong i = 0; i < all->length(); ++i) j["gateways"].push_back(gateway_json(all[i]));
      print_json(j);
      return 0;
    }
    for (CORBA::ULong i = 0; i < all->length(); ++i)
      fmt::print("{:<40} {:<20} {}+{}\n", all[i].oid.in(), all[i].label.in(), all[i].host.in(),
                 all[i].port);
    return 0;
  }
  if (args.size() != 2) throw UsageError("usage: wgateway [GATEWAY start|stop|status|sessions]");
  if (args[1] == "sessions") {
    OServ::EndpointSessions_var all = client.call([&] { return d->gateway_sessions(args[0].c_str()); });
    if (json_output()) {
      Json j = json_document("sessions", 1);
      j["gateway"] = args[0];
      j["sessions"] = Json::array();
      for (CORBA::ULong i = 0; i < all->length(); ++i)
        j["sessions"].push_back({{"oid", all[i].oid.in()}, {"label", all[i].label.in()},
                                 {"address", all[i].address.in()},
                                 {"login_kind", all[i].login_kind.in()},
                                 {"since", all[i].since.in()}});
      print_json(j);
      return 0;
    }
    for (CORBA::ULong i = 0; i < all->length(); ++i)
      fmt::print("{:<40} {:<20} {:<22} {:<9} {}\n", all[i].oid.in(), all[i].label.in(),
                 all[i].address.in(), all[i].login_kind.in(), all[i].since.in());
    return 0;
  }
  const auto g = find_gateway(client, args[0]);
  CORBA::Object_var obj = client.object(g.oid.in());
  OServ::Gateway_var gw = OServ::Gateway::_unchecked_narrow(obj);
  CORBA::String_var msg;
  if (args[1] == "start") msg = client.call([&] { return gw->start_gateway(); });
  else if (args[1] == "stop") msg = client.call([&] { return gw->stop_gateway(); });
  else if (args[1] == "status") msg = client.call([&] { return gw->gateway_status(); });
  else throw UsageError(fmt::format("'{}' is not start, stop, status or sessions", args[1]));
  std::puts(msg.in());
  return 0;
}

// "wep ls" in Tivoli's layout: each gateway, then its endpoints indented.
int wep_ls(OservClient& client, const Options& o) {
  auto d = client.dispatcher();
  OServ::GatewayEntries_var gws = client.call([&] { return d->gateways(); });
  OServ::EndpointEntries_var eps = client.call([&] { return d->endpoints(o.gateway.c_str()); });
  bool found = o.gateway.empty();
  Json j = json_document("endpoints", 1);
  j["gateways"] = Json::array();
  for (CORBA::ULong g = 0; g < gws->length(); ++g) {
    if (!o.gateway.empty() && o.gateway != gws[g].label.in()) continue;
    found = true;
    if (json_output()) {
      Json gateway = gateway_json(gws[g]);
      gateway["endpoints"] = Json::array();
      for (CORBA::ULong e = 0; e < eps->length(); ++e)
        if (std::strcmp(eps[e].gateway.in(), gws[g].label.in()) == 0)
          gateway["endpoints"].push_back(endpoint_json(eps[e]));
      j["gateways"].push_back(std::move(gateway));
      continue;
    }
    fmt::print("G {:<40} {}\n", gws[g].oid.in(), gws[g].label.in());
    for (CORBA::ULong e = 0; e < eps->length(); ++e)
      if (std::strcmp(eps[e].gateway.in(), gws[g].label.in()) == 0)
        fmt::print("    {:<44} {}\n", eps[e].oid.in(), eps[e].label.in());
  }
  if (!found) throw ClientError(fmt::format("no gateway {} in this region (see wgateway)", o.gateway));
  if (json_output()) print_json(j);
  return 0;
}

// wep set interfaces -e EP | -g GW LIST
int wep_set(OservClient& client, const std::vector<std::string>& args, const Options& o) {
  if (args.size() != 3 || args[1] != "interfaces" || o.endpoint.empty() == o.gateway.empty())
    throw UsageError("usage: wep set interfaces -e ENDPOINT | -g GATEWAY GW[+PORT][:GW[+PORT]...]");
  auto d = client.dispatcher();
  CORBA::String_var msg = client.call([&] {
    return d->set_login_interfaces(o.endpoint.c_str(), o.gateway.c_str(), args[2].c_str());
  });
  std::fputs(msg.in(), stdout);
  return 0;
}

int wep(OservClient& client, const std::vector<std::string>& args, const Options& o) {
  if (args.empty()) throw UsageError("usage: wep ls [-g GATEWAY] | wep EP [status | migrate GW]");
  if (args[0] == "ls") {
    if (args.size() != 1) throw UsageError("usage: wep ls [-g GATEWAY]");
    return wep_ls(client, o);
  }
  if (args[0] == "set") {
    if (json_output()) throw UsageError("--json goes with wep ls and wep ENDPOINT only");
    return wep_set(client, args, o);
  }
  auto d = client.dispatcher();
  const auto e = find_endpoint(client, args[0]);
  if (args.size() == 1 && json_output()) {
    Json j = json_document("endpoint", 1);
    j.update(endpoint_json(e));
    print_json(j);
    return 0;
  }
  if (json_output()) throw UsageError("--json goes with wep ls and wep ENDPOINT only");
  if (args.size() == 1) {
    const auto g = find_gateway(client, e.gateway.in());
    fmt::print("object               {}\n", e.oid.in());
    fmt::print("label                {}\n", e.label.in());
    fmt::print("gateway              {}\n", g.oid.in());
    fmt::print("gateway_label        {}\n", e.gateway.in());
    fmt::print("interp               {}\n", e.interp.in());
    fmt::print("protocol             TCPIP\n");
    fmt::print("address              {}\n", e.address.in());
    fmt::print("last_login_time      {}\n", when(e.last_login));
    fmt::print("login_kind           {}\n", e.login_kind.in());
    fmt::print("migrations           {}\n", e.migrations);
    fmt::print("upcalls_recorded     {}\n", e.last_upcall);
    fmt::print("login_interfaces     {}\n", e.login_interfaces.in());
    return 0;
  }
  if (args[1] == "status" && args.size() == 2) {
    OServ::MethodResult_var r;
    try {
      r = client.call([&] { return d->invoke(e.oid.in(), "ping", OServ::StringList()); });
    } catch (const ClientError& err) {
      if (err.unreachable()) throw;
      fmt::print("{} is not reachable: {}\n", e.label.in(), err.what());
      return 1;
    }
    fmt::print("{} is alive.\n", e.label.in());
    return 0;
  }
  if (args[1] == "migrate" && args.size() == 3) {
    CORBA::String_var msg =
        client.call([&] { return d->migrate_endpoint(e.oid.in(), args[2].c_str()); });
    std::puts(msg.in());
    return 0;
  }
  throw UsageError("usage: wep ls [-g GATEWAY] | wep EP [status | migrate GW]");
}

int wdelep(OservClient& client, const std::vector<std::string>& args, const Options&) {
  if (args.size() != 1) throw UsageError("one endpoint is needed (see wdelep --help)");
  auto d = client.dispatcher();
  CORBA::String_var msg = client.call([&] { return d->delete_endpoint(args[0].c_str()); });
  std::puts(msg.in());
  return 0;
}

constexpr const char* kManagerClass = "TMF_LCF::EndpointManager";
constexpr std::array<const char*, 4> kPolicies = {"allow_install_policy", "select_gateway_policy",
                                                  "after_install_policy", "login_policy"};

void check_policy_name(const std::string& name) {
  for (const char* p : kPolicies)
    if (name == p) return;
  throw UsageError(fmt::format("'{}' is not a policy: allow_install_policy, "
                               "select_gateway_policy, after_install_policy or login_policy",
                               name));
}

// wputeppol POLICY PROGRAM: the program, a file on the TMR server, becomes the policy.
int wputeppol(OservClient& client, const std::vector<std::string>& args, const Options&) {
  if (args.size() != 2) throw UsageError("usage: wputeppol POLICY PROGRAM");
  check_policy_name(args[0]);
  auto d = client.dispatcher();
  client.call([&] { d->install_method(kManagerClass, args[0].c_str(), args[1].c_str()); });
  fmt::print("{} is now {}\n", args[0], args[1]);
  return 0;
}

// wgeteppol [POLICY]: the program of each policy (or one), "none" when not set.
int wgeteppol(OservClient& client, const std::vector<std::string>& args, const Options&) {
  if (args.size() > 1) throw UsageError("usage: wgeteppol [POLICY]");
  if (args.size() == 1) check_policy_name(args[0]);
  auto d = client.dispatcher();
  OServ::MethodDefs_var defs = client.call([&] { return d->class_methods(kManagerClass); });
  for (const char* p : kPolicies) {
    if (args.size() == 1 && args[0] != p) continue;
    std::string program = "none";
    for (CORBA::ULong i = 0; i < defs->length(); ++i)
      if (std::strcmp(defs[i].name.in(), p) == 0) program = defs[i].program.in();
    fmt::print("{:<22} {}\n", p, program);
  }
  return 0;
}

// Every endpoint (or those named): is it reachable through its gateway now?
int wepstatus(OservClient& client, const std::vector<std::string>& args, const Options& o) {
  auto d = client.dispatcher();
  OServ::EndpointEntries_var all = client.call([&] { return d->endpoints(o.gateway.c_str()); });
  int down = 0;
  for (CORBA::ULong i = 0; i < all->length(); ++i) {
    const std::string label = all[i].label.in();
    if (!args.empty() && std::find(args.begin(), args.end(), label) == args.end()) continue;
    std::string state = "alive";
    try {
      client.call([&] { return d->invoke(all[i].oid.in(), "ping", OServ::StringList()); });
    } catch (const ClientError& err) {
      if (err.unreachable()) throw;
      state = fmt::format("unreachable: {}", err.what());
      ++down;
    }
    fmt::print("{:<24} {:<20} {}\n", label, all[i].gateway.in(), state);
  }
  return down ? 1 : 0;
}

struct Command {
  const char* name;
  const char* usage;
  int (*body)(OservClient&, const std::vector<std::string>&, const Options&);
};

const Command kCommands[] = {
    {"wcrtgate",
     "Usage: wcrtgate [-n NAME] [-p PORT] MANAGED_NODE\n\n"
     "Creates a gateway on MANAGED_NODE (its label): a Gateway object in that node's database,\n"
     "whose oserv starts the gateway process now and at every start. Endpoints reach it at the\n"
     "node's address and PORT (default 9494). NAME defaults to MANAGED_NODE-gateway.\n"
     "Who may: senior.\n",
     wcrtgate},
    {"wgateway",
     "Usage: wgateway [GATEWAY start|stop|status|sessions]\n\n"
     "Without arguments, lists the region's gateways: OID, label, address. start and stop\n"
     "start and stop the gateway's process (stop sends its endpoints to the other gateways at\n"
     "once; a stopped gateway stays stopped across oserv restarts); status shows its process.\n"
     "sessions asks the gateway which endpoints are logged in to it now, one line each: OID,\n"
     "label, the session's address, its login kind and since when (wep ls shows assignments,\n"
     "the Endpoint Manager's view; this is the gateway's).\n"
     "Who may: list, status and sessions user; start and stop senior.\n",
     wgateway},
    {"wep",
     "Usage: wep ls [-g GATEWAY]\n"
     "       wep ENDPOINT\n"
     "       wep ENDPOINT status\n"
     "       wep ENDPOINT migrate GATEWAY\n"
     "       wep set interfaces -e ENDPOINT | -g GATEWAY GW[+PORT][:GW[+PORT]...]\n\n"
     "ls lists the gateways and the endpoints assigned to each. ENDPOINT (label or OID) alone\n"
     "shows its record; status asks it, through its gateway, whether it is alive; migrate\n"
     "assigns it to GATEWAY (a live endpoint is told at once and logs in there).\n"
     "set interfaces gives the endpoint (-e), or every endpoint of GATEWAY (-g), the gateways it\n"
     "tries when its own and its alternates do not answer (lcfd's lcs.login_interfaces): a live\n"
     "endpoint is told now and keeps them in lcf.dat; one that is not reached gets them at its\n"
     "next login through the Endpoint Manager. One line per endpoint says which.\n"
     "Who may: ls, show and status user; migrate and set senior.\n",
     wep},
    {"wdelep",
     "Usage: wdelep ENDPOINT\n\n"
     "Deletes the endpoint's object and record; its gateway closes its session. Its lcfd, if\n"
     "still running, is then an orphan and logs in as a new endpoint.\n"
     "Who may: senior.\n",
     wdelep},
    {"wepstatus",
     "Usage: wepstatus [-g GATEWAY] [ENDPOINT...]\n\n"
     "For each endpoint (of GATEWAY, or those named), whether it answers through its gateway\n"
     "now: label, gateway, alive or why not. Exit code 1 when any does not answer.\n"
     "Who may: user (the ping is a method call: admin).\n",
     wepstatus},
    {"wputeppol",
     "Usage: wputeppol POLICY PROGRAM\n\n"
     "Makes PROGRAM (an executable on the TMR server) the Endpoint Manager's POLICY:\n"
     "  allow_install_policy   at an initial login; exit code not 0 refuses the endpoint\n"
     "  select_gateway_policy  at an initial login; the first line of its output naming a\n"
     "                         running gateway (label or OID) is the endpoint's gateway\n"
     "                         (otherwise: the gateway the login reached)\n"
     "  after_install_policy   after an initial login, in the background\n"
     "  login_policy           after every login, in the background (a normal login, which\n"
     "                         its gateway serves alone, is told to the Endpoint Manager\n"
     "                         a few seconds later)\n"
     "Each runs as a method of the Endpoint Manager object (method account, unprivileged),\n"
     "within 30 s, with arguments: OID of the Endpoint Manager, POLICY, the endpoint's label,\n"
     "its OID (empty before it has one), interpreter, the gateway the login reached, the\n"
     "endpoint's address, the kind of login. A policy that fails or times out refuses the\n"
     "login (allow_install_policy), leaves the default (select_gateway_policy), or is logged.\n"
     "Who may: senior.\n",
     wputeppol},
    {"wgeteppol",
     "Usage: wgeteppol [POLICY]\n\n"
     "Shows the program of each Endpoint Manager policy (or of POLICY), or none.\n"
     "Who may: user.\n",
     wgeteppol},
};

}  // namespace

int main(int argc, char** argv) {
  const Command* command = command_named(argv[0], kCommands);
  if (!command) return 2;
  static const std::string usage = std::string(command->usage) + kExitCodes;
  Options o;
  return client_main(
      {.name = command->name,
       .usage = usage.c_str(),
       .options =
           [&](po::options_description& opts) {
             opts.add_options()("name,n", po::value(&o.name), "gateway label (wcrtgate)")(
                 "port,p", po::value(&o.port), "gateway port (wcrtgate; default 9494)")(
                 "gateway,g", po::value(&o.gateway), "only this gateway's endpoints")(
                 "endpoint,e", po::value(&o.endpoint), "the endpoint (wep set interfaces)");
           },
       .body = [&](OservClient& client,
                   const std::vector<std::string>& args) { return command->body(client, args, o); },
       .json = std::strcmp(command->name, "wep") == 0 || std::strcmp(command->name, "wgateway") == 0},
      argc, argv);
}
