// The Endpoint Manager's records and assignments.
#include "EndpointManager.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "Failure.h"
#include "Oid.h"
#include "RegionCa.h"

namespace openoserv {

namespace {

constexpr const char* kLock = "#epm";  // every change; no OID key starts with '#'

bool valid_label(const std::string& text) {
  return !text.empty() && text.size() <= 128 &&
         text.find_first_of("/ \t\r\n#") == std::string::npos;
}

}  // namespace

GatewayRecord EndpointManager::add_gateway(const GatewayRecord& g) {
  if (self_.od != kTmrDispatcher) fail("gateways are recorded at the TMR server");
  if (!valid_label(g.label)) fail(fmt::format("'{}' is not a valid gateway label", g.label));
  if (g.host.empty() || g.port == 0)
    fail(fmt::format("gateway {} needs an address and a port", g.label));
  auto txn = db_.begin(nullptr, "gateway");
  txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
  for (const auto& other : gateways()) {
    if (other.label == g.label) fail(fmt::format("gateway {} already exists", g.label));
    if (other.host == g.host && other.port == g.port)
      fail(fmt::format("{}+{} is already gateway {}'s address", g.host, g.port, other.label));
  }
  txn->put(db::Table::kGateways, g.label, records::encode_gateway(g));
  txn->commit();
  log_.line(fmt::format("gateway {} ({}) on dispatcher {} at {}+{}", g.label, g.oid, g.od, g.host,
                        g.port));
  return g;
}

std::vector<GatewayRecord> EndpointManager::gateways() {
  std::vector<GatewayRecord> out;
  for (const auto& [label, bytes] : db_.scan(db::Table::kGateways))
    out.push_back(records::decode_gateway(label, bytes));
  return out;
}

std::optional<GatewayRecord> EndpointManager::gateway(const std::string& label) {
  auto bytes = db_.read(db::Table::kGateways, label);
  if (!bytes) return std::nullopt;
  return records::decode_gateway(label, *bytes);
}

void EndpointManager::delete_gateway(const std::string& label) {
  auto txn = db_.begin(nullptr, "gateway delete");
  txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
  if (!gateway(label)) fail(fmt::format("no gateway {}", label));
  if (const auto n = endpoints(label).size())
    fail(fmt::format("gateway {} still has {} endpoint(s); migrate them first (wep EP migrate GW)",
                     label, n));
  txn->erase(db::Table::kGateways, label);
  txn->commit();
  log_.line(fmt::format("gateway {} deleted", label));
}

EndpointManager::Assignment EndpointManager::login(const Login& l) {
  if (self_.od != kTmrDispatcher) fail("the Endpoint Manager is at the TMR server");
  if (!gateway(l.via))
    fail(fmt::format("gateway {} is not one the Endpoint Manager knows (wcrtgate)", l.via));
  if (l.kind == "initial") return initial(l);
  if (l.kind == "isolated") return isolated(l);
  fail(fmt::format("'{}' is not a login the Endpoint Manager takes (initial, isolated)", l.kind));
}

EndpointManager::Assignment EndpointManager::initial(const Login& l) {
  if (!valid_label(l.label)) fail(fmt::format("'{}' is not a valid endpoint label", l.label));
  auto txn = db_.begin(nullptr, "endpoint login");
  txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
  // An endpoint object named but without a record is what a crash between the two leaves: it
  // is taken over, not left to block the label.
  std::string oid;
  if (auto named = db_.read(db::Table::kNames, "Endpoint/" + l.label)) {
    if (db_.read(db::Table::kEndpoints, Oid::parse(*named).key()))
      fail(fmt::format("endpoint label {} is already endpoint {}; delete it (wdelep {}) before "
                       "installing another endpoint under that name",
                       l.label, *named, l.label));
    oid = *named;
  } else {
    oid = objects_.create_object(kEndpointClass, "Endpoint", l.label);
  }
  Assignment a;
  a.key = tls::random_hex(16);
  a.endpoint = {.label = l.label, .oid = oid, .interp = l.interp, .address = l.address,
                .gateway = l.via, .last_login = l.now, .login_kind = "initial",
                .migrations = 0, .key_hash = tls::sha256_hex(a.key)};
  txn->put(db::Table::kEndpoints, Oid::parse(oid).key(), records::encode_endpoint(a.endpoint));
  txn->commit();
  log_.line(fmt::format("endpoint {} ({}) from {}: initial login, assigned to gateway {}", l.label,
                        oid, l.address, l.via));
  a.gateway = *gateway(l.via);
  a.alternates = alternates_for(l.via);
  return a;
}

EndpointManager::Assignment EndpointManager::isolated(const Login& l) {
  Oid oid;
  if (!Oid::try_parse(l.oid, oid))
    fail(fmt::format("'{}' is not an endpoint OID; log in as a new endpoint", l.oid));
  auto txn = db_.begin(nullptr, "endpoint login");
  txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
  auto bytes = db_.read(db::Table::kEndpoints, oid.key());
  if (!bytes)
    fail(fmt::format("orphan: endpoint {} is not known to the Endpoint Manager; log in as a new "
                     "endpoint",
                     l.oid));
  Assignment a;
  a.endpoint = records::decode_endpoint(oid.key(), *bytes);
  if (tls::sha256_hex(l.key) != a.endpoint.key_hash)
    fail(fmt::format("endpoint {} did not prove its identity (wrong key)", a.endpoint.label));
  const bool moved = a.endpoint.gateway != l.via;
  if (moved) {
    ++a.endpoint.migrations;
    log_.line(fmt::format("endpoint {} ({}) from {}: isolated from gateway {}, now on gateway {}",
                          a.endpoint.label, a.endpoint.oid, l.address, a.endpoint.gateway, l.via));
  }
  a.endpoint.gateway = l.via;
  a.endpoint.address = l.address;
  a.endpoint.last_login = l.now;
  a.endpoint.login_kind = "isolated";
  txn->put(db::Table::kEndpoints, oid.key(), records::encode_endpoint(a.endpoint));
  txn->commit();
  a.gateway = *gateway(l.via);
  a.alternates = alternates_for(l.via);
  return a;
}

std::vector<GatewayRecord> EndpointManager::alternates_for(const std::string& assigned) {
  std::map<std::string, size_t> load;
  for (const auto& e : endpoints()) ++load[e.gateway];
  std::vector<GatewayRecord> out;
  for (auto& g : gateways())
    if (g.label != assigned) out.push_back(std::move(g));
  std::stable_sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    return load[a.label] < load[b.label];
  });
  if (out.size() > 3) out.resize(3);
  return out;
}

