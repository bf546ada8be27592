// How every openoserv command reaches an oserv: over the instance's Unix socket (chosen by
// --id / $OSERV and --etc-root / $OSERV_ETC_ROOT), or over IIOP on TLS with --host HOST[:PORT].
//
// With --host the client shows a certificate: --cert FILE, else $OSERV_CERT (an administrator's
// client certificate file, made by 'odadmin issue_cert'), else the local instance's own
// (DBDIR/ssl/identity.pem, readable by root and the oserv's user: the client then calls as that
// dispatcher), else none: then it trusts the CA of --ca FILE or $OSERV_CA, or the local
// instance's, and may only ping.
//
// CORBA system exceptions are turned into ClientError sentences that name the instance, its
// socket or host and port, and how to start it, because "TRANSIENT" tells an operator nothing.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include <boost/program_options.hpp>

#include "Instance.h"
#include "OrbTls.h"
#include "Timeouts.h"
#include "oserv.hh"

namespace openoserv {

class ClientError : public std::runtime_error {
 public:
  explicit ClientError(const std::string& message, bool unreachable = false)
      : std::runtime_error(message), unreachable_(unreachable) {}
  // The oserv did not answer at all (as opposed to refusing or failing the request).
  bool unreachable() const { return unreachable_; }

 private:
  bool unreachable_;
};

struct ClientOptions {
  std::string id, etc_root, registry, host, cert, ca;
  int timeout_seconds = timeouts::kClientSeconds;

  // Adds --id, --etc-root, --registry, --host, --cert, --ca and --timeout to `opts`.
  void add_to(boost::program_options::options_description& opts);
  // After parsing: the flags that were given.
  InstanceFlags flags(const boost::program_options::variables_map& vm) const;
};

class OservClient {
 public:
  OservClient(const ClientOptions& options, const boost::program_options::variables_map& vm);
  ~OservClient();
  OservClient(const OservClient&) = delete;
  OservClient& operator=(const OservClient&) = delete;

  // The Dispatcher reference; calls on it may throw CORBA exceptions, see explain().
  OServ::Dispatcher_ptr dispatcher() { return dispatcher_.in(); }
  // A reference to a framework object, through this client's oserv: `target` is an OID (then
  // corbaloc at the same socket or host, with the OID as the key), an IOR or a corbaloc URL.
  CORBA::Object_ptr object(const std::string& target);
  // A sentence for the operator about a failed call.
  std::string explain(const CORBA::Exception& e) const;
  static bool is_unreachable(const CORBA::Exception& e);
  const InstanceSelection& where() const { return where_; }
  // With --host: the TLS files the client uses (see above).
  TlsFiles tls_files(const ClientOptions& options) const;
  // The instance as its oserv would resolve it (instances file or registry, flags, environment),
  // for commands that work on its files. Throws ClientError when it does not resolve.
  ResolvedInstance instance() const;
  // The oserv this client talks to, for messages: "oserv instance ID" (the local one), or with
  // --host the instance that answers there as it names itself, "oserv instance ID at HOST:PORT".
  std::string instance_name();

  // Runs `f` (a call on dispatcher()), converting CORBA exceptions to ClientError.
  template <typename F>
  auto call(F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const CORBA::Exception& e) {
      throw ClientError(explain(e), is_unreachable(e));
    }
  }

 private:
  InstanceFlags flags_;
  InstanceSelection where_;
  std::string etcdir_;
  std::string target_;  // "socket /x/run/oserv.sock" or "host:port"
  std::string url_base_;  // "corbaloc:omniunix:/x/run/oserv.sock:/" or "corbaloc::host:port/"
  bool remote_ = false;
  CORBA::ORB_var orb_;
  OServ::Dispatcher_var dispatcher_;
};

}  // namespace openoserv
