// The rule table and the decision.
#include "Access.h"

#include "Odlist.h"

#include <array>

#include <fmt/core.h>

namespace openoserv {

namespace {

constexpr OperationRule any(std::string_view op) {
  return {op, Need::kAnyone, kRoleUser, Audit::kNo};
}
constexpr OperationRule look(std::string_view op) {
  return {op, Need::kRole, kRoleUser, Audit::kNo};
}
constexpr OperationRule run(std::string_view op) {
  return {op, Need::kRole, kRoleAdmin, Audit::kYes};
}
// The generic invoke: admin's for a method program, a built-in method's own rule otherwise
// (method_refusal); audited as the method is.
constexpr OperationRule dispatch(std::string_view op) {
  return {op, Need::kRole, kRoleAdmin, Audit::kByMethod};
}
constexpr OperationRule configure(std::string_view op) {
  return {op, Need::kRole, kRoleSenior, Audit::kYes};
}
constexpr OperationRule raw(std::string_view op) {
  return {op, Need::kRole, kRoleSuper, Audit::kYes};
}
constexpr OperationRule region(std::string_view op) {
  return {op, Need::kDispatcher, kRoleSuper, Audit::kYes};
}
constexpr OperationRule standby(std::string_view op) {
  return {op, Need::kStandby, kRoleSuper, Audit::kNo};
}

// Keep in the order of idl/oserv.idl; the README's table is this one.
constexpr std::array kRules = {
    // CORBA's own operations (type checks, existence): reveal nothing.
    any("_is_a"), any("_non_existent"), any("_interface"), any("_repository_id"),
    any("_component"),
    // OServ::Object and its classes.
    look("_get_oid"), look("_get_class_name"), dispatch("invoke"),
    any("ping"), look("hostname"), run("run_script"), configure("host_gateway"),
    configure("add_task"), look("list_tasks"), run("run_task"),
    configure("start_gateway"), configure("stop_gateway"), look("gateway_status"),
    // Admin.
    look("status"), look("health"), configure("db_sync"), configure("shutdown"), look("ior"),
    OperationRule{"backup", Need::kRole, kRoleBackup, Audit::kYes}, look("method_user"),
    OperationRule{"set_method_user", Need::kRole, kRoleSuper, Audit::kYes},
    // The log says what methods did and who was refused: for those who run methods.
    OperationRule{"log_tail", Need::kRole, kRoleAdmin, Audit::kNo},
    // RegionAdmin.
    look("odlist"), configure("set_force_bind"), configure("change_ip"),
    configure("add_hostname_alias"), configure("delete_hostname_alias"),
    region("node_started"), region("odlist_update"),
    look("ping_od"),
    // Registry.
    configure("create_object"), look("lookup"), look("list_names"), configure("register_name"),
    configure("install_method"), region("class_update"), look("class_methods"),
    look("object_ior"), look("object_url"),
    // Dispatch ("invoke" above).
    look("odstat"),
    // Transactions: the object database itself, every table (the odlist, the administrators)
    // below every other rule, so super only.
    OperationRule{"txn_begin", Need::kRole, kRoleSuper, Audit::kNo}, raw("txn_put"),
    raw("txn_erase"),
    OperationRule{"txn_get", Need::kRole, kRoleSuper, Audit::kNo}, raw("attr_set"),
    OperationRule{"attr_get", Need::kRole, kRoleSuper, Audit::kNo}, raw("txn_commit"),
    raw("txn_abort"), look("tmstat"),
    // Security.
    any("whoami"), look("administrators"),
    OperationRule{"set_administrator", Need::kRole, kRoleSuper, Audit::kYes},
    OperationRule{"delete_administrator", Need::kRole, kRoleSuper, Audit::kYes},
    region("administrators_update"), configure("join_token"),
    // The token is the right to join; every attempt is logged.
    OperationRule{"join_region", Need::kAnyone, kRoleUser, Audit::kYes},
    OperationRule{"join_standby", Need::kAnyone, kRoleUser, Audit::kYes},
    OperationRule{"issue_certificate", Need::kRole, kRoleSuper, Audit::kYes},
    OperationRule{"revoke_certificate", Need::kRole, kRoleSuper, Audit::kYes},
    region("renew_certificate"), configure("renew_own_certificate"),
    configure("set_allow_rconnect"),
    // Endpoints: the administrators' view and edits, and what gateways ask.
    configure("create_gateway"), look("gateways"), configure("delete_gateway"), look("endpoints"),
    look("gateway_sessions"), configure("migrate_endpoint"), configure("set_login_interfaces"), configure("delete_endpoint"), region("gateway_started"), region("endpoints_seen"),
    region("endpoint_login"), region("method_body"), region("endpoint_upcall"),
    // Replication: the stream and the copy for standbys only; the status for anyone who looks.
    standby("replica_fetch"), standby("replica_copy_begin"), standby("replica_copy_read"),
    standby("replica_copy_end"), look("replication_status"),
    OperationRule{"set_replication", Need::kRole, kRoleSuper, Audit::kYes},
    OperationRule{"promote", Need::kRole, kRoleSuper, Audit::kYes},
    standby("switchover"), standby("epoch_after"), standby("replica_checksums"),
    standby("rejoin_standby"),
    standby("request_vote"),
    OperationRule{"rejoin", Need::kRole, kRoleSuper, Audit::kYes},
    OperationRule{"demote", Need::kRole, kRoleSuper, Audit::kYes},
};

constexpr std::array<std::pair<Role, std::string_view>, 5> kRoleNames = {{
    {kRoleSuper, "super"},
    {kRoleSenior, "senior"},
    {kRoleAdmin, "admin"},
    {kRoleUser, "user"},
    {kRoleBackup, "backup"},
}};

}  // namespace

std::string_view role_name(Role role) {
  for (const auto& [r, name] : kRoleNames)
    if (r == role) return name;
  return "?";
}

std::string roles_text(Roles roles) {
  std::string text;
  for (const auto& [r, name] : kRoleNames)
    if (roles & r) {
      if (!text.empty()) text += ':';
      text += name;
    }
  return text.empty() ? "none" : text;
}

std::optional<Roles> parse_roles(std::string_view text, std::string* bad) {
  // "global,super:senior": the resource Tivoli grants the roles over comes first.
  if (text.substr(0, 7) == "global,") text.remove_prefix(7);
  Roles roles = 0;
  while (!text.empty()) {
    const size_t end = text.find_first_of(":,");
    const std::string_view word = text.substr(0, end);
    bool known = false;
    for (const auto& [r, name] : kRoleNames)
      if (word == name) {
        roles |= r;
        known = true;
      }
    if (!known) {
      if (bad) *bad = std::string(word);
      return std::nullopt;
    }
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return roles;
}

bool satisfies(Roles held, Role needed) {
  if (held & kRoleSuper) return true;
  switch (needed) {
    case kRoleUser: return (held & (kRoleUser | kRoleAdmin | kRoleSenior)) != 0;
    case kRoleAdmin: return (held & (kRoleAdmin | kRoleSenior)) != 0;
    default: return (held & needed) != 0;
  }
}

std::string Principal::describe() const {
  std::string text = name;
  if (!admin.empty()) text += fmt::format(", administrator {}", admin);
  if (!on_behalf_of.empty()) text += fmt::format(", for {}", on_behalf_of);
  return text;
}

std::span<const OperationRule> operation_rules() { return kRules; }

const OperationRule* rule_for(std::string_view operation) {
  for (const auto& rule : kRules)
    if (rule.operation == operation) return &rule;
  return nullptr;
}

std::optional<std::string> refusal(const Principal& who, std::string_view operation) {
  return refusal(who, operation, rule_for(operation));
}

std::optional<std::string> refusal(const Principal& who, std::string_view operation,
                                   const OperationRule* rule) {
  if (!rule)
    return fmt::format("{} is not an operation this dispatcher serves to anyone", operation);
  switch (rule->need) {
    case Need::kAnyone: return std::nullopt;
    case Need::kDispatcher:
      if (who.kind == Principal::Kind::kDispatcher) return std::nullopt;
      return fmt::format("{} is for the region's dispatchers only; {} is not one", operation,
                         who.describe());
    case Need::kStandby:
      if (who.kind == Principal::Kind::kDispatcher && who.od == kTmrDispatcher) return std::nullopt;
      return fmt::format("{} is for standby TMR servers only; {} is not one", operation,
                         who.describe());
    case Need::kRole:
      if (satisfies(who.roles, rule->role)) return std::nullopt;
      return fmt::format("{} needs the {} role; {} has {}", operation, role_name(rule->role),
                         who.describe(), roles_text(who.roles));
  }
  return std::nullopt;
}

namespace {

// The rule a method run through invoke is held to: its typed operation's, the attributes' for
// oid and class_name, invoke's own for a method program.
const OperationRule& method_rule(std::string_view method) {
  static const OperationRule* const invoke = rule_for("invoke");
  static const OperationRule* const oid = rule_for("_get_oid");
  static const OperationRule* const class_name = rule_for("_get_class_name");
  if (method == "oid") return *oid;
  if (method == "class_name") return *class_name;
  if (const OperationRule* rule = rule_for(method); rule && method != "invoke") return *rule;
  return *invoke;
}

}  // namespace

bool method_audited(std::string_view method) {
  const OperationRule& rule = method_rule(method);
  return rule.audit != Audit::kNo;
}

std::optional<std::string> method_refusal(const Principal& who, std::string_view method) {
  const OperationRule& rule = method_rule(method);
  const std::string_view operation = rule.operation;
  if (auto why = refusal(who, operation, &rule)) {
    if (operation == method) return why;
    return fmt::format("method {} (as {}): {}", method, operation, *why);
  }
  return std::nullopt;
}

}  // namespace openoserv
