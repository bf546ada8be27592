// The access table and the administrators: every operation of idl/oserv.idl has a rule, roles
// nest as Tivoli's do, refusals name the operation, the caller and the role; administrators are
// kept at the TMR server, edited from any node and copied to every node.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/core.h>

#include "Access.h"
#include "InProcessRegion.h"

namespace openoserv {
namespace {

using testing::InProcessRegion;
using testing::eventually;

// The GIOP operation names idl/oserv.idl defines: operations, and attributes as _get_<name>.
std::set<std::string> idl_operations() {
  std::ifstream in(OPENOSERV_IDL_FILE);
  std::stringstream text;
  text << in.rdbuf();
  std::string idl = std::regex_replace(text.str(), std::regex("//[^\n]*"), "");
  std::set<std::string> ops;
  const std::regex op(R"(\b([A-Za-z_][A-Za-z0-9_]*)\s*\()");
  const std::regex attr(R"(readonly\s+attribute\s+\w+\s+(\w+)\s*;)");
  // Only inside interfaces: struct members and exceptions have no parentheses.
  for (std::sregex_iterator it(idl.begin(), idl.end(), op), end; it != end; ++it) {
    const std::string name = (*it)[1];
    if (name != "sequence" && name != "raises") ops.insert(name);
  }
  for (std::sregex_iterator it(idl.begin(), idl.end(), attr), end; it != end; ++it)
    ops.insert("_get_" + std::string((*it)[1]));
  return ops;
}

TEST(Access, EveryIdlOperationHasARuleAndEveryRuleAnOperation) {
  const auto ops = idl_operations();
  ASSERT_GT(ops.size(), 40u) << "the IDL was not read: " << OPENOSERV_IDL_FILE;
  for (const auto& op : ops) EXPECT_NE(rule_for(op), nullptr) << op << " has no rule";
  for (const auto& rule : operation_rules()) {
    if (rule.operation.front() == '_' && rule.operation.substr(0, 5) != "_get_") continue;
    EXPECT_TRUE(ops.count(std::string(rule.operation))) << rule.operation << " is not in the IDL";
  }
}

// The README's access table is the code's: one row per rule, in the table's order.
TEST(Access, TheReadmeListsEveryRule) {
  std::ifstream in(OPENOSERV_README_FILE);
  std::stringstream text;
  text << in.rdbuf();
  std::string expected;
  for (const auto& rule : operation_rules()) {
    const std::string who = rule.need == Need::kAnyone       ? "anyone"
                            : rule.need == Need::kDispatcher ? "dispatchers of the region"
                            : rule.need == Need::kStandby    ? "standby TMR servers"
                                                             : std::string(role_name(rule.role));
    const char* audited = rule.audit == Audit::kYes        ? "yes"
                          : rule.audit == Audit::kByMethod ? "as its method"
                                                           : "";
    expected += fmt::format("| `{}` | {} | {} |\n", rule.operation, who, audited);
  }
  EXPECT_NE(text.str().find(expected), std::string::npos)
      << "README.md's access table should read:\n" << expected;
}

TEST(Access, RolesNestAsTivolisDo) {
  EXPECT_TRUE(satisfies(kRoleSuper, kRoleBackup));
  EXPECT_TRUE(satisfies(kRoleSenior, kRoleUser));
  EXPECT_TRUE(satisfies(kRoleSenior, kRoleAdmin));
  EXPECT_FALSE(satisfies(kRoleSenior, kRoleSuper));
  EXPECT_FALSE(satisfies(kRoleSenior, kRoleBackup));
  EXPECT_FALSE(satisfies(kRoleBackup, kRoleUser));
  EXPECT_FALSE(satisfies(kRoleUser, kRoleAdmin));
  EXPECT_EQ(parse_roles("global,senior:backup"), Roles(kRoleSenior | kRoleBackup));
  EXPECT_EQ(parse_roles("user,admin"), Roles(kRoleUser | kRoleAdmin));
  std::string bad;
  EXPECT_FALSE(parse_roles("senior:root", &bad));
  EXPECT_EQ(bad, "root");
  EXPECT_EQ(roles_text(kRoleBackup | kRoleSuper), "super:backup");
  EXPECT_EQ(roles_text(0), "none");
}

TEST(Access, RefusalsNameTheOperationTheCallerAndWhatIsMissing) {
  const Principal alice{.kind = Principal::Kind::kLocal, .name = "alice (uid 1000, local)",
                        .admin = "Alice", .roles = kRoleUser};
  EXPECT_FALSE(refusal(alice, "odlist"));
  EXPECT_FALSE(refusal(alice, "ping"));
  EXPECT_EQ(*refusal(alice, "shutdown"),
            "shutdown needs the senior role; alice (uid 1000, local), administrator Alice has user");
  EXPECT_TRUE(refusal(alice, "backup"));
  EXPECT_TRUE(refusal(alice, "odlist_update")) << "dispatchers only";
  EXPECT_TRUE(refusal(alice, "no_such_operation")) << "unknown operations are refused";
  const Principal nobody{.kind = Principal::Kind::kLocal, .name = "nobody", .admin = "", .roles = 0};
  for (const auto& rule : operation_rules())
    EXPECT_EQ(refusal(nobody, rule.operation).has_value(), rule.need != Need::kAnyone)
        << rule.operation;
  const Principal peer{.kind = Principal::Kind::kDispatcher, .name = "od 2", .admin = "",
                       .roles = kAllRoles, .od = 2};
  for (const auto& rule : operation_rules())
    EXPECT_EQ(refusal(peer, rule.operation).has_value(), rule.need == Need::kStandby)
        << rule.operation;
  // A standby's certificate names dispatcher 1: the replication stream is for it alone.
  const Principal standby{.kind = Principal::Kind::kDispatcher, .name = "dispatcher 1 (10.0.0.9)",
                          .admin = "", .roles = kAllRoles, .od = 1};
  EXPECT_FALSE(refusal(standby, "replica_fetch"));
  EXPECT_EQ(*refusal(peer, "replica_fetch"),
            "replica_fetch is for standby TMR servers only; od 2 is not one");
  const Principal super{.kind = Principal::Kind::kLocal, .name = "root", .admin = "root",
                        .roles = kAllRoles};
  EXPECT_TRUE(refusal(super, "replica_copy_read")) << "not even a super administrator";
  // A vote in an automatic promotion is asked by a standby only: not by a node, nor an operator.
  EXPECT_FALSE(refusal(standby, "request_vote"));
  EXPECT_TRUE(refusal(peer, "request_vote"));
  EXPECT_TRUE(refusal(super, "request_vote"));
  EXPECT_FALSE(refusal(super, "replication_status"));
}

TEST(Administrators, EditedFromANodeKeptAtTheTmrServerAndCopiedToEveryNode) {
  InProcessRegion r("admins");
  auto& n2 = r.add_node();
  auto& n3 = r.add_node();
  EXPECT_EQ(n3.administrators.set({.name = "Alice", .logins = {"alice", "al@n2"}, .roles = kRoleUser},
                                  true),
            "Administrator Alice created: roles user.");
  ASSERT_EQ(r.tmr().administrators.all().size(), 1u) << "made at the TMR server";
  EXPECT_TRUE(eventually([&] { return n2.administrators.for_login("alice", "anyhost").has_value(); }));
  EXPECT_THROW(n2.administrators.set({.name = "Alice", .logins = {}, .roles = kRoleUser}, true),
               Failure)
      << "exists";
  EXPECT_THROW(n2.administrators.set({.name = "Bob", .logins = {"alice"}, .roles = kRoleUser}, true),
               Failure)
      << "a login is one administrator's";
  n2.administrators.set({.name = "Bob", .logins = {"bob"}, .roles = kRoleSenior}, true);
  EXPECT_TRUE(eventually([&] { return n3.administrators.all().size() == 2; }));
  n3.administrators.remove("Alice");
  EXPECT_TRUE(eventually([&] { return n2.administrators.all().size() == 1; }));
  EXPECT_THROW(n3.administrators.remove("Alice"), Failure);
}

TEST(Administrators, ALoginOnThisHostWinsOverOneOnAnyHost) {
  InProcessRegion r("admins_login");
  auto& tmr = r.tmr();
  tmr.administrators.set({.name = "Anywhere", .logins = {"carol"}, .roles = kRoleUser}, true);
  tmr.administrators.set({.name = "Here", .logins = {"carol@db1"}, .roles = kRoleSenior}, true);
  EXPECT_EQ(tmr.administrators.for_login("carol", "db1")->name, "Here");
  EXPECT_EQ(tmr.administrators.for_login("carol", "web2")->name, "Anywhere");
  EXPECT_FALSE(tmr.administrators.for_login("dave", "db1"));
}

TEST(Administrators, BadRecordsAreRefused) {
  for (const AdministratorRecord& bad : {
           AdministratorRecord{.name = "", .logins = {}, .roles = kRoleUser},
           AdministratorRecord{.name = "a b", .logins = {}, .roles = kRoleUser},
           AdministratorRecord{.name = "x", .logins = {}, .roles = 0},
           AdministratorRecord{.name = "x", .logins = {"al ice"}, .roles = kRoleUser},
           AdministratorRecord{.name = "x", .logins = {"alice@"}, .roles = kRoleUser},
       })
    EXPECT_THROW(Administrators::validate(bad), Failure) << bad.name;
  EXPECT_NO_THROW(Administrators::validate({.name = "Root_region-1.a", .logins = {"root@h.example"},
                                            .roles = kRoleSuper}));
}

}  // namespace
}  // namespace openoserv
