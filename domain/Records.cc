// Stored records: CDR through omniORB's cdrMemoryStream (idl/Cdr.h), behind an 8-byte header.
#include "Records.h"

#include <cstring>

#include <fmt/core.h>

#include "Cdr.h"
#include "Database.h"
#include "Failure.h"
#include "Numbers.h"
#include "records.hh"

namespace openoserv::records {

namespace {

constexpr size_t kHeader = 8;
constexpr char kAttributeLayout = 0;
constexpr char kLayout1 = 1;
constexpr char kLayout2 = 2;  // a record type's second version (Administrator2)

template <typename T>
std::string encode(const T& value, char layout) {
  std::string out(kHeader, '\0');
  out[0] = static_cast<char>(cdr::little_endian() ? 1 : 0);
  out[1] = layout;
  cdr::append(value, out);
  return out;
}

bool has_cdr_header(std::string_view bytes) {
  return bytes.size() >= kHeader && (bytes[0] == 0 || bytes[0] == 1);
}

// The one refusal of a record that does not decode: `what` names it ("record of endpoint X").
[[noreturn]] void damaged(const std::string& what, std::size_t bytes) {
  fail(fmt::format("the {} is damaged ({} bytes); check the database with wchkdb", what, bytes));
}

// Decodes into `value`; returns false when the bytes are not a record of `layout`.
template <typename T>
bool decode(std::string_view bytes, char layout, T& value) {
  if (!has_cdr_header(bytes) || bytes[1] != layout) return false;
  // The flag says "the data is little-endian".
  return cdr::read(bytes.substr(kHeader), bytes[0] == 1, value);
}

// The text format of earlier builds: "port=N\nip=A\nhosts=a,b\nforce_bind=0|1\n".
std::optional<OdRecord> decode_od_text(std::uint32_t od, std::string_view text) {
  OdRecord r{.od = od};
  bool have_port = false, have_ip = false;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "port") {
      const auto port = parse_number<std::uint16_t>(value);
      if (!port || *port == 0) return std::nullopt;
      r.port = *port;
      have_port = true;
    } else if (key == "ip") {
      r.ip = value;
      have_ip = true;
    } else if (key == "hosts") {
      for (size_t s = 0; s < value.size();) {
        const size_t c = std::min(value.find(',', s), value.size());
        if (c > s) r.hostnames.emplace_back(value.substr(s, c - s));
        s = c + 1;
      }
    } else if (key == "force_bind") {
      r.force_bind = value == "1";
    }
  }
  if (!have_port || !have_ip) return std::nullopt;
  return r;
}

// The text format of earlier builds: "method\tprogram\n" lines.
std::optional<std::vector<MethodDef>> decode_class_text(std::string_view text) {
  std::vector<MethodDef> out;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) return std::nullopt;
    out.push_back({std::string(line.substr(0, tab)), std::string(line.substr(tab + 1))});
  }
  return out;
}

}  // namespace

std::string encode_od(const OdRecord& r) {
  OServStore::OdRecord1 wire;
  wire.od = r.od;
  wire.port = r.port;
  wire.ipaddr = r.ip.c_str();
  wire.hostnames.length(static_cast<CORBA::ULong>(r.hostnames.size()));
  for (CORBA::ULong i = 0; i < r.hostnames.size(); ++i) wire.hostnames[i] = r.hostnames[i].c_str();
  wire.force_bind = r.force_bind;
  return encode(wire, kLayout1);
}

OdRecord decode_od(std::uint32_t od, std::string_view bytes) {
  OServStore::OdRecord1 wire;
  if (!has_cdr_header(bytes)) {
    if (auto legacy = decode_od_text(od, bytes)) return *legacy;
  } else if (decode(bytes, kLayout1, wire) && wire.od == od && wire.port != 0) {
    OdRecord r{.od = wire.od, .port = wire.port, .ip = wire.ipaddr.in(),
               .force_bind = static_cast<bool>(wire.force_bind)};
    for (CORBA::ULong i = 0; i < wire.hostnames.length(); ++i)
      r.hostnames.emplace_back(wire.hostnames[i].in());
    return r;
  }
  damaged(fmt::format("odlist record of dispatcher {}", od), bytes.size());
}

