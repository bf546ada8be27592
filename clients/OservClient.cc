// Client connection set-up and error translation.
#include "OservClient.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include <fmt/core.h>

#include "HostPort.h"
#include "Oid.h"
#include "OrbInit.h"

namespace po = boost::program_options;

namespace openoserv {

namespace {

// Set when a call a standby passed on to its primary failed there (explain() says so).
thread_local bool forward_failed = false;

// omniORB retries a call that failed at the place it was forwarded to for as long as the call's
// deadline allows, from the original reference (a standby, which forwards it again). One retry
// is enough: the second forward goes wherever the standby says the primary is now.
CORBA::Boolean retry_forwarded_once(void*, CORBA::ULong retries, const CORBA::TRANSIENT& e) {
  if (e.minor() != omni::TRANSIENT_FailedOnForwarded) return false;
  forward_failed = retries >= 1;
  return retries < 1;
}

}  // namespace

void ClientOptions::add_to(po::options_description& opts) {
  opts.add_options()
      ("id", po::value(&id), "instance ID (default: $OSERV, else oserv)")
      ("etc-root", po::value(&etc_root),
       "configuration root (default: $OSERV_ETC_ROOT, else /etc/Tivoli)")
      ("registry", po::value(&registry), "read instances from this registry export (.reg)")
      ("host", po::value(&host),
       "talk to the oserv at HOST[:PORT] over IIOP on TLS instead of the local socket")
      ("cert", po::value(&cert),
       "with --host: the client certificate file to show (default: $OSERV_CERT, else the "
       "local instance's own if readable, else none: ping only)")
      ("ca", po::value(&ca),
       "with --host and no certificate: the region CA to trust (default: $OSERV_CA, else the "
       "local instance's)")
      ("timeout", po::value(&timeout_seconds)->default_value(30),
       "seconds to wait for an answer");
}

InstanceFlags ClientOptions::flags(const po::variables_map& vm) const {
  InstanceFlags f;
  if (vm.count("id")) f.id = id;
  if (vm.count("etc-root")) f.etc_root = etc_root;
  if (vm.count("registry")) f.registry = registry;
  return f;
}

OservClient::OservClient(const ClientOptions& options, const po::variables_map& vm) {
  if (options.timeout_seconds < 1) throw ClientError("--timeout must be at least 1 second");
  flags_ = options.flags(vm);
  try {
    where_ = select_instance(flags_, InstanceEnvironment::from_process());
  } catch (const ConfigError& e) {
    throw ClientError(e.what());
  }
  // The etc directory is only needed for the "how to start it" hint; a broken instances file
  // must not hide the real answer, so fall back to the default.
  etcdir_ = where_.default_etcdir();
  try {
    auto table = InstanceTable::load(where_.table_path, where_.table_format);
    if (auto* e = table.find(where_.id); e && e->etcdir) etcdir_ = *e->etcdir;
  } catch (const ConfigError&) {
  }

  if (!options.host.empty()) {
    remote_ = true;
    try {
      target_ = parse_host_port(options.host, kDefaultPort).text();
    } catch (const std::invalid_argument& e) {
      throw ClientError(fmt::format("--host {}", e.what()));
    }
    url_base_ = corbaloc_url(target_, "");
  } else {
    target_ = "socket " + where_.socket_path();
    url_base_ = fmt::format("corbaloc:omniunix:{}:/", where_.socket_path());
  }
  const std::string corbaloc = url_base_ + "Dispatcher";

  const std::string timeout_ms = std::to_string(options.timeout_seconds * 1000);
  OrbOptions orb_options = {{"traceLevel", "0"},
                            {"clientCallTimeOutPeriod", timeout_ms},
                            {"clientConnectTimeOutPeriod", timeout_ms}};
  // Local clients too: an IOR or corbaloc URL (idlcall, wlookup's answers) names an oserv's TLS
  // port; without a certificate or CA to use, only the Unix socket works.
  std::optional<TlsFiles> tls;
  if (remote_) {
    tls = tls_files(options);
  } else {
    try {
      tls = tls_files(options);
    } catch (const ClientError&) {
    }
  }
  if (tls)
    for (auto& option : tls_options(*tls)) orb_options.push_back(option);
  orb_ = init_orb("openoserv-client", orb_options);
  omniORB::installTransientExceptionHandler(nullptr, retry_forwarded_once);
  try {
    CORBA::Object_var obj = orb_->string_to_object(corbaloc.c_str());
    dispatcher_ = OServ::Dispatcher::_unchecked_narrow(obj);
  } catch (const CORBA::Exception& e) {
    throw ClientError(fmt::format("cannot make a reference from {}: {}", corbaloc, e._name()));
  }
}

TlsFiles OservClient::tls_files(const ClientOptions& options) const {
  auto readable = [](const std::string& path) { return ::access(path.c_str(), R_OK) == 0; };
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  std::string cert = options.cert.empty() ? env("OSERV_CERT") : options.cert;
  if (!cert.empty()) {
    if (!readable(cert))
      throw ClientError(fmt::format("client certificate {}: {}", cert, std::strerror(errno)));
    return {.ca = cert, .identity = cert};  // the file carries the CA too
  }
  std::string ssl_dir;
  try {
    ssl_dir = load_instance(flags_).dbdir + "/ssl";
  } catch (const ConfigError&) {  // no local instance: only what the options give
  }
  if (!ssl_dir.empty() && readable(ssl_dir + "/identity.pem"))
    return {.ca = ssl_dir + "/ca.pem", .identity = ssl_dir + "/identity.pem"};
  std::string ca = options.ca.empty() ? env("OSERV_CA") : options.ca;
  if (ca.empty() && !ssl_dir.empty() && readable(ssl_dir + "/ca.pem")) ca = ssl_dir + "/ca.pem";
  if (ca.empty() || !readable(ca))
    throw ClientError(
        "--host needs a certificate: --cert FILE or $OSERV_CERT (an administrator's, made with "
        "'odadmin issue_cert' at the TMR server), or at least the region CA to check the oserv "
        "with (--ca FILE or $OSERV_CA; then only ping is allowed)");
  return {.ca = ca, .identity = ""};
}

CORBA::Object_ptr OservClient::object(const std::string& target) {
  const bool reference = target.rfind("IOR:", 0) == 0 || target.rfind("corbaloc:", 0) == 0;
  const std::string url = reference ? target : url_base_ + corbaloc_key(target);
  try {
    return orb_->string_to_object(url.c_str());
  } catch (const CORBA::Exception& e) {
    throw ClientError(fmt::format("'{}' is not an object reference ({})", target, e._name()));
  }
}

OservClient::~OservClient() {
  dispatcher_ = OServ::Dispatcher::_nil();
  try {
    orb_->destroy();
  } catch (...) {
  }
}

bool OservClient::is_unreachable(const CORBA::Exception& e) {
  const std::string name = e._name();
  return name == "TRANSIENT" || name == "COMM_FAILURE" || name == "OBJECT_NOT_EXIST" ||
         name == "TIMEOUT";
}

ResolvedInstance OservClient::instance() const {
  try {
    return load_instance(flags_);
  } catch (const ConfigError& e) {
    throw ClientError(e.what());
  }
}

std::string OservClient::instance_name() {
  if (!remote_) return fmt::format("oserv instance {}", where_.id);
  try {
    OServ::StatusBlock_var s = dispatcher_->status();
    return fmt::format("oserv instance {} at {}", s->instance_id.in(), target_);
  } catch (const CORBA::Exception&) {
    return fmt::format("the oserv at {}", target_);
  }
}

std::string OservClient::explain(const CORBA::Exception& e) const {
  if (auto* failed = OServ::Failed::_downcast(&e)) return failed->reason.in();
  const std::string name = e._name();
  // It took the request, then its reply broke off or was over the size a message may have.
  if (auto* sys = CORBA::COMM_FAILURE::_downcast(&e);
      sys && sys->minor() == omni::COMM_FAILURE_UnMarshalResults)
    return fmt::format("{} took the request, but its reply could not be read: it broke off, or "
                       "it was over the 64 MB a message may have (the oserv's log may say which)",
                       remote_ ? fmt::format("the oserv at {}", target_)
                               : fmt::format("oserv instance {}", where_.id));
  if (forward_failed && (name == "TRANSIENT" || name == "COMM_FAILURE")) {
    forward_failed = false;
    return fmt::format("{} is a standby TMR server: it passed the call to its primary, which did "
                       "not answer ({}). If the primary is gone, promote this standby: odadmin "
                       "promote",
                       remote_ ? fmt::format("the oserv at {}", target_)
                               : fmt::format("oserv instance {}", where_.id),
                       name);
  }
  if (name == "TRANSIENT" || name == "COMM_FAILURE" || name == "OBJECT_NOT_EXIST") {
    if (remote_)
      return fmt::format("no oserv answers at {} ({}); check that it runs, that the host and "
                         "port are right, and that it takes this client's certificate (an "
                         "oserv's audit.log names each TLS handshake it refused)",
                         target_, name);
    return fmt::format("oserv instance {} is not running (no answer on {}: {}). Start it with: "
                       "{}/oserv.rc start",
                       where_.id, target_, name, etcdir_);
  }
  // With --host the oserv is whichever answers there, not the local instance $OSERV names.
  const std::string who =
      remote_ ? fmt::format("the oserv at {}", target_)
              : fmt::format("oserv instance {} on {}", where_.id, target_);
  if (auto* denied = CORBA::NO_PERMISSION::_downcast(&e);
      denied && denied->minor() == kStandbyRefusal) {
    std::string primary = "its primary";
    try {
      OServ::StringList_var lines = dispatcher_->replication_status();
      if (lines->length() > 0) primary = lines[0].in();
    } catch (const CORBA::Exception&) {
    }
    return fmt::format("{} is a standby TMR server ({}). It passes changes and lookups to its "
                       "primary while it hears from it, for callers that can show the primary a "
                       "certificate (TLS clients, and root's tools); run this at the primary "
                       "(--host IP:PORT --cert FILE), or promote this standby if the primary is "
                       "gone",
                       who, primary);
  }
  if (name == "NO_PERMISSION") {
    std::string caller = "a caller it could not name";
    try {
      CORBA::String_var w = dispatcher_->whoami();
      caller = w.in();
    } catch (const CORBA::Exception&) {
    }
    return fmt::format("permission denied by {}: you are {}. The README's access table gives "
                       "the role each operation needs; a super administrator grants roles "
                       "(wsetadmin -r)",
                       who, caller);
  }
  if (name == "TIMEOUT") return fmt::format("{} did not answer within the timeout", who);
  return fmt::format("call to {} failed: CORBA {}", who, name);
}

}  // namespace openoserv
