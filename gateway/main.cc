// oserv-gateway: a gateway process, started, watched and stopped by its managed node's oserv
// (domain/GatewayHost.h); see gateway/Gateway.h for what it does.
//
// It speaks the endpoint protocol on --listen, and TLS-only IIOP on an ephemeral port of the
// same address for its service (idl/gateway.idl), which only the region's dispatchers may call.
// It reaches the Endpoint Manager at --tmr with the node's certificate (--ssl).
//
// Exit codes: 0 stopped, 2 bad command line, 3 cannot listen or start its ORB.
#include <signal.h>
#include <sys/resource.h>

#include <omniORB4/CORBA.h>
#include <omniORB4/internal/giopStrand.h>
#include <omniORB4/internal/giopStream.h>
#include <omniORB4/internal/GIOP_S.h>
#include <omniORB4/omniInterceptors.h>

#include <atomic>
#include <cstring>
#include <future>
#include <mutex>
#include <iostream>
#include <sstream>
#include <thread>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "Failure.h"
#include "Gateway.h"
#include "gateway.hh"
#include "HostPort.h"
#include "Metrics.h"
#include "Numbers.h"
#include "Oid.h"
#include "OrbInit.h"
#include "OrbTls.h"
#include "ProgramVersion.h"
#include "RegionCa.h"
#include "TextFile.h"
#include "Timeouts.h"
#include "WireConvert.h"

namespace po = boost::program_options;
using namespace openoserv;

namespace {

constexpr const char* kUsage =
    "usage: oserv-gateway --label LABEL --oid OID --listen IP:PORT --tmr IP:PORT --ssl DIR\n"
    "                     --dir DIR [--heartbeat SECONDS]\n"
    "\n"
    "A gateway of the endpoint tier. Normally started by its managed node's oserv (wcrtgate,\n"
    "wgateway GW start), which passes these options; run by hand only to debug.\n"
    "Endpoints log in on --listen; the region calls its service (TLS, dispatchers only) on an\n"
    "ephemeral port of the same address. --dir holds its copy of its endpoints (endpoints),\n"
    "its method cache (cache/) and gateway.log. --heartbeat (default 30, or heartbeat= in\n"
    "DIR/gateway.cfg) is the interval endpoints are told to keep.\n"
    "\n"
    "Endpoint sessions are TLS with the node's certificate (--ssl DIR/identity.pem); a plain\n"
    "session is refused unless DIR/gateway.cfg says plain_sessions=accept. The gateway answers\n"
    "endpoints' broadcast discovery on UDP at its port unless gateway.cfg says discovery=off.\n";

std::uint32_t region_of_self = 0;
// The newest epoch of the region this gateway knows (--epoch, follow_tmr): dispatcher 1 of an
// older one is a replaced TMR server (docs/REPLICATION.md).
std::atomic<std::uint64_t> known_epoch{0};

// Only the region's dispatchers may call the service, and dispatcher 1 only of the newest epoch.
CORBA::Boolean check_caller(omni::omniInterceptors::serverReceiveRequest_T::info_T& info) {
  const auto peer = tls::peer_of(peer_certificate(info.giop_s.strand().connection));
  if (!peer || peer->subject.kind != tls::Subject::Kind::kDispatcher ||
      peer->subject.region != region_of_self)
    throw CORBA::NO_PERMISSION(0, CORBA::COMPLETED_NO);
  if (peer->subject.od == 1 && epoch_of(info.giop_s.service_contexts()) < known_epoch.load())
    throw CORBA::NO_PERMISSION(kStaleEpochRefusal, CORBA::COMPLETED_NO);
  return true;
}

class CorbaManager;

class ServiceServant final : public POA_OServGateway::Service {
 public:
  ServiceServant(Gateway& gw, asio::io_context& io, CorbaManager& manager, OservLog& log)
      : gw_(gw), io_(io), manager_(manager), log_(log) {}
  void set_ior(std::string ior) { ior_ = std::move(ior); }

  void follow_tmr(const char* address, CORBA::ULongLong epoch) override;

