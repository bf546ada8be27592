// Who may call what: the principals that call an oserv, Tivoli's administrator roles, and the one
// table that gives every operation of the wire interface (idl/oserv.idl) what it requires.
//
// Roles (Tivoli's names): user (look), admin (run tasks and methods), senior (configure: the
// odlist, classes, objects, shutdown), super (everything), backup (back the database up). They
// nest super > senior > admin > user; backup stands beside them and only super includes it.
//
// Principals, from what the connection proves:
// * a local client on the Unix socket is the OS user the kernel names (SO_PEERCRED): root, and
//   the oserv's own user, are the region's root administrator (every role); another user has
//   the roles of the administrator whose logins name it, or none;
// * a dispatcher of the region is a TLS peer with a certificate of the region's CA issued to a
//   dispatcher (security/RegionCa.h): it has every role, and alone may call the operations by
//   which dispatchers keep the region (node_started, odlist_update, ...);
// * a remote client is a TLS peer with an administrator's client certificate of the region,
//   still listed in that administrator's record (not revoked): it has that administrator's
//   roles, if this dispatcher allows remote client login (odadmin set_allow_rconnect);
// * any other peer is anonymous: it may call only what anyone may (ping, whoami, and
//   join_region, whose token is the right). A peer that does not speak TLS, or shows a
//   certificate of another CA or an expired one, does not get past the TLS handshake.
//
// An operation the table does not name is refused: a new operation is unreachable until it is
// given a rule here.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace openoserv {

enum Role : std::uint8_t {
  kRoleUser = 1,
  kRoleAdmin = 2,
  kRoleSenior = 4,
  kRoleSuper = 8,
  kRoleBackup = 16,
};
using Roles = std::uint8_t;
inline constexpr Roles kAllRoles = kRoleUser | kRoleAdmin | kRoleSenior | kRoleSuper | kRoleBackup;

// "user", "admin", ...
std::string_view role_name(Role role);
// "super:senior" (the roles held, highest first; "none" when empty).
std::string roles_text(Roles roles);
// Parses Tivoli's role list: "super:senior", "senior,backup", or with the resource first as
// wcrtadmin takes it, "global,super:senior". nullopt (and `bad` set to the word) for an unknown
// role.
std::optional<Roles> parse_roles(std::string_view text, std::string* bad = nullptr);
// Whether `held` includes `needed` (super includes every role; senior admin and user; admin user).
bool satisfies(Roles held, Role needed);

struct Principal {
  enum class Kind : std::uint8_t {
    kLocal,       // a local OS user on the Unix socket
    kDispatcher,  // another dispatcher of the region
    kRemote,      // an IIOP client
  };
  Kind kind = Kind::kRemote;
  std::string name;   // "root", "alice (uid 1000)", "dispatcher 2 (10.0.0.2)", "10.0.0.9"
  std::string admin;  // the administrator it acts as ("" when none)
  Roles roles = 0;
  std::uint32_t od = 0;  // kDispatcher: its dispatcher number, from its certificate
  // A dispatcher relaying a call: the caller it relays for, as it named it (information for
  // programs and the audit log, never a credential).
  std::string on_behalf_of;

  // "alice (uid 1000), administrator Alice", "dispatcher 2 ..., for alice ..." — for refusals
  // and the audit log.
  std::string describe() const;
};

// What an operation requires.
enum class Need : std::uint8_t {
  kAnyone,      // even an anonymous caller
  kRole,        // the role in the rule
  kDispatcher,  // another dispatcher of the region (or this oserv itself)
  kStandby,     // a standby TMR server: a dispatcher-1 certificate (its own address)
};

// Which calls the audit log records.
enum class Audit : std::uint8_t {
  kNo,
  kYes,       // changes state or runs a program: every call is logged
  kByMethod,  // the generic invoke: logged as the method it runs is (method_audited)
};

struct OperationRule {
  std::string_view operation;  // GIOP operation name ("shutdown", "_get_oid")
  Need need;
  Role role;    // for Need::kRole
  Audit audit;
};

// Every operation of idl/oserv.idl, and the standard object operations CORBA clients send.
std::span<const OperationRule> operation_rules();
const OperationRule* rule_for(std::string_view operation);

// Why `who` may not call `operation` (a sentence naming both), or nullopt when it may.
std::optional<std::string> refusal(const Principal& who, std::string_view operation);
// The same, with the operation's rule already looked up (null: the operation has none).
std::optional<std::string> refusal(const Principal& who, std::string_view operation,
                                   const OperationRule* rule);
// The same for method `method` run through the generic invoke: a built-in method with a typed
// operation of its own (add_task, run_script, ...) needs that operation's role, so that invoke
// is no way around it; oid and class_name are the attributes; any other method needs admin.
std::optional<std::string> method_refusal(const Principal& who, std::string_view method);
// Whether running `method` through the generic invoke is logged: a method program always; a
// built-in method as its typed operation is (run_script yes; ping, hostname, oid no).
bool method_audited(std::string_view method);

}  // namespace openoserv
