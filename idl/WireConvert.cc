// IDL <-> domain conversions.
#include "WireConvert.h"

#include <fmt/core.h>

#include "Access.h"
#include "Failure.h"

namespace openoserv::wire {

namespace {

// Fills an IDL sequence from a vector, converting each element with `convert`.
template <typename Seq, typename T, typename F>
Seq to_sequence(const std::vector<T>& in, F&& convert) {
  Seq out;
  out.length(static_cast<CORBA::ULong>(in.size()));
  for (CORBA::ULong i = 0; i < in.size(); ++i) {
    auto&& element = out[i];  // string sequences hand out element proxies
    convert(in[i], element);
  }
  return out;
}

template <typename T, typename Seq, typename F>
std::vector<T> to_vector(const Seq& in, F&& convert) {
  std::vector<T> out;
  out.reserve(in.length());
  for (CORBA::ULong i = 0; i < in.length(); ++i) out.push_back(convert(in[i]));
  return out;
}

}  // namespace

OServ::StringList strings(const std::vector<std::string>& list) {
  return to_sequence<OServ::StringList>(
      list, [](const std::string& s, auto&& out) { out = s.c_str(); });
}

std::vector<std::string> strings(const OServ::StringList& list) {
  return to_vector<std::string>(list, [](const auto& s) { return std::string(s.in()); });
}

OServ::OdEntries odlist(const std::vector<OdRecord>& records) {
  return to_sequence<OServ::OdEntries>(records, [](const OdRecord& r, OServ::OdEntry& e) {
    e.od = r.od;
    e.port = r.port;
    e.ipaddr = r.ip.c_str();
    e.hostnames = strings(r.hostnames);
    e.force_bind = r.force_bind;
    e.connected = false;
  });
}

std::vector<OdRecord> odlist(const OServ::OdEntries& entries) {
  std::vector<OdRecord> out;
  for (CORBA::ULong i = 0; i < entries.length(); ++i) {
    const auto& e = entries[i];
    OdRecord r{.od = e.od, .port = e.port, .ip = e.ipaddr.in(), .hostnames = strings(e.hostnames),
               .force_bind = static_cast<bool>(e.force_bind)};
    if (r.od == 0 || r.port == 0 || r.ip.empty())
      fail(fmt::format("odlist entry {} is incomplete (od, port and address are required)", i));
    out.push_back(std::move(r));
  }
  return out;
}

OServ::MethodResult result(const MethodOutcome& outcome) {
  OServ::MethodResult r;
  r.exit_code = outcome.exit_code;
  r.output = outcome.output.c_str();
  return r;
}

MethodOutcome result(const OServ::MethodResult& r) { return {r.exit_code, r.output.in()}; }

OServ::MethodDefs methods(const std::vector<MethodDef>& list) {
  return to_sequence<OServ::MethodDefs>(list, [](const MethodDef& m, OServ::MethodDef& out) {
    out.name = m.name.c_str();
    out.program = m.program.c_str();
  });
}

std::vector<MethodDef> methods(const OServ::MethodDefs& list) {
  return to_vector<MethodDef>(
      list, [](const auto& m) { return MethodDef{m.name.in(), m.program.in()}; });
}

OServ::NameEntries names(const std::vector<NameEntry>& list) {
  return to_sequence<OServ::NameEntries>(list, [](const NameEntry& n, OServ::NameEntry& out) {
    out.label = n.label.c_str();
    out.oid = n.oid.c_str();
  });
}

std::vector<NameEntry> names(const OServ::NameEntries& list) {
  return to_vector<NameEntry>(list,
                              [](const auto& n) { return NameEntry{n.label.in(), n.oid.in()}; });
}

OServ::AdminEntry admin(const AdministratorRecord& a) {
  OServ::AdminEntry out;
  out.name = a.name.c_str();
  out.logins = strings(a.logins);
  out.roles = roles_text(a.roles).c_str();
  out.certificates = strings(a.certificates);
  return out;
}

AdministratorRecord admin(const OServ::AdminEntry& a) {
  std::string bad;
  const auto roles = parse_roles(a.roles.in(), &bad);
  if (!roles)
    fail(fmt::format("'{}' is not a role of administrator {} (super, senior, admin, user, backup)",
                     bad, a.name.in()));
  return AdministratorRecord{.name = a.name.in(), .logins = strings(a.logins), .roles = *roles,
                             .certificates = strings(a.certificates)};
}

OServ::AdminEntries admins(const std::vector<AdministratorRecord>& list) {
  return to_sequence<OServ::AdminEntries>(
      list, [](const AdministratorRecord& a, OServ::AdminEntry& out) { out = admin(a); });
}

std::vector<AdministratorRecord> admins(const OServ::AdminEntries& list) {
  return to_vector<AdministratorRecord>(list, [](const auto& a) { return admin(a); });
}

OServ::GatewayEntry gateway(const GatewayRecord& r) {
  OServ::GatewayEntry e;
  e.label = r.label.c_str();
  e.oid = r.oid.c_str();
  e.od = r.od;
  e.host = r.host.c_str();
  e.port = r.port;
  e.ior = r.ior.c_str();
  return e;
}

GatewayRecord gateway(const OServ::GatewayEntry& e) {
  return {.label = e.label.in(), .oid = e.oid.in(), .od = e.od, .host = e.host.in(),
          .port = e.port, .ior = e.ior.in()};
}

OServ::GatewayEntries gateways(const std::vector<GatewayRecord>& records) {
  OServ::GatewayEntries out(static_cast<CORBA::ULong>(records.size()));
  out.length(static_cast<CORBA::ULong>(records.size()));
  for (CORBA::ULong i = 0; i < out.length(); ++i) out[i] = gateway(records[i]);
  return out;
}

std::vector<GatewayRecord> gateways(const OServ::GatewayEntries& entries) {
  std::vector<GatewayRecord> out;
  for (CORBA::ULong i = 0; i < entries.length(); ++i) out.push_back(gateway(entries[i]));
  return out;
}

OServ::EndpointEntry endpoint(const EndpointRecord& r) {
  OServ::EndpointEntry e;
  e.label = r.label.c_str();
  e.oid = r.oid.c_str();
  e.interp = r.interp.c_str();
  e.address = r.address.c_str();
  e.gateway = r.gateway.c_str();
  e.last_login = r.last_login;
  e.login_kind = r.login_kind.c_str();
  e.migrations = r.migrations;
  e.key_hash = r.key_hash.c_str();
  e.last_upcall = r.last_upcall;
  e.login_interfaces = r.login_interfaces.c_str();
  return e;
}

EndpointRecord endpoint(const OServ::EndpointEntry& e) {
  return {.label = e.label.in(), .oid = e.oid.in(), .interp = e.interp.in(),
          .address = e.address.in(), .gateway = e.gateway.in(), .last_login = e.last_login,
          .login_kind = e.login_kind.in(), .migrations = e.migrations,
          .key_hash = e.key_hash.in(), .last_upcall = e.last_upcall,
          .login_interfaces = e.login_interfaces.in()};
}

OServ::EndpointEntries endpoints(const std::vector<EndpointRecord>& records) {
  OServ::EndpointEntries out(static_cast<CORBA::ULong>(records.size()));
  out.length(static_cast<CORBA::ULong>(records.size()));
  for (CORBA::ULong i = 0; i < out.length(); ++i) out[i] = endpoint(records[i]);
  return out;
}

std::vector<EndpointRecord> endpoints(const OServ::EndpointEntries& entries) {
  std::vector<EndpointRecord> out;
  for (CORBA::ULong i = 0; i < entries.length(); ++i) out.push_back(endpoint(entries[i]));
  return out;
}

std::vector<std::pair<std::string, std::string>> status_lines(const OServ::StatusBlock& s) {
  const auto yes_no = [](bool b) -> std::string { return b ? "TRUE" : "FALSE"; };
  std::string force = yes_no(s.force_bind);
  if (s.force_bind != s.force_bind_active)
    force += fmt::format(" (running with {} until restarted)", yes_no(s.force_bind_active));
  return {{"Region", std::to_string(s.region)},
          {"Dispatcher", std::to_string(s.dispatcher)},
          {"Interpreter type", s.interpreter_type.in()},
          {"Database directory", s.database_dir.in()},
          {"Install directory", s.install_dir.in()},
          {"Inter-dispatcher encryption level", s.encryption_level.in()},
          {"Kerberos in use", yes_no(s.kerberos)},
          {"Remote client login allowed", yes_no(s.remote_client_login)},
          {"Install library path", s.install_library_path.in()},
          {"Force socket bind to a single address", force},
          {"Perform local hostname lookup for IOM connections", yes_no(s.hostname_lookup)},
          {"", s.version_line.in()},
          {"", s.copyright_line.in()},
          {"", ""},
          {"Port range", s.port_range.in()},
          {"State flags in use", yes_no(s.state_flags)},
          {"State checking in use", yes_no(s.state_checking)},
          {"State checking every", fmt::format("{} seconds", s.state_check_interval)},
          {"Dynamic IP addressing allowed", yes_no(s.dynamic_ip)},
          {"Instance ID", s.instance_id.in()},
          {"Logical host", s.logical_host.in()},
          {"Listening on", s.bound_address.in()},
          {"Process id", std::to_string(s.pid)},
          {"Started", s.started.in()},
          {"TMR server link", s.tmr_link.in()}};
}

}  // namespace openoserv::wire
