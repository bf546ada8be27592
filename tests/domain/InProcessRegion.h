// A region of dispatchers in one process, for unit tests of the domain: each dispatcher has its
// own database and log in a temp directory, and its Peers call the other dispatchers' domain
// objects directly (no ORB, no network). A dispatcher marked down answers nothing (Unreachable),
// as a stopped oserv would.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/core.h>

#include "Database.h"
#include "Failure.h"
#include "LocalDispatcher.h"
#include "Odlist.h"

namespace openoserv::testing {

// Polls `done` every 10 ms for up to 5 s (pushes to nodes are made by a background sender).
template <typename F>
bool eventually(F&& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

class InProcessRegion;

class DirectPeers final : public Peers {
 public:
  explicit DirectPeers(InProcessRegion& region) : region_(region) {}

  void ping(std::uint32_t od, Timeout) override;
  MethodOutcome invoke(std::uint32_t od, const std::string& oid, const std::string& method,
                       const std::vector<std::string>& args, Timeout) override;
  std::string shutdown(std::uint32_t od) override;
  std::vector<OdRecord> node_started(std::uint32_t self, const std::string& ip,
                                     std::uint16_t port, Timeout) override;
  std::string edit_odlist(const OdlistEdit& edit) override;
  std::string lookup(const std::string& resource, const std::string& label) override;
  std::vector<NameEntry> list_names(const std::string& resource) override;
  void register_name(const std::string& resource, const std::string& label,
                     const std::string& oid) override;
  void install_method(const std::string& cls, const std::string& method,
                      const std::string& program) override;
  std::vector<MethodDef> class_methods(const std::string& cls) override;
  void odlist_update(std::uint32_t od, const std::vector<OdRecord>& odlist) override;
  void class_update(std::uint32_t od, const std::string& cls,
                    const std::vector<MethodDef>& methods) override;
  std::string set_administrator(const AdministratorRecord& admin, bool create) override;
  std::string delete_administrator(const std::string& name) override;
  std::vector<AdministratorRecord> administrators() override;
  std::string renew_certificate(const std::string&) override {
    throw Failure("no certificates in the in-process region");
  }
  void administrators_update(std::uint32_t od,
                             const std::vector<AdministratorRecord>& admins) override;

 private:
  LocalDispatcher& at(std::uint32_t od);
  InProcessRegion& region_;
};

// One dispatcher: what an oserv process holds.
struct Node {
  std::unique_ptr<db::Database> db;
  OservLog log;
  DispatcherInfo info;
  std::unique_ptr<DirectPeers> peers;
  std::unique_ptr<LocalDispatcher> local;
  int stops = 0;  // how often shutdown asked it to stop
};

class InProcessRegion {
 public:
  static constexpr std::uint32_t kRegion = 1669180253;

  explicit InProcessRegion(const std::string& name)
      : dir_(fmt::format("{}/{}-{}", ::testing::TempDir(), name, ::getpid())) {
    std::filesystem::remove_all(dir_);
    add_tmr();
  }
  ~InProcessRegion() {
    for (auto& [od, node] : nodes_) node->local->stop();
  }

  // A managed node: dispatcher N is "nodeN" at 127.0.0.N, registered at the TMR server as
  // oinstall does.
  LocalDispatcher& add_node() {
    const size_t od = nodes_.size() + 1;
    auto joined = tmr().region.register_node(fmt::format("node{}", od),
                                             fmt::format("127.0.0.{}", od), 9494, false);
    LocalDispatcher& node = *make(joined.od, joined.odlist).local;
    node.region.report_in(std::chrono::seconds(1));
    return node;
  }

  LocalDispatcher& tmr() { return *nodes_.at(kTmrDispatcher)->local; }
  LocalDispatcher& operator[](std::uint32_t od) { return *nodes_.at(od)->local; }
  Node& node(std::uint32_t od) { return *nodes_.at(od); }

  void set_down(std::uint32_t od, bool down) {
    std::lock_guard guard(mu_);
    if (down)
      down_.insert(od);
    else
      down_.erase(od);
  }
  bool is_down(std::uint32_t od) {
    std::lock_guard guard(mu_);
    return down_.count(od) > 0 || !nodes_.count(od);
  }
  const std::string& dir() const { return dir_; }

 private:
  void add_tmr() {
    make(kTmrDispatcher, {{.od = kTmrDispatcher, .port = 9494, .ip = "127.0.0.1",
                           .hostnames = {"tmr"}}});
  }

  Node& make(std::uint32_t od, const std::vector<OdRecord>& odlist) {
    auto node = std::make_unique<Node>();
    const std::string dbdir = fmt::format("{}/od{}", dir_, od);
    node->db = db::Database::open(dbdir, {.create = true, .sync = false, .owner_id = "test"});
    node->db->put_meta(db::kMetaRegion, std::to_string(kRegion));
    node->db->put_meta(db::kMetaDispatcher, std::to_string(od));
    // The tests' method programs live in their temp directories: run them as the test's user.
    node->db->put_meta(db::kMetaMethodUser, "root");
    odlist::replace(*node->db, odlist);
    node->log.open(dbdir + "/oservlog");
    node->log.set_mirror_stderr(false);
    const auto self = *odlist::find(*node->db, od);
    node->info.instance.where.id = fmt::format("od{}", od);
    node->info.instance.dbdir = dbdir;
    node->info.instance.port = self.port;
    node->info.instance.logical_host = self.label();
    node->info.region = kRegion;
    node->info.od = od;
    node->info.ip = self.ip;
    node->peers = std::make_unique<DirectPeers>(*this);
    node->local = std::make_unique<LocalDispatcher>(node->info, *node->db, node->log,
                                                    *node->peers, std::chrono::seconds(30),
                                                    std::chrono::seconds(600));
    Node* raw = node.get();
    node->local->region.set_stop_self([raw] { ++raw->stops; });
    std::lock_guard guard(mu_);
    return *(nodes_[od] = std::move(node));
  }

  std::string dir_;
  std::mutex mu_;
  std::set<std::uint32_t> down_;
  std::map<std::uint32_t, std::unique_ptr<Node>> nodes_;
};

inline LocalDispatcher& DirectPeers::at(std::uint32_t od) {
  if (region_.is_down(od))
    throw Unreachable(od, fmt::format("dispatcher {} does not answer (TRANSIENT)", od));
  return region_[od];
}

inline void DirectPeers::ping(std::uint32_t od, Timeout) { at(od); }
inline MethodOutcome DirectPeers::invoke(std::uint32_t od, const std::string& oid,
                                         const std::string& method,
                                         const std::vector<std::string>& args, Timeout) {
  return at(od).objects.invoke(oid, method, args);
}
inline std::string DirectPeers::shutdown(std::uint32_t od) {
  return at(od).region.shutdown(od, [] { return true; });
}
inline std::vector<OdRecord> DirectPeers::node_started(std::uint32_t self, const std::string& ip,
                                                       std::uint16_t port, Timeout) {
  return at(kTmrDispatcher).region.node_started(self, ip, port);
}
inline std::string DirectPeers::edit_odlist(const OdlistEdit& e) {
  return at(kTmrDispatcher).region.edit(e);
}
inline std::string DirectPeers::lookup(const std::string& resource, const std::string& label) {
  return at(kTmrDispatcher).objects.lookup(resource, label);
}
inline std::vector<NameEntry> DirectPeers::list_names(const std::string& resource) {
  return at(kTmrDispatcher).objects.list_names(resource);
}
inline void DirectPeers::register_name(const std::string& resource, const std::string& label,
                                       const std::string& oid) {
  at(kTmrDispatcher).objects.register_name(resource, label, oid);
}
inline void DirectPeers::install_method(const std::string& cls, const std::string& method,
                                        const std::string& program) {
  at(kTmrDispatcher).objects.install_method(cls, method, program);
}
inline std::vector<MethodDef> DirectPeers::class_methods(const std::string& cls) {
  return at(kTmrDispatcher).objects.class_methods(cls);
}
inline void DirectPeers::odlist_update(std::uint32_t od, const std::vector<OdRecord>& odlist) {
  at(od).region.odlist_update(odlist);
}
inline void DirectPeers::class_update(std::uint32_t od, const std::string& cls,
                                      const std::vector<MethodDef>& methods) {
  at(od).objects.store_class(cls, methods);
}

inline std::string DirectPeers::set_administrator(const AdministratorRecord& admin, bool create) {
  return at(kTmrDispatcher).administrators.set(admin, create);
}
inline std::string DirectPeers::delete_administrator(const std::string& name) {
  return at(kTmrDispatcher).administrators.remove(name);
}
inline std::vector<AdministratorRecord> DirectPeers::administrators() {
  return at(kTmrDispatcher).administrators.all();
}
inline void DirectPeers::administrators_update(std::uint32_t od,
                                               const std::vector<AdministratorRecord>& admins) {
  at(od).administrators.replace_all(admins);
}

}  // namespace openoserv::testing
