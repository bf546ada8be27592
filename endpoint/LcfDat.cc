// lcf.dat's text format, its check line, and its atomic replacement.
#include "LcfDat.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>

#include <boost/crc.hpp>
#include <fmt/core.h>
#include <fmt/format.h>

#include "Numbers.h"
#include "TextFile.h"

namespace openoserv::lcf {

namespace {

std::uint32_t crc_of(std::string_view text) {
  boost::crc_32_type crc;
  crc.process_bytes(text.data(), text.size());
  return crc.checksum();
}

bool plain(const std::string& value) { return value.find_first_of("\n\r") == std::string::npos; }

}  // namespace

std::string serialize(const LcfDat& d) {
  for (const auto* v : {&d.label, &d.oid, &d.key, &d.region_ca})
    if (!plain(*v)) throw LcfDatError("lcf.dat values cannot hold line breaks");
  std::string body = "# lcf.dat: written by lcfd after each login; do not edit\n";
  body += fmt::format("label={}\noid={}\nkey={}\ngateway={}\nalternates={}\n", d.label, d.oid,
                      d.key, d.gateway.host.empty() ? "" : d.gateway.text(), gateways_text(d.alternates));
  body += fmt::format("login_interfaces={}\nlast_login={}\nregion_ca={}\n",
                      gateways_text(d.login_interfaces), d.last_login, d.region_ca);
  return body + fmt::format("end={:08x}\n", crc_of(body));
}

LcfDat parse_lcf_dat(const std::string& text, const std::string& path) {
  const size_t end = text.rfind("end=");
  if (end == std::string::npos || (end != 0 && text[end - 1] != '\n'))
    throw LcfDatError(fmt::format("{}: damaged: no end line (truncated?)", path));
  const std::string tail = text.substr(end + 4);
  const auto crc = tail.size() == 9 && tail.back() == '\n'
                       ? parse_number<std::uint32_t>(tail.substr(0, 8), 16)
                       : std::nullopt;
  if (!crc || *crc != crc_of(std::string_view(text).substr(0, end)))
    throw LcfDatError(fmt::format("{}: damaged: its check line does not match its contents", path));
  std::map<std::string, std::string> fields;
  std::stringstream lines(text.substr(0, end));
  std::string line;
  for (int n = 1; std::getline(lines, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos)
      throw LcfDatError(fmt::format("{} line {}: '{}' is not key=value", path, n, line));
    fields[line.substr(0, eq)] = line.substr(eq + 1);
  }
  LcfDat d;
  try {
    d.label = fields["label"];
    d.oid = fields["oid"];
    d.key = fields["key"];
    if (!fields["gateway"].empty()) d.gateway = parse_gateways(fields["gateway"], 0).at(0);
    if (!fields["alternates"].empty()) d.alternates = parse_gateways(fields["alternates"], 0);
    if (!fields["login_interfaces"].empty())
      d.login_interfaces = parse_gateways(fields["login_interfaces"], 0);
    d.last_login = parse_number<long long>(fields["last_login"]).value_or(0);
    d.region_ca = fields["region_ca"];
  } catch (const std::exception& e) {
    throw LcfDatError(fmt::format("{}: {}", path, e.what()));
  }
  return d;
}

std::optional<LcfDat> load_lcf_dat(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return std::nullopt;
  return parse_lcf_dat(*text, path);
}

void save_lcf_dat(const std::string& path, const LcfDat& dat) {
  const std::string text = serialize(dat);
  write_file_atomically(path, text, 0600);
  // Then the same text as lcf.dat.bak: damage to either file never loses the identity. A crash
  // between the two leaves the previous login's file as the .bak, which is as good.
  write_file_atomically(path + ".bak", text, 0600);
}

}  // namespace openoserv::lcf
