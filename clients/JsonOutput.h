// --json output: each command prints one JSON object whose "schema" names its layout and that
// layout's version ("openoserv.odlist/1"); docs/JSON.md describes every schema. A version only
// changes when a field changes meaning or goes away; new fields may be added within one.
#pragma once

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "oserv.hh"

namespace openoserv {

using Json = nlohmann::ordered_json;  // fields print in the order they were set

// An object whose first field is the schema: "openoserv.<name>/<version>".
inline Json json_document(const std::string& name, int version) {
  return Json{{"schema", "openoserv." + name + "/" + std::to_string(version)}};
}

// A list of strings from the wire as a JSON array.
inline Json json_strings(const OServ::StringList& list) {
  Json out = Json::array();
  for (CORBA::ULong i = 0; i < list.length(); ++i) out.push_back(list[i].in());
  return out;
}

inline void print_json(const Json& document) {
  // Invalid UTF-8 (nothing the oserv sends should hold any) becomes U+FFFD, never an abort.
  std::puts(document.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
}

}  // namespace openoserv
