// Shared client main.
#include "ClientMain.h"

#include <cstdio>
#include <iostream>

#include "ProgramVersion.h"

namespace po = boost::program_options;

namespace openoserv {

namespace {
bool json_given = false;
}  // namespace

bool json_output() { return json_given; }

void require_args(const char* command, const std::vector<std::string>& args, size_t n,
                  const char* synopsis) {
  if (args.size() != n + 1) throw UsageError(std::string("usage: ") + command + " " + synopsis);
}

int client_main(const ClientCommand& command, int argc, char** argv) {
  ClientOptions client_options;
  std::vector<std::string> args;
  po::options_description opts("Options");
  opts.add_options()(command.negative_numbers ? "help" : "help,h", "print this help and exit")(
      "version", "print the version and exit");
  if (command.json)
    opts.add_options()("json", po::bool_switch(&json_given),
                       "print the state as JSON (a stable schema: docs/JSON.md)");
  if (command.options) command.options(opts);
  client_options.add_to(opts);
  po::options_description hidden;
  hidden.add_options()("args", po::value(&args));
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description positional;
  positional.add("args", -1);
  po::variables_map vm;
  try {
    int style = po::command_line_style::unix_style;
    if (command.negative_numbers) style = style ^ po::command_line_style::allow_short;
    po::store(
        po::command_line_parser(argc, argv).options(all).positional(positional).style(style).run(),
        vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "%s: %s (see %s --help)\n", command.name, e.what(), command.name);
    return 2;
  }
  if (vm.count("help")) {
    std::cout << command.usage << "\n" << opts;
    return 0;
  }
  if (vm.count("version")) {
    print_version(command.name);
    return 0;
  }
  try {
    OservClient client(client_options, vm);
    return command.body(client, args);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s\n", command.name, e.what());
    return 2;
  } catch (const ClientError& e) {
    std::fprintf(stderr, "%s: %s\n", command.name, e.what());
    return e.unreachable() ? 3 : 1;
  }
}

}  // namespace openoserv
