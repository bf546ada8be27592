// tmstat: the open transactions and held locks of an oserv (appendix C of the seed). Prints
// nothing when the database is idle.
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "ClientMain.h"
#include "JsonOutput.h"

namespace po = boost::program_options;
using namespace openoserv;

namespace {

const char* kUsageText = R"(Usage: tmstat [options]

Lists the open transactions and held object locks of an oserv; prints nothing when there are
none. Transaction lines:  ID Top-T|Sub-T running LABEL [parent ID] (changes N, since TIME)
Lock lines:               RESOURCE read|write ID... [waiting: ID...]
A transaction ID is {region:od,region:od,session:n}: the resource host, the locker, and the
transaction's own number.

Exit codes: 0 success, 1 the oserv failed the request, 2 usage error, 3 the oserv does not answer.
)";

bool verbose = false;

int print_tmstat_json(const OServ::TxnEntries& txns, const OServ::LockEntries& locks,
                      CORBA::ULongLong journal, CORBA::ULongLong journal_file) {
  Json j = json_document("tmstat", 1);
  j["transactions"] = Json::array();
  for (CORBA::ULong i = 0; i < txns.length(); ++i) {
    const auto& t = txns[i];
    j["transactions"].push_back({{"id", t.id.in()}, {"kind", t.kind.in()},
                                 {"parent", t.parent.in()}, {"label", t.label.in()},
                                 {"started", t.started.in()}, {"changes", t.changes},
                                 {"idle_seconds", t.idle_seconds}});
  }
  j["locks"] = Json::array();
  for (CORBA::ULong i = 0; i < locks.length(); ++i) {
    const auto& l = locks[i];
    j["locks"].push_back({{"resource", l.resource.in()}, {"mode", l.mode.in()},
                          {"holders", json_strings(l.holders)},
                          {"waiters", json_strings(l.waiters)}});
  }
  j["odb_log"] = {{"record_bytes", journal}, {"file_bytes", journal_file}};
  print_json(j);
  return 0;
}

int tmstat(OservClient& client, const std::vector<std::string>& args) {
  if (!args.empty()) throw UsageError("tmstat takes no arguments");
  OServ::TxnEntries_var txns;
  OServ::LockEntries_var locks;
  CORBA::ULongLong journal = 0, journal_file = 0;
  client.call(
      [&] { client.dispatcher()->tmstat(txns.out(), locks.out(), journal, journal_file); });
  if (json_output()) return print_tmstat_json(txns.in(), locks.in(), journal, journal_file);
  if (txns->length() > 0) fmt::print("Transactions:\n");
  for (CORBA::ULong i = 0; i < txns->length(); ++i) {
    const auto& t = txns[i];
    std::string parent = *t.parent.in() ? fmt::format(" parent {}", t.parent.in()) : "";
    fmt::print("{} {} running {}{} (changes {}, since {}, idle {} s)\n", t.id.in(), t.kind.in(),
               *t.label.in() ? t.label.in() : "-", parent, t.changes, t.started.in(),
               t.idle_seconds);
  }
  if (locks->length() > 0) fmt::print("Locks:\n");
  for (CORBA::ULong i = 0; i < locks->length(); ++i) {
    const auto& l = locks[i];
    std::string holders, waiters;
    for (CORBA::ULong h = 0; h < l.holders.length(); ++h)
      holders += std::string(" ") + l.holders[h].in();
    for (CORBA::ULong w = 0; w < l.waiters.length(); ++w)
      waiters += std::string(" ") + l.waiters[w].in();
    fmt::print("{} {}{}{}\n", l.resource.in(), l.mode.in(), holders,
               waiters.empty() ? "" : " waiting:" + waiters);
  }
  if (verbose)
    fmt::print("odb.log: {} bytes of records, {} bytes on disk\n", journal, journal_file);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return client_main({.name = "tmstat",
                      .usage = kUsageText,
                      .options =
                          [](po::options_description& opts) {
                            opts.add_options()("verbose,v", po::bool_switch(&verbose),
                                               "also print the size of odb.log");
                          },
                      .body = tmstat,
                      .json = true},
                     argc, argv);
}
