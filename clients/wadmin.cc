// wcrtadmin, wsetadmin, wgetadmin, wdeladmin: the region's administrators, as Tivoli named the
// commands. One program; what it does follows the name it is run under.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/core.h>
#include <fmt/format.h>

#include "Access.h"
#include "ClientMain.h"
#include "WireConvert.h"

namespace po = boost::program_options;
using namespace openoserv;

namespace {

const char* kRolesText =
    "Roles: super (everything), senior (configure: odlist, classes, objects, shutdown), admin\n"
    "(run tasks and methods), user (look), backup (wbkupdb). ROLES is a list joined by ':'\n"
    "(\"senior:backup\"), optionally after Tivoli's resource (\"global,senior:backup\").\n"
    "A LOGIN is an OS user on any host (\"alice\") or on one (\"alice@hostname\"); root is always\n"
    "the root administrator. Changes are made at the TMR server and reach every dispatcher.\n\n"
    "Who may: wgetadmin anyone with the user role (without arguments: anyone);\n"
    "wcrtadmin, wsetadmin and wdeladmin the super role.\n\n"
    "Exit codes: 0 done, 1 refused (unknown name, bad role, permission denied), 2 usage\n"
    "error, 3 the oserv does not answer.\n";

struct Edits {
  std::vector<std::string> add_logins, remove_logins, roles;
  bool all = false;
};

Roles parse_role_options(const std::vector<std::string>& texts) {
  Roles roles = 0;
  for (const auto& text : texts) {
    std::string bad;
    auto parsed = parse_roles(text, &bad);
    if (!parsed)
      throw UsageError(fmt::format("'{}' is not a role (super, senior, admin, user, backup)", bad));
    roles |= *parsed;
  }
  return roles;
}

std::string one_name(const std::vector<std::string>& args, const char* command) {
  if (args.size() != 1)
    throw UsageError(fmt::format("one administrator NAME is needed (see {} --help)", command));
  return args[0];
}

void print_admin(const OServ::AdminEntry& a) {
  std::vector<std::string> logins;
  for (CORBA::ULong i = 0; i < a.logins.length(); ++i) logins.emplace_back(a.logins[i].in());
  std::vector<std::string> certs;
  for (CORBA::ULong i = 0; i < a.certificates.length(); ++i)
    certs.emplace_back(a.certificates[i].in());
  fmt::print("Administrator: {}\n  logins: {}\n  roles:  global  {}\n  client certificates: {}\n",
             a.name.in(), logins.empty() ? "(none)" : fmt::format("{}", fmt::join(logins, ", ")),
             a.roles.in(), certs.empty() ? "(none)" : fmt::format("{}", fmt::join(certs, ", ")));
}

int create(OservClient& client, const std::vector<std::string>& args, const Edits& e) {
  AdministratorRecord admin{.name = one_name(args, "wcrtadmin"),
                            .logins = e.add_logins,
                            .roles = parse_role_options(e.roles)};
  if (!admin.roles) throw UsageError("give the administrator at least one role with -r");
  const OServ::AdminEntry entry = wire::admin(admin);
  CORBA::String_var msg = client.call([&] { return client.dispatcher()->set_administrator(entry, true); });
  fmt::print("{}\n", msg.in());
  return 0;
}

int change(OservClient& client, const std::vector<std::string>& args, const Edits& e) {
  const std::string name = one_name(args, "wsetadmin");
  auto d = client.dispatcher();
  OServ::AdminEntries_var all = client.call([&] { return d->administrators(); });
  for (CORBA::ULong i = 0; i < all->length(); ++i) {
    if (name != all[i].name.in()) continue;
    AdministratorRecord admin = wire::admin(all[i]);
    for (const auto& login : e.remove_logins)
      admin.logins.erase(std::remove(admin.logins.begin(), admin.logins.end(), login),
                         admin.logins.end());
    for (const auto& login : e.add_logins)
      if (std::find(admin.logins.begin(), admin.logins.end(), login) == admin.logins.end())
        admin.logins.push_back(login);
    if (!e.roles.empty()) admin.roles = parse_role_options(e.roles);
    const OServ::AdminEntry entry = wire::admin(admin);
    CORBA::String_var msg = client.call([&] { return d->set_administrator(entry, false); });
    fmt::print("{}\n", msg.in());
    return 0;
  }
  std::fprintf(stderr, "wsetadmin: no administrator %s (see wgetadmin --all)\n", name.c_str());
  return 1;
}

int show(OservClient& client, const std::vector<std::string>& args, const Edits& e) {
  auto d = client.dispatcher();
  if (args.empty() && !e.all) {
    CORBA::String_var me = client.call([&] { return d->whoami(); });
    fmt::print("{}\n", me.in());
    return 0;
  }
  OServ::AdminEntries_var all = client.call([&] { return d->administrators(); });
  bool found = false;
  for (CORBA::ULong i = 0; i < all->length(); ++i) {
    if (!e.all && args[0] != all[i].name.in()) continue;
    print_admin(all[i]);
    found = true;
  }
  if (!found && !e.all) {
    std::fprintf(stderr, "wgetadmin: no administrator %s (see wgetadmin --all)\n",
                 args[0].c_str());
    return 1;
  }
  return 0;
}

int remove(OservClient& client, const std::vector<std::string>& args, const Edits&) {
  const std::string name = one_name(args, "wdeladmin");
  CORBA::String_var msg =
      client.call([&] { return client.dispatcher()->delete_administrator(name.c_str()); });
  fmt::print("{}\n", msg.in());
  return 0;
}

struct Command {
  const char* name;
  const char* synopsis;
  int (*body)(OservClient&, const std::vector<std::string>&, const Edits&);
};

constexpr Command kCommands[] = {
    {"wcrtadmin", "Usage: wcrtadmin [options] -r ROLES [-l LOGIN]... NAME\n\n"
                  "Creates administrator NAME with ROLES and the OS users LOGIN.\n\n",
     create},
    {"wsetadmin", "Usage: wsetadmin [options] [-r ROLES] [-l LOGIN]... [-L LOGIN]... NAME\n\n"
                  "Changes administrator NAME: -r replaces its roles, -l adds a login, -L removes\n"
                  "one.\n\n",
     change},
    {"wgetadmin", "Usage: wgetadmin [options] [NAME | --all]\n\n"
                  "Without arguments: who you are to the oserv, and your roles. With NAME, that\n"
                  "administrator; with --all, every one.\n\n",
     show},
    {"wdeladmin", "Usage: wdeladmin [options] NAME\n\nDeletes administrator NAME.\n\n", remove},
};

}  // namespace

int main(int argc, char** argv) {
  const Command* command = command_named(argv[0], kCommands);
  if (!command) return 2;
  static const std::string usage = std::string(command->synopsis) + kRolesText;
  Edits edits;
  return client_main(
      {.name = command->name,
       .usage = usage.c_str(),
       .options =
           [&](po::options_description& opts) {
             opts.add_options()("roles,r", po::value(&edits.roles)->composing(),
                                "roles (wcrtadmin, wsetadmin)")(
                 "login,l", po::value(&edits.add_logins)->composing(), "add an OS user login")(
                 "remove-login,L", po::value(&edits.remove_logins)->composing(),
                 "remove a login (wsetadmin)")("all,a", po::bool_switch(&edits.all),
                                               "every administrator (wgetadmin)");
           },
       .body = [&](OservClient& client,
                   const std::vector<std::string>& args) { return command->body(client, args, edits); }},
      argc, argv);
}