namespace {
OServStore::Names to_names(const std::vector<std::string>& list) {
  OServStore::Names out;
  out.length(static_cast<CORBA::ULong>(list.size()));
  for (CORBA::ULong i = 0; i < list.size(); ++i) out[i] = list[i].c_str();
  return out;
}
std::vector<std::string> from_names(const OServStore::Names& names) {
  std::vector<std::string> out;
  for (CORBA::ULong i = 0; i < names.length(); ++i) out.emplace_back(names[i].in());
  return out;
}
}  // namespace

std::string encode_administrator(const AdministratorRecord& r) {
  OServStore::Administrator2 wire;
  wire.name = r.name.c_str();
  wire.logins = to_names(r.logins);
  wire.roles = r.roles;
  wire.certificates = to_names(r.certificates);
  return encode(wire, kLayout2);
}

AdministratorRecord decode_administrator(std::string_view name, std::string_view bytes) {
  OServStore::Administrator2 wire;
  OServStore::Administrator1 v1;
  if (has_cdr_header(bytes) && decode(bytes, kLayout2, wire))
    return {.name = wire.name.in(), .logins = from_names(wire.logins), .roles = wire.roles,
            .certificates = from_names(wire.certificates)};
  if (has_cdr_header(bytes) && decode(bytes, kLayout1, v1))
    return {.name = v1.name.in(), .logins = from_names(v1.logins), .roles = v1.roles,
            .certificates = {}};
  damaged(fmt::format("record of administrator {}", name), bytes.size());
}

std::string encode_endpoint(const EndpointRecord& r) {
  OServStore::Endpoint1 w;
  w.label = r.label.c_str();
  w.oid = r.oid.c_str();
  w.interp = r.interp.c_str();
  w.address = r.address.c_str();
  w.gateway = r.gateway.c_str();
  w.last_login = r.last_login;
  w.login_kind = r.login_kind.c_str();
  w.migrations = r.migrations;
  w.key_hash = r.key_hash.c_str();
  w.last_upcall = r.last_upcall;
  w.login_interfaces = r.login_interfaces.c_str();
  return encode(w, kLayout1);
}

EndpointRecord decode_endpoint(std::string_view key, std::string_view bytes) {
  OServStore::Endpoint1 w;
  if (!decode(bytes, kLayout1, w))
    damaged(fmt::format("record of endpoint {}", key), bytes.size());
  return {.label = w.label.in(), .oid = w.oid.in(), .interp = w.interp.in(),
          .address = w.address.in(), .gateway = w.gateway.in(), .last_login = w.last_login,
          .login_kind = w.login_kind.in(), .migrations = w.migrations,
          .key_hash = w.key_hash.in(), .last_upcall = w.last_upcall,
          .login_interfaces = w.login_interfaces.in()};
}

std::string encode_gateway(const GatewayRecord& r) {
  OServStore::Gateway1 w;
  w.label = r.label.c_str();
  w.oid = r.oid.c_str();
  w.od = r.od;
  w.host = r.host.c_str();
  w.port = r.port;
  w.ior = r.ior.c_str();
  return encode(w, kLayout1);
}

GatewayRecord decode_gateway(std::string_view label, std::string_view bytes) {
  OServStore::Gateway1 w;
  if (!decode(bytes, kLayout1, w))
    damaged(fmt::format("record of gateway {}", label), bytes.size());
  return {.label = w.label.in(), .oid = w.oid.in(), .od = w.od, .host = w.host.in(),
          .port = w.port, .ior = w.ior.in()};
}