  OServ::MethodResult* downcall(const char* oid, const char* method,
                                const OServ::StringList& args, const char* digest,
                                CORBA::ULong timeout) override {
    return wait_for(oid, method, timeout, [&](auto reply) {
      gw_.downcall(oid, method, wire::strings(args), digest, std::chrono::seconds(timeout),
                   std::move(reply));
    });
  }

  OServ::MethodResult* downcall_here(const char* oid, const char* method,
                                     const OServ::StringList& args,
                                     CORBA::ULong timeout) override {
    return wait_for(oid, method, timeout, [&](auto reply) {
      gw_.downcall_here(oid, method, wire::strings(args), std::chrono::seconds(timeout),
                        std::move(reply));
    });
  }

  void forget(const char* oid, const char* redirect) override { gw_.forget(oid, redirect); }

  char* session_of(const char* oid) override {
    std::promise<std::string> done;
    auto result = done.get_future();
    asio::post(io_, [&] { done.set_value(gw_.session_of(oid)); });
    return CORBA::string_dup(result.get().c_str());
  }

  OServGateway::Sessions* logged_in() override {
    std::promise<std::vector<SessionInfo>> done;
    auto result = done.get_future();
    asio::post(io_, [&] { done.set_value(gw_.sessions()); });
    auto list = result.get();
    auto out = std::make_unique<OServGateway::Sessions>(static_cast<CORBA::ULong>(list.size()));
    out->length(static_cast<CORBA::ULong>(list.size()));
    for (CORBA::ULong i = 0; i < list.size(); ++i) {
      (*out)[i].oid = list[i].oid.c_str();
      (*out)[i].label = list[i].label.c_str();
      (*out)[i].address = list[i].address.c_str();
      (*out)[i].since = list[i].since.c_str();
      (*out)[i].login_kind = list[i].login_kind.c_str();
    }
    return out.release();
  }

 private:
  // Starts a downcall (`start` gets the reply callback) and waits for the endpoint's answer:
  // the endpoint ends a program past its limit and reports it, so a little longer than that.
  template <typename Start>
  OServ::MethodResult* wait_for(const char* oid, const char* method, CORBA::ULong timeout,
                                Start&& start) {
    auto done = std::make_shared<std::promise<DowncallOutcome>>();
    auto result = done->get_future();
    start([done](DowncallOutcome r) { done->set_value(std::move(r)); });
    const auto wait = std::chrono::seconds(timeout) + timeouts::kProgramGrace + timeouts::kPush;
    if (result.wait_for(wait) != std::future_status::ready)
      throw OServ::Failed(fmt::format("endpoint {} did not answer {} within {} s", oid, method,
                                      std::chrono::duration_cast<std::chrono::seconds>(wait).count())
                              .c_str());
    auto r = result.get();
    if (!r.ok) throw OServ::Failed(r.output.c_str());
    auto out = std::make_unique<OServ::MethodResult>();
    out->exit_code = r.exit_code;
    out->output = r.output.c_str();
    return out.release();
  }

