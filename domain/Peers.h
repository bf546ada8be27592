// The other dispatchers of the region, as the domain sees them: plain calls with plain types.
// The oserv implements this over IIOP (oserv/CorbaPeers); the domain's unit tests with fakes.
//
// Every call is bounded by a timeout. A dispatcher that does not answer raises Unreachable,
// whose message names it ("dispatcher 2 (black, 10.0.0.2:94) does not answer (TRANSIENT)"); one
// that refuses raises Failure with its own sentence, passed on unchanged.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "Odlist.h"
#include "Records.h"

namespace openoserv {

// What a method returned: the program's exit code and its output (stdout and stderr, UTF-8).
struct MethodOutcome {
  int exit_code = 0;
  std::string output;
};

struct NameEntry {
  std::string label;
  std::string oid;
};

class Peers {
 public:
  using Timeout = std::chrono::milliseconds;
  virtual ~Peers() = default;

  // Liveness of dispatcher `od`.
  virtual void ping(std::uint32_t od, Timeout timeout) = 0;
  // Runs `method` on `oid` at its owner `od` (which must be another dispatcher).
  virtual MethodOutcome invoke(std::uint32_t od, const std::string& oid, const std::string& method,
                               const std::vector<std::string>& args, Timeout timeout) = 0;
  virtual std::string shutdown(std::uint32_t od) = 0;

  // Managed node -> TMR server.
  virtual std::vector<OdRecord> node_started(std::uint32_t self, const std::string& ip,
                                             std::uint16_t port, Timeout timeout) = 0;
  virtual std::string edit_odlist(const OdlistEdit& edit) = 0;
  virtual std::string lookup(const std::string& resource, const std::string& label) = 0;
  virtual std::vector<NameEntry> list_names(const std::string& resource) = 0;
  virtual void register_name(const std::string& resource, const std::string& label,
                             const std::string& oid) = 0;
  virtual void install_method(const std::string& cls, const std::string& method,
                              const std::string& program) = 0;
  virtual std::vector<MethodDef> class_methods(const std::string& cls) = 0;
  virtual std::string set_administrator(const AdministratorRecord& admin, bool create) = 0;
  virtual std::string delete_administrator(const std::string& name) = 0;
  virtual std::vector<AdministratorRecord> administrators() = 0;
  // The TMR server signs a new certificate for this dispatcher's key (certificate request
  // `csr`); returns it.
  virtual std::string renew_certificate(const std::string& csr) = 0;

  // TMR server -> every other dispatcher.
  virtual void odlist_update(std::uint32_t od, const std::vector<OdRecord>& odlist) = 0;
  virtual void class_update(std::uint32_t od, const std::string& cls,
                            const std::vector<MethodDef>& methods) = 0;
  virtual void administrators_update(std::uint32_t od,
                                     const std::vector<AdministratorRecord>& admins) = 0;
};

}  // namespace openoserv