std::string encode_class(const std::vector<MethodDef>& methods) {
  OServStore::ClassRecord1 wire;
  wire.length(static_cast<CORBA::ULong>(methods.size()));
  for (CORBA::ULong i = 0; i < methods.size(); ++i) {
    wire[i].name = methods[i].name.c_str();
    wire[i].program = methods[i].program.c_str();
  }
  return encode(wire, kLayout1);
}

std::vector<MethodDef> decode_class(std::string_view cls, std::string_view bytes) {
  OServStore::ClassRecord1 wire;
  if (!has_cdr_header(bytes)) {
    if (auto legacy = decode_class_text(bytes)) return *legacy;
  } else if (decode(bytes, kLayout1, wire)) {
    std::vector<MethodDef> out;
    for (CORBA::ULong i = 0; i < wire.length(); ++i)
      out.push_back({wire[i].name.in(), wire[i].program.in()});
    return out;
  }
  damaged(fmt::format("record of class {}", cls), bytes.size());
}

std::string encode_any(const CORBA::Any& value) { return encode(value, kAttributeLayout); }

void decode_any(std::string_view bytes, CORBA::Any& value) {
  if (!decode(bytes, kAttributeLayout, value))
    fail(fmt::format("not an encoded attribute ({} bytes)", bytes.size()));
}

// An any holding an unbounded string is, in CDR, the TypeCode (kind tk_string, bound 0) and then
// the string. Written and read here directly, so the domain needs no CORBA::Any (whose value
// buffer needs an initialised ORB); the bytes are those of encode_any() of such an any.
std::string encode_string(const std::string& text) {
  cdr::Utf8Stream stream;
  CORBA::ULong(CORBA::tk_string) >>= stream;
  CORBA::ULong(0) >>= stream;
  stream.marshalString(text.c_str());
  std::string out(kHeader, '\0');
  out[0] = static_cast<char>(cdr::little_endian() ? 1 : 0);
  out[1] = kAttributeLayout;
  out.append(static_cast<const char*>(stream.bufPtr()), stream.bufSize());
  return out;
}

std::optional<std::string> decode_string(std::string_view bytes) {
  if (!has_cdr_header(bytes) || bytes[1] != kAttributeLayout)
    fail(fmt::format("not an encoded attribute ({} bytes)", bytes.size()));
  const size_t n = bytes.size() - kHeader;
  std::vector<std::uint64_t> aligned(n / 8 + 1);
  std::memcpy(aligned.data(), bytes.data() + kHeader, n);
  cdr::Utf8Stream stream(aligned.data(), n);
  stream.setByteSwapFlag(bytes[0] == 1);
  try {
    CORBA::ULong kind = 0, bound = 0;
    kind <<= stream;
    if (kind != CORBA::tk_string) return std::nullopt;
    bound <<= stream;
    CORBA::String_var text = stream.unmarshalString(bound);
    if (stream.currentInputPtr() == n) return std::string(text.in());
  } catch (const CORBA::SystemException&) {
  }
  fail(fmt::format("not an encoded attribute ({} bytes)", bytes.size()));
}

std::size_t upgrade_records(db::Database& db) {
  auto txn = db.begin(nullptr, "record upgrade");
  std::size_t rewritten = 0;
  for (const auto& [key, value] : db.scan(db::Table::kOdlist)) {
    if (has_cdr_header(value) || key.size() != 4) continue;
    std::uint32_t od = 0;
    for (unsigned char c : key) od = od << 8 | c;
    txn->put(db::Table::kOdlist, key, encode_od(decode_od(od, value)));
    ++rewritten;
  }
  for (const auto& [key, value] : db.scan(db::Table::kClasses)) {
    if (has_cdr_header(value)) continue;
    txn->put(db::Table::kClasses, key, encode_class(decode_class(key, value)));
    ++rewritten;
  }
  txn->commit();
  return rewritten;
}

}  // namespace openoserv::records