  Gateway& gw_;
  asio::io_context& io_;
  CorbaManager& manager_;
  OservLog& log_;
  std::string ior_;  // set before the servant is activated
};

// The Endpoint Manager over TLS, with the node's certificate.
class CorbaManager final : public ManagerCalls {
 public:
  CorbaManager(CORBA::ORB_ptr orb, const std::string& tmr) : orb_(orb) { move_to(tmr); }
  // The TMR server moved (follow_tmr): calls from now on go to `tmr`.
  void move_to(const std::string& tmr) {
    CORBA::Object_var obj = orb_->string_to_object(corbaloc_url(tmr, "Dispatcher").c_str());
    OServ::Dispatcher_var ref = OServ::Dispatcher::_unchecked_narrow(obj);
    omniORB::setClientCallTimeout(
        ref, static_cast<CORBA::ULong>(timeouts::kEndpointManagerCall.count()));
    std::lock_guard guard(mu_);
    tmr_ = ref._retn();
  }
  std::vector<OServ::EndpointEntry> started(const std::string& label, const std::string& ior,
                                            std::vector<OServ::GatewayEntry>& others) override {
    return call([&] {
      OServ::GatewayEntries_var rest;
      OServ::EndpointEntries_var mine = tmr()->gateway_started(label.c_str(), ior.c_str(), rest);
      others.assign(rest->get_buffer(), rest->get_buffer() + rest->length());
      return std::vector<OServ::EndpointEntry>(mine->get_buffer(),
                                               mine->get_buffer() + mine->length());
    });
  }
  OServ::EndpointGrant login(const std::string& kind, const std::string& label,
                             const std::string& oid, const std::string& key,
                             const std::string& interp, const std::string& address,
                             const std::string& via) override {
    return call([&] {
      OServ::EndpointGrant_var g =
          tmr()->endpoint_login(kind.c_str(), label.c_str(), oid.c_str(), key.c_str(),
                               interp.c_str(), address.c_str(), via.c_str());
      return OServ::EndpointGrant(g.in());
    });
  }
  std::string method_body(const std::string& digest) override {
    return call([&] {
      OServ::Program_var p = tmr()->method_body(digest.c_str());
      return std::string(reinterpret_cast<const char*>(p->get_buffer()), p->length());
    });
  }
  void seen(const std::string& label, const OServ::LoginNotes& notes) override {
    call([&] {
      tmr()->endpoints_seen(label.c_str(), notes);
      return 0;
    });
  }
  std::string upcall(const std::string& oid, std::uint64_t id, const std::string& method,
                     const std::vector<std::string>& args) override {
    return call([&] {
      CORBA::String_var r =
          tmr()->endpoint_upcall(oid.c_str(), id, method.c_str(), wire::strings(args));
      return std::string(r.in());
    });
  }

 private:
  template <typename F>
  auto call(F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const OServ::Failed& e) {
      throw Failure(e.reason.in());
    } catch (const CORBA::Exception& e) {
      throw Failure(fmt::format("the TMR server does not answer ({})", e._name()));
    }
  }
  // The reference to call now (a duplicate: follow_tmr may replace it meanwhile).
  OServ::Dispatcher_var tmr() {
    std::lock_guard guard(mu_);
    return OServ::Dispatcher::_duplicate(tmr_);
  }
  CORBA::ORB_ptr orb_;
  std::mutex mu_;  // guards tmr_
  OServ::Dispatcher_var tmr_;
};

void ServiceServant::follow_tmr(const char* address, CORBA::ULongLong epoch) {
  try {
    parse_host_port(address, 0);
  } catch (const std::exception& e) {
    throw OServ::Failed(fmt::format("follow_tmr {}: {}", address, e.what()).c_str());
  }
  if (epoch < known_epoch.load())
    throw OServ::Failed(fmt::format("epoch {} is older than this gateway's ({})", epoch,
                                    known_epoch.load())
                            .c_str());
  known_epoch = epoch;
  manager_.move_to(address);
  log_.line(fmt::format("the TMR server is at {} now (epoch {}): registering there", address, epoch));
  asio::post(io_, [this] { gw_.register_with_manager(ior_); });
}

// DIR/gateway.cfg (key=value lines, '#' comments), if present, into `o`: heartbeat=SECONDS
// (unless --heartbeat gave it), plain_sessions=refuse|accept, discovery=on|off and
// metrics=IP:PORT (Prometheus metrics served there, docs/OPERATIONS.md). Throws Failure
// naming the line.
void apply_gateway_cfg(GatewayOptions& o, bool heartbeat_given) {
  const std::string path = o.dir + "/gateway.cfg";
  auto text = read_text_file(path);
  if (!text) return;
  std::istringstream in(*text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    const std::string key = line.substr(0, eq), value = eq == std::string::npos ? "" : line.substr(eq + 1);
    if (key == "heartbeat") {
      auto v = parse_number<long>(value);
      if (!v || *v < 1 || *v > 86400)
        throw Failure(fmt::format("{} line {}: heartbeat={} is not a number of seconds (1-86400)",
                                  path, n, value));
      if (!heartbeat_given) o.heartbeat = std::chrono::seconds(*v);
    } else if (key == "plain_sessions" && (value == "accept" || value == "refuse")) {
      o.allow_plain = value == "accept";
    } else if (key == "discovery" && (value == "on" || value == "off")) {
      o.discovery = value == "on";
    } else if (key == "metrics" && !value.empty()) {
      o.metrics = value;
    } else {
      throw Failure(fmt::format("{} line {}: '{}' is not heartbeat=SECONDS, "
                                "plain_sessions=accept|refuse, discovery=on|off or "
                                "metrics=IP:PORT", path, n, line));
    }
  }
}

