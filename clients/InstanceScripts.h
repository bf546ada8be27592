// The per-instance scripts oinstall writes into ETCDIR: setup_env.sh, setup_env.csh, oserv.rc.
// Their templates live in ha/*.in and are compiled in, so an installed binary needs no data files.
#pragma once

#include <optional>
#include <string>

namespace openoserv {

struct ScriptValues {
  std::string id, etc_root, etcdir, dbdir, bindir;
  std::optional<std::string> wlocalhost;  // exported when set, else unset (see render)
  std::optional<std::string> registry;    // OSERV_REGISTRY: an instance kept in a .reg export
};

// Writes the three scripts into values.etcdir (atomically; oserv.rc executable).
void write_instance_scripts(const ScriptValues& values);

// In the etc root: the generic `start ID` and `stop ID` scripts (written if missing, shared by
// every instance) and this instance's HACMP-style `start_<ID>` and `stop_<ID>`.
void write_etc_root_scripts(const std::string& etc_root, const std::string& id);

// `text` as one single-quoted shell word.
std::string shell_quote(const std::string& text);

}  // namespace openoserv
