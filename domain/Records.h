// What the object database keeps that is not text for a human, and its one encoding.
//
// Each stored record is an 8-byte header, then the record marshalled with omniORB's CDR:
//   byte 0     byte order of the CDR that follows (0 big-endian, 1 little-endian)
//   byte 1     the record's layout version (0 for attributes, as they have always been written;
//              1 for the OServStore::*1 structs of idl/records.idl)
//   bytes 2-7  zero
// The header keeps the CDR 8-aligned (omniORB aligns by address) and the byte-order flag lets a
// node of the other endianness read the database after a failover. Strings are UTF-8 whatever
// the ORB's settings, and no ORB is needed to encode or decode.
//
// Databases written before records were CDR hold odlist and class records as text lines; they
// are still read (never written), and upgrade_records() rewrites them at start.
#pragma once

#include <omniORB4/CORBA.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace openoserv::db {
class Database;
}

namespace openoserv {

// One dispatcher of the region, as the odlist keeps it.
struct OdRecord {
  std::uint32_t od = 0;
  std::uint16_t port = 0;
  std::string ip;
  std::vector<std::string> hostnames;  // logical host first, then aliases
  bool force_bind = false;

  // The first host name, else the address: how messages name the dispatcher.
  const std::string& label() const { return hostnames.empty() ? ip : hostnames.front(); }
  // "10.0.0.2:94": where its oserv listens.
  std::string address() const { return ip + ":" + std::to_string(port); }
  bool operator==(const OdRecord&) const = default;
};

// A method of an installed class: the program its owning dispatcher runs for it.
struct MethodDef {
  std::string name;
  std::string program;
  bool operator==(const MethodDef&) const = default;
};

// An administrator: the OS users it is, and its roles (domain/Access.h).
struct AdministratorRecord {
  std::string name;
  std::vector<std::string> logins;  // "alice" (on any host) or "alice@host"
  std::uint8_t roles = 0;
  std::vector<std::string> certificates;  // serials (hex) of its valid client certificates
  bool operator==(const AdministratorRecord&) const = default;
};

// An endpoint as the Endpoint Manager keeps it (domain/EndpointManager.h).
struct EndpointRecord {
  std::string label;
  std::string oid;
  std::string interp;
  std::string address;
  std::string gateway;  // its assigned gateway's label
  long long last_login = 0;
  std::string login_kind;
  std::uint32_t migrations = 0;
  std::string key_hash;
  std::uint64_t last_upcall = 0;  // the highest upcall id recorded
  std::string login_interfaces;   // wep set interfaces: "gw+port:gw2+port"
  bool operator==(const EndpointRecord&) const = default;
};

// A gateway: the managed node that runs it and where endpoints reach it.
struct GatewayRecord {
  std::string label;
  std::string oid;
  std::uint32_t od = 0;
  std::string host;
  std::uint16_t port = 0;
  std::string ior;  // its process's service, as last reported ("" before it first started)
  bool operator==(const GatewayRecord&) const = default;
};

namespace records {

std::string encode_od(const OdRecord& record);
// Throws Failure naming the dispatcher when `bytes` is not an odlist record.
OdRecord decode_od(std::uint32_t od, std::string_view bytes);

std::string encode_administrator(const AdministratorRecord& record);
// Throws Failure naming the administrator when `bytes` is not an administrator record.
AdministratorRecord decode_administrator(std::string_view name, std::string_view bytes);

std::string encode_endpoint(const EndpointRecord& record);
// Throws Failure naming the endpoint when `bytes` is not an endpoint record.
EndpointRecord decode_endpoint(std::string_view key, std::string_view bytes);
std::string encode_gateway(const GatewayRecord& record);
GatewayRecord decode_gateway(std::string_view label, std::string_view bytes);

std::string encode_class(const std::vector<MethodDef>& methods);
// Throws Failure naming the class when `bytes` is not a class record.
std::vector<MethodDef> decode_class(std::string_view cls, std::string_view bytes);

// Typed attributes: a CORBA any (type code and value). These two need an initialised ORB (an
// any's value buffer takes its code sets from it), as the oserv's servants have.
std::string encode_any(const CORBA::Any& value);
// Throws Failure (without naming the attribute; the caller does) when `bytes` is not one.
void decode_any(std::string_view bytes, CORBA::Any& value);
// An attribute holding a string (task scripts), readable with `odb getattr` like any other;
// these two need no ORB.
std::string encode_string(const std::string& text);
// The string an attribute holds; nullopt when it holds another type. Throws like decode_any.
std::optional<std::string> decode_string(std::string_view bytes);

// Rewrites the odlist and class records of an earlier build's text format in CDR, in one
// transaction. Returns how many it rewrote.
std::size_t upgrade_records(db::Database& db);

}  // namespace records
}  // namespace openoserv
