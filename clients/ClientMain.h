// The common main() of the client commands: options (--id, --etc-root, --registry, --host,
// --timeout, --help and the command's own), positional arguments, and one exit-code contract:
// 0 success (or what the body returns), 1 the oserv refused or failed the request, 2 usage
// error, 3 the oserv does not answer.
#pragma once

#include <cstdio>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "OservClient.h"

namespace openoserv {

// A command line the command cannot use; the message says why.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// For COMMAND SUBCOMMAND ARGS...: throws UsageError("usage: COMMAND SYNOPSIS") unless `args` is
// the subcommand and exactly `n` arguments.
void require_args(const char* command, const std::vector<std::string>& args, size_t n,
                  const char* synopsis);

struct ClientCommand {
  const char* name;   // for messages: "odadmin: ..."
  const char* usage;  // printed by --help before the options
  // Adds the command's own options (may be empty).
  std::function<void(boost::program_options::options_description&)> options;
  // Does the work; its return value is the exit code.
  std::function<int(OservClient&, const std::vector<std::string>& args)> body;
  // Values such as -42 are arguments, not options (then no short options).
  bool negative_numbers = false;
  // Takes --json: prints state as JSON (clients/JsonOutput.h, docs/JSON.md) instead of the
  // Tivoli layout.
  bool json = false;
};

// Whether --json was given (commands with `json` set).
bool json_output();

int client_main(const ClientCommand& command, int argc, char** argv);

// A program that is several commands (wep: wcrtgate, wgateway, ...; wcrtadmin: wsetadmin, ...)
// by the name it is run under: the entry of `commands` (each with a `name`) called as argv[0]'s
// base name, or null after saying on stderr which names it answers to.
template <typename Command, std::size_t N>
const Command* command_named(const char* argv0, const Command (&commands)[N]) {
  const char* slash = std::strrchr(argv0, '/');
  const char* base = slash ? slash + 1 : argv0;
  std::string names;
  for (std::size_t i = 0; i < N; ++i) {
    if (std::strcmp(base, commands[i].name) == 0) return &commands[i];
    names.append(i == 0 ? "" : i + 1 == N ? " or " : ", ").append(commands[i].name);
  }
  std::fprintf(stderr, "%s: run me as %s\n", base, names.c_str());
  return nullptr;
}

}  // namespace openoserv
