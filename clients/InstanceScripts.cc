// Template substitution for the instance scripts.
#include "InstanceScripts.h"

#include <map>

#include <fmt/core.h>

#include "ScriptTemplates.h"  // generated from ha/*.in
#include "TextFile.h"

namespace openoserv {

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

namespace {

std::string render(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values) {
    const std::string marker = "%" + key + "%";
    for (size_t pos = text.find(marker); pos != std::string::npos;
         pos = text.find(marker, pos + value.size()))
      text.replace(pos, marker.size(), value);
  }
  return text;
}

}  // namespace

void write_instance_scripts(const ScriptValues& v) {
  // Every instance script sets or clears WLOCALHOST: one shell may source the scripts of several
  // instances in turn, and a logical host left over from another instance would start this one
  // under the wrong name.
  const std::string wl_sh = v.wlocalhost
                                ? fmt::format("WLOCALHOST={}; export WLOCALHOST", shell_quote(*v.wlocalhost))
                                : "unset WLOCALHOST";
  const std::string wl_csh =
      v.wlocalhost ? fmt::format("setenv WLOCALHOST {}", shell_quote(*v.wlocalhost)) : "unsetenv WLOCALHOST";
  // Likewise the registry export an instance is kept in (without it, the instances file).
  const std::string reg_sh =
      v.registry ? fmt::format("OSERV_REGISTRY={}; export OSERV_REGISTRY", shell_quote(*v.registry))
                 : "unset OSERV_REGISTRY";
  const std::string reg_csh = v.registry
                                  ? fmt::format("setenv OSERV_REGISTRY {}", shell_quote(*v.registry))
                                  : "unsetenv OSERV_REGISTRY";
  const std::map<std::string, std::string> values = {
      {"ID", v.id},
      {"ETC_ROOT", shell_quote(v.etc_root)},
      {"ETCDIR", shell_quote(v.etcdir)},
      {"DBDIR", shell_quote(v.dbdir)},
      {"BINDIR", shell_quote(v.bindir)},
      {"WLOCALHOST_SH", wl_sh},
      {"WLOCALHOST_CSH", wl_csh},
      {"REGISTRY_SH", reg_sh},
      {"REGISTRY_CSH", reg_csh},
  };
  make_directories(v.etcdir);
  write_file_atomically(v.etcdir + "/setup_env.sh", render(kSetupEnvShTemplate, values), 0644);
  write_file_atomically(v.etcdir + "/setup_env.csh", render(kSetupEnvCshTemplate, values), 0644);
  write_file_atomically(v.etcdir + "/oserv.rc", render(kOservRcTemplate, values), 0755);
}

void write_etc_root_scripts(const std::string& etc_root, const std::string& id) {
  make_directories(etc_root);
  for (const char* action : {"start", "stop"}) {
    const std::string generic = etc_root + "/" + action;
    if (!read_text_file(generic))
      write_file_atomically(generic, render(kEtcRootActionTemplate, {{"ACTION", action}}), 0755);
    write_file_atomically(etc_root + "/" + action + "_" + id,
                          render(kApplicationServerTemplate, {{"ACTION", action}, {"ID", id}}),
                          0755);
  }
}

}  // namespace openoserv
