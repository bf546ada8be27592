// The region's administrators (Tivoli's wcrtadmin, wsetadmin, wgetadmin, wdeladmin): each is a
// name, the OS users it is ("alice" on any host, "alice@host" on one) and its roles.
//
// They are kept at the TMR server, which makes each edit as one read-modify-write transaction
// (the record locked for write) and then has the region's one sender send every administrator
// to every other dispatcher; an edit made at a managed node is sent to the TMR server. A node
// that was down takes the whole list again when it next joins (refresh()). Every dispatcher
// answers "who is this OS user" from its own copy, so an unreachable TMR server never locks
// local administrators out.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "Access.h"
#include "Database.h"
#include "OservLog.h"
#include "Peers.h"
#include "Records.h"
#include "Region.h"

namespace openoserv {

class Administrators {
 public:
  Administrators(db::Database& db, OservLog& log, Region& region, Peers& peers)
      : db_(db),
        log_(log),
        region_(region),
        peers_(peers),
        remote_login_(db.get_meta(kMetaRemoteLogin).value_or("TRUE") != "FALSE") {}

  std::vector<AdministratorRecord> all();
  std::optional<AdministratorRecord> find(const std::string& name);
  // The administrator OS user `user` on `host` is (a login "user@host" before "user").
  std::optional<AdministratorRecord> for_login(std::string_view user, std::string_view host);

  // At the TMR server (from a managed node: sent there). `create` refuses an existing name,
  // otherwise an unknown one. Returns the operator message.
  std::string set(const AdministratorRecord& admin, bool create);
  std::string remove(const std::string& name);
  // At the TMR server: changes administrator `name`'s list of valid certificate serials (one
  // transaction, then sent to the region like any edit); returns the new list.
  std::vector<std::string> edit_certificates(
      const std::string& name, const std::function<void(std::vector<std::string>&)>& change);

  // Whether administrators' client certificates are accepted at this dispatcher (Tivoli's
  // "Remote client login allowed", odadmin set_allow_rconnect; kept in this dispatcher's
  // database, TRUE unless set).
  bool remote_login_allowed() const;
  std::string set_remote_login(bool allow);
  static constexpr const char* kMetaRemoteLogin = "allow_rconnect";

  // Managed node: the TMR server's list replaces this node's.
  void replace_all(const std::vector<AdministratorRecord>& admins);
  // Managed node: fetches the list from the TMR server (after joining).
  void refresh();

  // Throws Failure when the record is not one to keep: a name of 1-64 characters [A-Za-z0-9_.-],
  // at least one role, logins "user" or "user@host" of the same characters.
  static void validate(const AdministratorRecord& admin);

 private:
  db::Database& db_;
  OservLog& log_;
  Region& region_;
  Peers& peers_;
  std::atomic<bool> remote_login_;
};

}  // namespace openoserv
