// Administrators: kept at the TMR server, copied to every dispatcher.
#include "Administrators.h"

#include <algorithm>

#include <fmt/format.h>

#include "Failure.h"

namespace openoserv {

namespace {

// Locked by every edit; no administrator can be called this ('#' is not a name character).
constexpr const char* kEditLock = "#edit";

bool plain_word(std::string_view text, size_t max) {
  if (text.empty() || text.size() > max) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
  });
}

template <typename F>
auto at_tmr(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Unreachable& e) {
    fail(fmt::format("administrators are kept at the TMR server, and {}", e.what()));
  }
}

}  // namespace

void Administrators::validate(const AdministratorRecord& admin) {
  if (!plain_word(admin.name, 64))
    fail(fmt::format("'{}' is not a valid administrator name (1-64 of A-Z a-z 0-9 _ . -)",
                     admin.name));
  if ((admin.roles & kAllRoles) == 0 || (admin.roles & ~kAllRoles) != 0)
    fail(fmt::format("administrator {} needs at least one role (super, senior, admin, user, "
                     "backup)",
                     admin.name));
  for (const auto& login : admin.logins) {
    const size_t at = login.find('@');
    const bool ok = at == std::string::npos
                        ? plain_word(login, 32)
                        : plain_word(login.substr(0, at), 32) && plain_word(login.substr(at + 1), 253);
    if (!ok)
      fail(fmt::format("'{}' is not a valid login for administrator {} (user, or user@host)",
                       login, admin.name));
  }
}

std::vector<AdministratorRecord> Administrators::all() {
  std::vector<AdministratorRecord> out;
  for (const auto& [name, bytes] : db_.scan(db::Table::kAdministrators))
    out.push_back(records::decode_administrator(name, bytes));
  return out;
}

std::optional<AdministratorRecord> Administrators::for_login(std::string_view user,
                                                             std::string_view host) {
  const std::string exact = fmt::format("{}@{}", user, host);
  std::optional<AdministratorRecord> any_host;
  for (auto& admin : all()) {
    for (const auto& login : admin.logins) {
      if (login == exact) return std::move(admin);
      if (login == user && !any_host) any_host = admin;
    }
  }
  return any_host;
}

std::string Administrators::set(const AdministratorRecord& admin, bool create) {
  validate(admin);
  if (!region_.is_tmr()) return at_tmr([&] { return peers_.set_administrator(admin, create); });
  {
    auto txn = db_.begin(nullptr, create ? "wcrtadmin" : "wsetadmin");
    // One edit at a time: the check that a login is nobody else's reads every record.
    txn->lock(db::Table::kAdministrators, kEditLock, db::LockMode::kWrite);
    const bool exists = txn->get(db::Table::kAdministrators, admin.name).has_value();
    if (create && exists) fail(fmt::format("administrator {} already exists", admin.name));
    if (!create && !exists) fail(fmt::format("no administrator {} (see wgetadmin)", admin.name));
    // A login is one administrator's: two would make who-is-who depend on the order of names.
    for (const auto& other : all()) {
      if (other.name == admin.name) continue;
      for (const auto& login : admin.logins)
        if (std::find(other.logins.begin(), other.logins.end(), login) != other.logins.end())
          fail(fmt::format("login {} is already administrator {}'s", login, other.name));
    }
    // Its certificates are issued and revoked by their own commands, not set here.
    AdministratorRecord kept = admin;
    kept.certificates.clear();
    if (auto stored = txn->get(db::Table::kAdministrators, admin.name))
      kept.certificates = records::decode_administrator(admin.name, *stored).certificates;
    txn->put(db::Table::kAdministrators, admin.name, records::encode_administrator(kept));
    txn->commit();
  }
  log_.line(fmt::format("administrator {}: roles {}, logins {}", admin.name,
                        roles_text(admin.roles), fmt::join(admin.logins, " ")));
  region_.push_administrators();
  return fmt::format("Administrator {} {}: roles {}.", admin.name,
                     create ? "created" : "changed", roles_text(admin.roles));
}

std::optional<AdministratorRecord> Administrators::find(const std::string& name) {
  auto bytes = db_.read(db::Table::kAdministrators, name);
  if (!bytes) return std::nullopt;
  return records::decode_administrator(name, *bytes);
}

std::vector<std::string> Administrators::edit_certificates(
    const std::string& name, const std::function<void(std::vector<std::string>&)>& change) {
  if (!region_.is_tmr())
    fail("client certificates are issued and revoked at the TMR server, which holds the "
         "region CA's key");
  std::vector<std::string> result;
  {
    auto txn = db_.begin(nullptr, "certificates");
    txn->lock(db::Table::kAdministrators, kEditLock, db::LockMode::kWrite);
    auto stored = txn->get(db::Table::kAdministrators, name);
    if (!stored) fail(fmt::format("no administrator {} (see wgetadmin)", name));
    AdministratorRecord admin = records::decode_administrator(name, *stored);
    change(admin.certificates);
    result = admin.certificates;
    txn->put(db::Table::kAdministrators, name, records::encode_administrator(admin));
    txn->commit();
  }
  region_.push_administrators();
  return result;
}

bool Administrators::remote_login_allowed() const { return remote_login_.load(); }

std::string Administrators::set_remote_login(bool allow) {
  db_.put_meta(kMetaRemoteLogin, allow ? "TRUE" : "FALSE");
  remote_login_.store(allow);
  log_.line(fmt::format("remote client login allowed: {}", allow ? "TRUE" : "FALSE"));
  return fmt::format("Remote client login allowed = {} (dispatcher {}).", allow ? "TRUE" : "FALSE",
                     region_.self().od);
}

std::string Administrators::remove(const std::string& name) {
  if (!region_.is_tmr()) return at_tmr([&] { return peers_.delete_administrator(name); });
  {
    auto txn = db_.begin(nullptr, "wdeladmin");
    txn->lock(db::Table::kAdministrators, kEditLock, db::LockMode::kWrite);
    if (!txn->get(db::Table::kAdministrators, name))
      fail(fmt::format("no administrator {} (see wgetadmin)", name));
    txn->erase(db::Table::kAdministrators, name);
    txn->commit();
  }
  log_.line(fmt::format("administrator {} deleted", name));
  region_.push_administrators();
  return fmt::format("Administrator {} deleted.", name);
}

void Administrators::replace_all(const std::vector<AdministratorRecord>& admins) {
  for (const auto& admin : admins) validate(admin);
  auto txn = db_.begin(nullptr, "administrators");
  for (const auto& [name, bytes] : db_.scan(db::Table::kAdministrators))
    txn->erase(db::Table::kAdministrators, name);
  for (const auto& admin : admins)
    txn->put(db::Table::kAdministrators, admin.name, records::encode_administrator(admin));
  txn->commit();
}

void Administrators::refresh() {
  if (region_.is_tmr()) return;
  replace_all(at_tmr([&] { return peers_.administrators(); }));
}

}  // namespace openoserv
