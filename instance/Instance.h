// Which oserv instance a command means, and its parameters.
//
// Precedence, highest first: command-line flags; environment ($OSERV picks the ID, $WLOCALHOST
// the logical host, $OSERV_ETC_ROOT and $OSERV_REGISTRY the configuration); the instances file or
// registry; built-in defaults. resolve_instance() is a pure function of its inputs so the rules
// can be tested without touching the machine; load_instance() gathers the inputs from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "InstanceTable.h"

namespace openoserv {

inline constexpr const char* kDefaultEtcRoot = "/etc/Tivoli";
inline constexpr const char* kDefaultInstanceId = "oserv";
inline constexpr std::uint16_t kDefaultPort = 94;

// What the command line says (every field optional).
struct InstanceFlags {
  std::optional<std::string> id;
  std::optional<std::string> etc_root;
  std::optional<std::string> registry;  // use this registry export instead of the instances file
  std::optional<std::string> dbdir;
  std::optional<std::string> etcdir;
  std::optional<std::uint16_t> port;
  std::optional<std::string> hostname;
};

// What the process environment says.
struct InstanceEnvironment {
  std::optional<std::string> oserv;       // $OSERV
  std::optional<std::string> wlocalhost;  // $WLOCALHOST
  std::optional<std::string> etc_root;    // $OSERV_ETC_ROOT
  std::optional<std::string> registry;    // $OSERV_REGISTRY
  static InstanceEnvironment from_process();
};

// The ID and etc root a command addresses, and where its local files live. Enough for a client.
struct InstanceSelection {
  std::string id;
  std::string etc_root;
  std::string table_path;  // instances file or registry export consulted
  InstanceTable::Format table_format = InstanceTable::Format::kInstancesFile;

  std::string run_dir() const { return etc_root + "/run"; }
  std::string socket_path() const { return run_dir() + "/" + id + ".sock"; }
  std::string pid_path() const { return run_dir() + "/" + id + ".pid"; }
  std::string default_etcdir() const { return etc_root + "/" + id; }
  // The system-wide logical host file, kept beside the etc root (/etc/wlocalhost by default).
  std::string wlocalhost_path() const;
};

InstanceSelection select_instance(const InstanceFlags& flags, const InstanceEnvironment& env);

// Everything an oserv needs to start.
struct ResolvedInstance {
  InstanceSelection where;
  std::string dbdir;
  std::string etcdir;
  std::uint16_t port = kDefaultPort;
  std::string logical_host;
  std::string logical_host_source;  // e.g. "$WLOCALHOST", "/etc/Tivoli/instances:3"
  bool registered = false;          // found in the instances file / registry
};

// Resolves the parameters. Throws ConfigError when the ID is unknown and no --dbdir was given
// (listing the known IDs), or when no database directory can be determined.
ResolvedInstance resolve_instance(const InstanceSelection& where, const InstanceTable& table,
                                  const InstanceFlags& flags, const InstanceEnvironment& env,
                                  const std::optional<std::string>& wlocalhost_file,
                                  const std::string& system_hostname);

// Reads the environment, table, wlocalhost file and hostname of this machine, then resolves.
ResolvedInstance load_instance(const InstanceFlags& flags);

// The text of a wlocalhost file reduced to the host name it names (first non-blank line).
std::optional<std::string> parse_wlocalhost(const std::string& text);

}  // namespace openoserv
