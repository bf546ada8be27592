// odb: framework transactions on an oserv's object database, one call per command, so a
// transaction can be held open across commands (and seen in tmstat) exactly as method threads do.
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "ClientMain.h"

namespace po = boost::program_options;
using namespace openoserv;

namespace {

const char* kUsageText = R"(Usage: odb [options] COMMAND [ARGS...]

Runs framework transactions in the object database of an oserv. A transaction stays open in the
oserv until committed or aborted, across any number of odb commands; the oserv rolls back what
is open when it stops, and (from odb.log) what was open when it crashed.

Commands:
  begin [--parent TXN] [--label TEXT]   start a transaction, print its number
  put TXN TABLE KEY VALUE               write a record (write lock, journaled first)
  erase TXN TABLE KEY                   delete a record
  get TXN TABLE KEY                     read a record (read lock); exit 1 if it does not exist
  setattr TXN OID NAME TYPE VALUE       set a typed attribute (a CORBA any) of object OID;
                                        TYPE: string, long, longlong, ulong, double, boolean
  getattr TXN OID NAME                  print an attribute as TYPE VALUE; exit 1 if absent
  commit TXN                            commit (a sub-transaction folds into its parent)
  abort TXN                             undo the transaction's own changes
TXN is the number begin printed: a random handle, usable only by the user that began the
transaction (tmstat's {region:od,region:od,session:n} IDs name transactions, but are no handle).
TABLE is one of meta, odlist, objects, attributes, classes, names.

Exit codes: 0 success, 1 the oserv refused the request (lock timeout, unknown transaction, no
such record), 2 usage error, 3 the oserv does not answer.
)";

CORBA::ULongLong parse_txn(const std::string& text) {
  if (!text.empty() && text.front() == '{')
    throw UsageError(fmt::format("'{}' is tmstat's ID of a transaction, not its handle: give the "
                                 "number odb begin printed",
                                 text));
  try {
    size_t used = 0;
    auto n = std::stoull(text, &used);
    if (used == text.size()) return n;
  } catch (const std::exception&) {
  }
  throw UsageError(fmt::format("'{}' is not a transaction number", text));
}

CORBA::Any make_any(const std::string& type, const std::string& text) {
  CORBA::Any a;
  try {
    size_t used = 0;
    auto whole = [&](size_t n) {
      if (n != text.size()) throw std::invalid_argument("trailing characters");
    };
    if (type == "string") {
      a <<= text.c_str();
    } else if (type == "long") {
      long v = std::stol(text, &used);
      whole(used);
      if (v < INT32_MIN || v > INT32_MAX) throw std::out_of_range("long");
      a <<= static_cast<CORBA::Long>(v);
    } else if (type == "longlong") {
      long long v = std::stoll(text, &used);
      whole(used);
      a <<= static_cast<CORBA::LongLong>(v);
    } else if (type == "ulong") {
      unsigned long v = std::stoul(text, &used);
      whole(used);
      if (text[0] == '-' || v > UINT32_MAX) throw std::out_of_range("ulong");
      a <<= static_cast<CORBA::ULong>(v);
    } else if (type == "double") {
      double v = std::stod(text, &used);
      whole(used);
      a <<= static_cast<CORBA::Double>(v);
    } else if (type == "boolean") {
      if (text != "TRUE" && text != "FALSE") throw std::invalid_argument("boolean");
      a <<= CORBA::Any::from_boolean(text == "TRUE");
    } else {
      throw UsageError(fmt::format(
          "unknown attribute type '{}' (string, long, longlong, ulong, double, boolean)", type));
    }
  } catch (const std::logic_error&) {
    throw UsageError(fmt::format("'{}' is not a {} value", text, type));
  }
  return a;
}

std::string show_any(const CORBA::Any& a) {
  const char* s = nullptr;
  CORBA::Long l;
  CORBA::LongLong ll;
  CORBA::ULong ul;
  CORBA::Double d;
  CORBA::Boolean b;
  if (a >>= s) return fmt::format("string {}", s);
  if (a >>= l) return fmt::format("long {}", l);
  if (a >>= ll) return fmt::format("longlong {}", ll);
  if (a >>= ul) return fmt::format("ulong {}", ul);
  if (a >>= d) return fmt::format("double {}", d);
  if (a >>= CORBA::Any::to_boolean(b)) return fmt::format("boolean {}", b ? "TRUE" : "FALSE");
  CORBA::TypeCode_var tc = a.type();
  return fmt::format("other (CORBA type code kind {})", static_cast<int>(tc->kind()));
}

std::string parent, label;

int run(OservClient& client, const std::vector<std::string>& args) {
  if (args.empty()) throw UsageError("a command is needed (see odb --help)");
  auto d = client.dispatcher();
  const std::string& cmd = args[0];
  if (cmd == "begin") {
    require_args("odb", args, 0, "begin [--parent TXN] [--label TEXT]");
    CORBA::ULongLong p = parent.empty() ? 0 : parse_txn(parent);
    auto id = client.call([&] { return d->txn_begin(p, label.c_str()); });
    fmt::print("{}\n", id);
  } else if (cmd == "put") {
    require_args("odb", args, 4, "put TXN TABLE KEY VALUE");
    client.call([&] {
      d->txn_put(parse_txn(args[1]), args[2].c_str(), args[3].c_str(), args[4].c_str());
    });
  } else if (cmd == "erase") {
    require_args("odb", args, 3, "erase TXN TABLE KEY");
    client.call([&] { d->txn_erase(parse_txn(args[1]), args[2].c_str(), args[3].c_str()); });
  } else if (cmd == "get") {
    require_args("odb", args, 3, "get TXN TABLE KEY");
    CORBA::Boolean found = false;
    CORBA::String_var v = client.call([&] {
      return d->txn_get(parse_txn(args[1]), args[2].c_str(), args[3].c_str(), found);
    });
    if (!found) {
      std::fprintf(stderr, "odb: %s/%s does not exist\n", args[2].c_str(), args[3].c_str());
      return 1;
    }
    fmt::print("{}\n", v.in());
  } else if (cmd == "setattr") {
    require_args("odb", args, 5, "setattr TXN OID NAME TYPE VALUE");
    CORBA::Any value = make_any(args[4], args[5]);
    client.call(
        [&] { d->attr_set(parse_txn(args[1]), args[2].c_str(), args[3].c_str(), value); });
  } else if (cmd == "getattr") {
    require_args("odb", args, 3, "getattr TXN OID NAME");
    CORBA::Boolean found = false;
    CORBA::Any_var value = client.call(
        [&] { return d->attr_get(parse_txn(args[1]), args[2].c_str(), args[3].c_str(), found); });
    if (!found) {
      std::fprintf(stderr, "odb: object %s has no attribute %s\n", args[2].c_str(),
                   args[3].c_str());
      return 1;
    }
    fmt::print("{}\n", show_any(value.in()));
  } else if (cmd == "commit") {
    require_args("odb", args, 1, "commit TXN");
    client.call([&] { d->txn_commit(parse_txn(args[1])); });
  } else if (cmd == "abort") {
    require_args("odb", args, 1, "abort TXN");
    client.call([&] { d->txn_abort(parse_txn(args[1])); });
  } else {
    throw UsageError(fmt::format("unknown command '{}' (see odb --help)", cmd));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return client_main({.name = "odb",
                      .usage = kUsageText,
                      .options =
                          [](po::options_description& opts) {
                            opts.add_options()("parent", po::value(&parent),
                                               "begin: make a sub-transaction of TXN")(
                                "label", po::value(&label), "begin: who runs it, shown by tmstat");
                          },
                      .body = run,
                      .negative_numbers = true},
                     argc, argv);
}
