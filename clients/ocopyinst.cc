// ocopyinst: copy an instance's configuration to another cluster node's etc root (appendix
// A.5.1 of the seed), what ha/copy-cluster.sh runs. Nothing of the database is copied: it belongs
// on the shared disk.
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "Instance.h"
#include "InstanceScripts.h"
#include "ProgramVersion.h"
#include "TextFile.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace openoserv;

namespace {

const char* kUsage = R"(Usage: ocopyinst [options] ID TARGET_ETC_ROOT

Copies instance ID's configuration to the etc root TARGET_ETC_ROOT of another cluster node (a
mounted or local path, created if missing): its instances line (or, with --target-registry, its
registry key), its ETCDIR when that lies under the etc root (the scripts rewritten for the
target; an ETCDIR elsewhere is taken to be on the shared disk and left alone), and the per-ID
start/stop scripts. Running it again changes nothing; a changed instance is updated in the copy,
and the copy's other instances are kept.

Exit codes: 0 copied (or already up to date), 1 failure, 2 usage or configuration error.
)";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string id, target_root, target_registry;
  InstanceFlags source;
};

Options parse(int argc, char** argv) {
  Options o;
  std::string etc_root, registry;
  po::options_description opts("Options");
  opts.add_options()("help,h", "print this help and exit")("version", "print the version and exit")(
      "etc-root", po::value(&etc_root),
      "the source etc root (default: $OSERV_ETC_ROOT, else /etc/Tivoli)")(
      "registry", po::value(&registry), "read the instance from this registry export")(
      "target-registry", po::value(&o.target_registry),
      "register the copy in this registry export instead of TARGET_ETC_ROOT/instances");
  po::options_description hidden;
  std::vector<std::string> args;
  hidden.add_options()("args", po::value(&args));
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description positional;
  positional.add("args", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  if (vm.count("help")) {
    std::cout << kUsage << "\n" << opts;
    std::exit(0);
  }
  if (vm.count("version")) {
    print_version("ocopyinst");
    std::exit(0);
  }
  if (args.size() != 2) throw UsageError("an instance ID and a target etc root are needed");
  o.id = args[0];
  o.target_root = fs::absolute(args[1]).lexically_normal().string();
  if (vm.count("etc-root")) o.source.etc_root = etc_root;
  if (vm.count("registry")) o.source.registry = registry;
  return o;
}

// The scripts' line that selects the registry export (or none) of the instance, as the copy's
// must read: the target's registry, or none when the copy is in the target's instances file.
std::string registry_line(const std::string& line, const std::string& target_registry) {
  const bool csh = line.rfind("setenv ", 0) == 0 || line.rfind("unsetenv ", 0) == 0;
  if (target_registry.empty()) return csh ? "unsetenv OSERV_REGISTRY" : "unset OSERV_REGISTRY";
  return csh ? "setenv OSERV_REGISTRY " + shell_quote(target_registry)
             : fmt::format("OSERV_REGISTRY={}; export OSERV_REGISTRY", shell_quote(target_registry));
}

// The instance's files under `from` copied to `to`, with the etc root's path rewritten in the
// scripts (they name it, e.g. OSERV_ETC_ROOT='/etc/Tivoli') and their registry line made the
// target's.
void copy_tree(const fs::path& from, const fs::path& to, const std::string& old_root,
               const Options& o) {
  const std::string& new_root = o.target_root;
  make_directories(to.string());
  for (const auto& entry : fs::directory_iterator(from)) {
    const fs::path target = to / entry.path().filename();
    if (entry.is_directory()) {
      copy_tree(entry.path(), target, old_root, o);
      continue;
    }
    if (!entry.is_regular_file()) continue;
    std::string text = read_text_file(entry.path().string()).value_or("");
    for (size_t pos = text.find(old_root); pos != std::string::npos;
         pos = text.find(old_root, pos + new_root.size()))
      text.replace(pos, old_root.size(), new_root);
    for (const char* start : {"OSERV_REGISTRY=", "unset OSERV_REGISTRY", "setenv OSERV_REGISTRY ",
                              "unsetenv OSERV_REGISTRY"}) {
      for (size_t pos = text.find(start); pos != std::string::npos;
           pos = text.find(start, pos + 1)) {
        if (pos != 0 && text[pos - 1] != '\n') continue;
        const size_t end = text.find('\n', pos);
        const std::string line = text.substr(pos, end - pos);
        text.replace(pos, line.size(), registry_line(line, o.target_registry));
      }
    }
    const auto mode = static_cast<unsigned>(entry.status().permissions() & fs::perms::mask);
    write_file_atomically(target.string(), text, mode);
  }
}

// Adds or updates the entry in the target table; returns what happened.
std::string register_copy(const InstanceEntry& entry, const Options& o) {
  const bool registry = !o.target_registry.empty();
  const std::string path = registry ? o.target_registry : o.target_root + "/instances";
  // The comparison, the removal and the addition as one edit of the table.
  const InstanceTable::EditLock lock(path);
  auto target = InstanceTable::load(path, registry ? InstanceTable::Format::kRegistry
                                                   : InstanceTable::Format::kInstancesFile);
  if (const InstanceEntry* existing = target.find(entry.id)) {
    if (existing->dbdir == entry.dbdir && existing->etcdir == entry.etcdir &&
        existing->port == entry.port && existing->hostname == entry.hostname)
      return fmt::format("already up to date in {}", target.path());
    target.remove_and_save(entry.id);
    target.add_and_save(entry);
    return fmt::format("updated in {}", target.path());
  }
  target.add_and_save(entry);
  return fmt::format("added to {}", target.path());
}

int copy_instance(const Options& o) {
  const InstanceSelection source = select_instance(o.source, InstanceEnvironment::from_process());
  const auto table = InstanceTable::load(source.table_path, source.table_format);
  const InstanceEntry* found = table.find(o.id);
  if (!found) {
    std::string known;
    for (const auto& k : table.ids()) known += (known.empty() ? "" : ", ") + k;
    throw UsageError(fmt::format("instance {} is not in {} (known: {})", o.id, source.table_path,
                                 known.empty() ? "none" : known));
  }
  make_directories(o.target_root);
  InstanceEntry entry = *found;
  entry.origin.clear();
  const std::string& root = source.etc_root;
  const std::string etcdir = entry.etcdir.value_or(source.default_etcdir());
  const bool etcdir_local = etcdir == root || etcdir.rfind(root + "/", 0) == 0;
  if (etcdir_local) {
    const std::string target_etcdir = o.target_root + etcdir.substr(root.size());
    copy_tree(etcdir, target_etcdir, root, o);
    if (entry.etcdir) entry.etcdir = target_etcdir;
  }
  const std::string what = register_copy(entry, o);
  write_etc_root_scripts(o.target_root, o.id);
  make_directories(o.target_root + "/run");
  fmt::print("Instance {} copied to {}: entry {}; ETCDIR {}.\n", o.id, o.target_root, what,
             etcdir_local ? "copied to " + entry.etcdir.value_or(o.target_root + "/" + o.id)
                          : etcdir + " left alone (outside the etc root: the shared disk)");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return copy_instance(parse(argc, argv));
  } catch (const UsageError& e) {
    std::cerr << "ocopyinst: " << e.what() << " (see ocopyinst --help)\n";
    return 2;
  } catch (const ConfigError& e) {
    std::cerr << "ocopyinst: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ocopyinst: " << e.what() << "\n";
    return 1;
  }
}
