// Instance selection and parameter precedence.
#include "Instance.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "TextFile.h"

namespace openoserv {

namespace {

std::optional<std::string> getenv_nonempty(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

template <typename T>
T first_of(const std::optional<T>& a, const std::optional<T>& b, const T& fallback) {
  return a ? *a : b ? *b : fallback;
}

}  // namespace

InstanceEnvironment InstanceEnvironment::from_process() {
  return InstanceEnvironment{getenv_nonempty("OSERV"), getenv_nonempty("WLOCALHOST"),
                             getenv_nonempty("OSERV_ETC_ROOT"), getenv_nonempty("OSERV_REGISTRY")};
}

std::string InstanceSelection::wlocalhost_path() const {
  std::filesystem::path root(etc_root);
  if (root.filename().empty()) root = root.parent_path();  // tolerate a trailing '/'
  return (root.parent_path() / "wlocalhost").string();
}

InstanceSelection select_instance(const InstanceFlags& flags, const InstanceEnvironment& env) {
  InstanceSelection s;
  s.id = first_of(flags.id, env.oserv, std::string(kDefaultInstanceId));
  if (!is_valid_instance_id(s.id))
    throw ConfigError(fmt::format(
        "'{}' is not a valid instance ID (letters, digits, '_', '.', '-'; not starting with "
        "'.' or '-')",
        s.id));
  s.etc_root = first_of(flags.etc_root, env.etc_root, std::string(kDefaultEtcRoot));
  if (s.etc_root.empty() || s.etc_root[0] != '/')
    s.etc_root = std::filesystem::absolute(s.etc_root).lexically_normal().string();
  auto registry = flags.registry ? flags.registry : env.registry;
  if (registry) {
    s.table_path = std::filesystem::absolute(*registry).lexically_normal().string();
    s.table_format = InstanceTable::Format::kRegistry;
  } else {
    s.table_path = s.etc_root + "/instances";
  }
  return s;
}

std::optional<std::string> parse_wlocalhost(const std::string& text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    size_t e = line.find_last_not_of(" \t\r");
    return line.substr(b, e - b + 1);
  }
  return std::nullopt;
}

ResolvedInstance resolve_instance(const InstanceSelection& where, const InstanceTable& table,
                                  const InstanceFlags& flags, const InstanceEnvironment& env,
                                  const std::optional<std::string>& wlocalhost_file,
                                  const std::string& system_hostname) {
  ResolvedInstance r;
  r.where = where;
  const InstanceEntry* entry = table.find(where.id);
  r.registered = entry != nullptr;
  if (!entry && !flags.dbdir) {
    auto ids = table.ids();
    throw ConfigError(fmt::format(
        "instance '{}' is not defined in {}; known instances: {}. Create it with oinstall, or "
        "give --dbdir to run an unregistered instance.",
        where.id, where.table_path, ids.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(ids, ", "))));
  }
  InstanceEntry none;
  const InstanceEntry& e = entry ? *entry : none;

  if (flags.dbdir) {
    r.dbdir = std::filesystem::absolute(*flags.dbdir).lexically_normal().string();
  } else if (e.dbdir) {
    r.dbdir = *e.dbdir;
  } else {
    throw ConfigError(fmt::format(
        "{}: instance {} has no database directory (DBDIR has no default); set it there or "
        "pass --dbdir",
        e.origin, where.id));
  }
  r.etcdir = flags.etcdir ? std::filesystem::absolute(*flags.etcdir).lexically_normal().string()
                          : e.etcdir.value_or(where.default_etcdir());
  r.port = first_of(flags.port, e.port, kDefaultPort);

  if (flags.hostname) {
    r.logical_host = *flags.hostname;
    r.logical_host_source = "--hostname";
  } else if (env.wlocalhost) {
    r.logical_host = *env.wlocalhost;
    r.logical_host_source = "$WLOCALHOST";
  } else if (e.hostname) {
    r.logical_host = *e.hostname;
    r.logical_host_source = e.origin;
  } else if (wlocalhost_file) {
    r.logical_host = *wlocalhost_file;
    r.logical_host_source = where.wlocalhost_path();
  } else {
    r.logical_host = system_hostname;
    r.logical_host_source = "the system host name";
  }
  return r;
}

ResolvedInstance load_instance(const InstanceFlags& flags) {
  const InstanceEnvironment env = InstanceEnvironment::from_process();
  const InstanceSelection where = select_instance(flags, env);
  const InstanceTable table = InstanceTable::load(where.table_path, where.table_format);
  std::optional<std::string> wlocalhost;
  if (auto text = read_text_file(where.wlocalhost_path())) wlocalhost = parse_wlocalhost(*text);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return resolve_instance(where, table, flags, env, wlocalhost, host);
}

}  // namespace openoserv