std::vector<EndpointRecord> EndpointManager::endpoints(const std::string& gateway) {
  std::vector<EndpointRecord> out;
  for (const auto& [key, bytes] : db_.scan(db::Table::kEndpoints)) {
    auto e = records::decode_endpoint(key, bytes);
    if (gateway.empty() || e.gateway == gateway) out.push_back(std::move(e));
  }
  return out;
}

std::optional<EndpointRecord> EndpointManager::endpoint(const std::string& name) {
  Oid oid;
  if (Oid::try_parse(name, oid)) {
    if (auto bytes = db_.read(db::Table::kEndpoints, oid.key()))
      return records::decode_endpoint(oid.key(), *bytes);
  }
  for (auto& e : endpoints())
    if (e.label == name) return e;
  return std::nullopt;
}

EndpointRecord EndpointManager::migrate(const std::string& name, const std::string& to) {
  auto txn = db_.begin(nullptr, "endpoint migrate");
  txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
  auto e = endpoint(name);
  if (!e) fail(fmt::format("no endpoint {} (see wep ls)", name));
  if (!gateway(to)) fail(fmt::format("no gateway {} (see wgateway)", to));
  const std::string from = e->gateway;
  e->gateway = to;
  txn->put(db::Table::kEndpoints, Oid::parse(e->oid).key(), records::encode_endpoint(*e));
  txn->commit();
  log_.line(fmt::format("endpoint {} migrated from gateway {} to {}", e->label, from, to));
  return *e;
}

void EndpointManager::remove_endpoint(const std::string& name) {
  auto txn = db_.begin(nullptr, "endpoint delete");
  txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
  auto e = endpoint(name);
  if (!e) fail(fmt::format("no endpoint {} (see wep ls)", name));
  const std::string key = Oid::parse(e->oid).key();
  txn->erase(db::Table::kEndpoints, key);
  txn->erase(db::Table::kObjects, key);
  txn->erase(db::Table::kNames, "Endpoint/" + e->label);
  txn->commit();
  log_.line(fmt::format("endpoint {} ({}) deleted", e->label, e->oid));
}

}  // namespace openoserv
