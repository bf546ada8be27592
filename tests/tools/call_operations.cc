// call_operations URL ROLES [CA [IDENTITY]]: calls every operation of domain/Access.cc's table on
// the object at URL (with no arguments: a refused call is refused before its arguments are read,
// an allowed one fails unmarshalling them or runs a harmless query), and checks that exactly the
// operations a caller with ROLES ("none", "user", "senior:backup", ...) may not call are refused
// with NO_PERMISSION. With CA (and IDENTITY, a certificate to show) the calls go over TLS.
// ROLES "unreachable": no call may get through at all (a peer the TLS handshake refuses).
// Prints one line per mismatch; exit 0 when there is none, 1 otherwise. In the environment,
// CALL_OPERATIONS_ROUNDS=N calls them all N times (a caller hammering the oserv), and
// CALL_OPERATIONS_ARGUMENT=N gives the operations anyone may call a string argument of N bytes:
// over 64 KB they must be refused too (before the argument is read).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/core.h>

#include "Access.h"
#include "OrbInit.h"
#include "OrbTls.h"

using namespace openoserv;

namespace {

// What calling `op` (with no arguments, or with `argument`) gave: "" for a reply, else the
// exception's name.
std::string call(CORBA::Object_ptr target, const char* op, const std::string* argument) {
  try {
    CORBA::Request_var request = target->_request(op);
    if (argument) request->add_in_arg() <<= argument->c_str();
    request->invoke();
    if (CORBA::Exception* e = request->env()->exception()) return e->_name();
    return "";
  } catch (const CORBA::Exception& e) {
    return e._name();
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr, "usage: call_operations URL ROLES [CA [IDENTITY]]\n");
    return 2;
  }
  const bool unreachable = std::string(argv[2]) == "unreachable";
  const auto roles = parse_roles(std::string(argv[2]) == "none" || unreachable ? "" : argv[2]);
  if (!roles) {
    std::fprintf(stderr, "call_operations: bad roles %s\n", argv[2]);
    return 2;
  }
  OrbOptions options;
  if (argc > 3) options = tls_options({.ca = argv[3], .identity = argc > 4 ? argv[4] : ""});
  CORBA::ORB_var orb = init_orb(argv[0], options);
  CORBA::Object_var target = orb->string_to_object(argv[1]);
  const Principal caller{.kind = Principal::Kind::kLocal, .name = "caller", .admin = "", .roles = *roles};
  int mismatches = 0, refused = 0;
  const char* rounds_text = std::getenv("CALL_OPERATIONS_ROUNDS");
  const int rounds = rounds_text ? std::max(1, std::atoi(rounds_text)) : 1;
  const char* argument_bytes = std::getenv("CALL_OPERATIONS_ARGUMENT");
  const std::string argument(argument_bytes ? std::strtoul(argument_bytes, nullptr, 10) : 0, 'x');
  const bool large = argument.size() > 64 * 1024;
  for (int round = 0; round < rounds; ++round) {
    for (const auto& rule : operation_rules()) {
      const std::string op(rule.operation);
      const bool anyones = rule.need == Need::kAnyone;
      const std::string got =
          call(target, op.c_str(), argument_bytes && anyones ? &argument : nullptr);
      const bool should_refuse = refusal(caller, op).has_value() || (large && anyones);
      if (unreachable) {
        if (got != "TRANSIENT" && got != "COMM_FAILURE") {
          fmt::print("{}: expected no connection, got {}\n", op, got.empty() ? "a reply" : got);
          ++mismatches;
        }
        continue;
      }
      if ((got == "NO_PERMISSION") != should_refuse) {
        fmt::print("{}: expected {}, got {}\n", op, should_refuse ? "NO_PERMISSION" : "no refusal",
                   got.empty() ? "a reply" : got);
        ++mismatches;
      }
      refused += got == "NO_PERMISSION";
    }
  }
  fmt::print("{} operations, {} refused, {} mismatches\n", operation_rules().size() * static_cast<std::size_t>(rounds),
             refused, mismatches);
  orb->destroy();
  return mismatches ? 1 : 0;
}