// The command line into `o`, `tmr`, `ssl` and `heartbeat`; an exit code when the process is
// to end now (--help, --version, a bad command line).
std::optional<int> parse_command_line(int argc, char** argv, GatewayOptions& o, std::string& tmr,
                                      std::string& ssl, long& heartbeat) {
  std::string listen;
  po::options_description desc("options");
  desc.add_options()("help,h", "this text")("version", "the version")(
      "label", po::value(&o.label), "the gateway's label")("oid", po::value(&o.oid),
                                                           "its Gateway object")(
      "listen", po::value(&listen), "IP:PORT endpoints log in to")(
      "tmr", po::value(&tmr), "IP:PORT of the TMR server")(
      "ssl", po::value(&ssl), "the node's DBDIR/ssl (ca.pem, identity.pem)")(
      "dir", po::value(&o.dir), "the gateway's state directory")(
      "heartbeat", po::value(&heartbeat), "seconds between heartbeats")(
      "epoch", po::value<std::uint64_t>()->default_value(0),
      "the region's epoch as the node knows it: dispatcher 1 of an older one is refused");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "oserv-gateway: " << e.what() << "\n" << kUsage;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << kUsage << "\n" << desc;
    return 0;
  }
  if (vm.count("version")) {
    print_version("oserv-gateway");
    return 0;
  }
  Oid oid;
  HostPort where;
  try {
    where = parse_host_port(listen, 0);
  } catch (const std::invalid_argument& e) {
    std::cerr << "oserv-gateway: --listen: " << e.what() << "\n";
    return 2;
  }
  if (o.label.empty() || !Oid::try_parse(o.oid, oid) || where.port == 0 || tmr.empty() ||
      ssl.empty() || o.dir.empty()) {
    std::cerr << "oserv-gateway: --label, --oid, --listen IP:PORT, --tmr, --ssl and --dir are "
                 "all needed\n"
              << kUsage;
    return 2;
  }
  o.listen_host = where.host;
  o.listen_port = where.port;
  region_of_self = oid.region;
  known_epoch = vm["epoch"].as<std::uint64_t>();
  return std::nullopt;
}

// The ORB: TLS with the node's certificate, the service on an ephemeral port of the gateway's
// address, only the region's dispatchers let in. Null (and logged) when it cannot start.
CORBA::ORB_ptr start_orb(const GatewayOptions& o, const std::string& ssl, OservLog& log) {
  try {
    OrbOptions options = tls_options({.ca = ssl + "/ca.pem", .identity = ssl + "/identity.pem"});
    options.push_back({"endPoint", fmt::format("giop:ssl:{}:", o.listen_host)});
    options.push_back({"clientConnectTimeOutPeriod", std::to_string(timeouts::kConnect.count())});
    // omniORB's own trace, to gateway.out, when asked (debugging a start that fails).
    if (const char* trace = std::getenv("OSERV_ORB_TRACE")) options.push_back({"traceLevel", trace});
    CORBA::ORB_ptr orb = init_orb("oserv-gateway", options);
    omniORB::getInterceptors()->serverReceiveRequest.add(check_caller);
    return orb;
  } catch (const std::exception& e) {
    log.line(fmt::format("!cannot start the ORB: {}", e.what()));
  } catch (const CORBA::Exception& e) {
    log.line(fmt::format("!cannot start the ORB: {}", e._name()));
  }
  return CORBA::ORB::_nil();
}

// gateway.cfg metrics=IP:PORT: the gateway counts in `registry`, served there (null: none).
std::unique_ptr<metrics::Server> serve_metrics(const std::string& address, Gateway& gateway,
                                               metrics::Registry& registry, OservLog& log) {
  if (address.empty()) return nullptr;
  gateway.count_metrics(registry);
  auto server = std::make_unique<metrics::Server>(registry, address);
  log.line(fmt::format("metrics at http://{}/metrics", server->address()));
  return server;
}

}  // namespace

int main(int argc, char** argv) {
  GatewayOptions o;
  std::string tmr, ssl;
  long heartbeat = 0;
  if (auto code = parse_command_line(argc, argv, o, tmr, ssl, heartbeat)) return *code;
  OservLog log;
  try {
    make_directories(o.dir, 0700);
    log.open(o.dir + "/gateway.log");
    if (heartbeat > 0) o.heartbeat = std::chrono::seconds(heartbeat);
    apply_gateway_cfg(o, heartbeat > 0);
  } catch (const std::exception& e) {
    std::cerr << "oserv-gateway: " << e.what() << "\n";
    return 2;
  }
  o.identity_file = ssl + "/identity.pem";
  log.set_mirror_stderr(false);

  // Signals are taken by the event loop (asio::signal_set); the ORB's threads never see them.
  // Whatever mask the starter left: SIGTERM and SIGINT reach the event loop, SIGPIPE nobody.
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_SETMASK, &block, nullptr);
  // One descriptor per endpoint session: as many as the hard limit allows.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }

  asio::io_context io;
  asio::signal_set signals(io, SIGTERM, SIGINT);
  CORBA::ORB_var orb = start_orb(o, ssl, log);
  if (CORBA::is_nil(orb)) return 3;
  CorbaManager manager(orb, tmr);
  metrics::Registry registry;  // outlives the gateway, which counts there
  metrics::add_process_metrics(registry);
  Gateway gateway(io, o, manager, log);
  std::unique_ptr<metrics::Server> metrics_server;  // stops before the gateway goes
  try {
    metrics_server = serve_metrics(o.metrics, gateway, registry, log);
    gateway.listen();
  } catch (const std::exception& e) {
    log.line(fmt::format("!{}", e.what()));
    std::cerr << "oserv-gateway: " << e.what() << "\n";
    orb->destroy();
    return 3;
  }
  ServiceServant servant(gateway, io, manager, log);
  CORBA::Object_var obj = orb->resolve_initial_references("omniINSPOA");
  PortableServer::POA_var ins = PortableServer::POA::_narrow(obj);
  PortableServer::ObjectId_var key = PortableServer::string_to_ObjectId("Gateway");
  ins->activate_object_with_id(key, &servant);
  PortableServer::POAManager_var pm = ins->the_POAManager();
  pm->activate();
  CORBA::Object_var ref = ins->id_to_reference(key);
  CORBA::String_var ior = orb->object_to_string(ref);
  servant.set_ior(ior.in());
  try {  // for this node's oserv: its downcalls while the TMR server does not answer
    write_file_atomically(o.dir + "/gateway.ior", std::string(ior.in()) + "\n", 0600);
  } catch (const std::exception& e) {
    log.line(fmt::format("^{}/gateway.ior not written: {}", o.dir, e.what()));
  }
  gateway.register_with_manager(ior.in());
  log.line(fmt::format("gateway {} ({}) ready, pid {}", o.label, o.oid, ::getpid()));

  signals.async_wait([&](const boost::system::error_code&, int sig) {
    log.line(fmt::format("gateway {} stopping (signal {})", o.label, sig));
    gateway.stop([&] { io.stop(); });
  });
  io.run();
  orb->shutdown(true);
  orb->destroy();
  log.line(fmt::format("gateway {} stopped", o.label));
  return 0;
}
