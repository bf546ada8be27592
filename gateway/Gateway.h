// A gateway (seed 4.8.1): serves the endpoints assigned to it, on one event loop.
//
// Endpoints log in over the endpoint protocol (docs/LCF-PROTOCOL.md). A normal login (to the
// assigned gateway) is checked against the gateway's own copy of its endpoints (OID, label,
// SHA-256 of the key), kept in <dir>/endpoints so that it serves them while the TMR server is
// down; initial and isolated logins, and a normal one for an OID the copy lacks, are the
// Endpoint Manager's to decide. The region calls it through its service (idl/gateway.idl):
// downcalls go over the endpoint's session; method programs come from the gateway's cache
// (<dir>/cache/<sha256>), filled from the Endpoint Manager once for all its endpoints.
// Upcalls go to the Endpoint Manager and are acknowledged once recorded there.
//
// Threads: the event loop owns every session, the copy and the cache index; calls to the
// Endpoint Manager (which may wait on a slow or absent TMR server) run on a small pool and post
// their results back; the ORB's threads post their requests in and wait for the answer.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <utility>

#include <boost/asio.hpp>

#include "AcceptRetry.h"
#include "Link.h"
#include "LogLimit.h"
#include "Metrics.h"
#include "SessionTls.h"
#include "OservLog.h"
#include "oserv.hh"

namespace openoserv {

namespace asio = boost::asio;

struct GatewayOptions {
  std::string label;
  std::string oid;
  std::string listen_host;
  std::uint16_t listen_port = 0;
  std::string dir;                        // state: endpoints, cache/, gateway.log
  std::chrono::seconds heartbeat{30};     // told to endpoints at login
  std::chrono::seconds shutdown_grace{2};  // a planned stop waits this long for Redirects to go
  std::string identity_file;              // TLS for endpoint sessions: the node's identity.pem
  bool allow_plain = false;               // gateway.cfg plain_sessions=accept
  bool discovery = true;                  // answer broadcast discovery (gateway.cfg discovery=)
  std::string metrics;                    // gateway.cfg metrics=IP:PORT ("" none)
};

// What the gateway asks of the Endpoint Manager (over CORBA in the process; fakes in tests).
// Each call may block (a TMR server that is down); Failure carries its refusal.
class ManagerCalls {
 public:
  virtual ~ManagerCalls() = default;
  virtual std::vector<OServ::EndpointEntry> started(const std::string& label, const std::string& ior,
                                                    std::vector<OServ::GatewayEntry>& others) = 0;
  virtual OServ::EndpointGrant login(const std::string& kind, const std::string& label,
                                     const std::string& oid, const std::string& key,
                                     const std::string& interp, const std::string& address,
                                     const std::string& via) = 0;
  virtual std::string method_body(const std::string& digest) = 0;
  virtual std::string upcall(const std::string& oid, std::uint64_t id, const std::string& method,
                             const std::vector<std::string>& args) = 0;
  virtual void seen(const std::string& label, const OServ::LoginNotes& notes) = 0;
};

struct DowncallOutcome {
  bool ok = false;
  int exit_code = 0;
  std::string output;  // or, when !ok, why it did not run
};

struct SessionInfo {
  std::string oid, label, address, since, login_kind;
};

class Gateway {
 public:
  Gateway(asio::io_context& io, GatewayOptions options, ManagerCalls& manager, OservLog& log);
  // Counts logins by kind and the sessions logged in, in `registry` (which outlives the gateway),
  // from now on (before listen()).
  void count_metrics(metrics::Registry& registry);
  ~Gateway();

  // Opens the listener (throws naming the address when it cannot) and loads the copy.
  void listen();
  // Reports to the Endpoint Manager in the background, retrying until it answers.
  void register_with_manager(const std::string& ior);
  // A planned stop: every endpoint is sent a Redirect to the other gateways; `done` runs once
  // they are sent (or the grace period passed).
  void stop(std::function<void()> done);

  // From any thread (the ORB's): posted to the loop. `reply` runs on the loop.
  void downcall(const std::string& oid, const std::string& method,
                const std::vector<std::string>& args, const std::string& digest,
                std::chrono::seconds timeout, std::function<void(DowncallOutcome)> reply);
  // For its own dispatcher while the TMR server does not answer: the method as this gateway
  // last sent it (its digest remembered from the Endpoint Manager's downcalls, DIR/cache/methods);
  // ping and status are built in; another method is refused.
  void downcall_here(const std::string& oid, const std::string& method,
                     const std::vector<std::string>& args, std::chrono::seconds timeout,
                     std::function<void(DowncallOutcome)> reply);
  void forget(const std::string& oid, const std::string& redirect);
  std::vector<SessionInfo> sessions();  // loop thread only
  std::string session_of(const std::string& oid);  // loop thread only

 private:
  struct Session;
  struct Known {
    std::string label;
    std::string key_hash;
  };

  void accept();
  void start_session(const std::shared_ptr<Session>& s);
  void answer_discovery();
  // Normal logins are told to the Endpoint Manager afterwards, a batch every few seconds
  // (kept, and told later, while it does not answer).
  void note_seen(const std::string& oid, const std::string& address);
  void tell_seen();
  void on_frame(const std::shared_ptr<Session>& s, lcf::Frame&& frame);
  void on_login(const std::shared_ptr<Session>& s, const Lcf::Login& login);
  void accept_login(const std::shared_ptr<Session>& s, const std::string& oid,
                    const std::string& label, const std::string& kind, const std::string& key,
                    const std::vector<std::string>& alternates,
                    const std::string& login_interfaces = "");
  void refuse_login(const std::shared_ptr<Session>& s, const std::string& why, bool orphan);
  // An accepted login's reply: its identity, its gateway ("host+port"), where else to go.
  Lcf::LoginReply accepted_reply(const std::string& oid, const std::string& key,
                                 const std::string& gateway,
                                 const std::vector<std::string>& alternates,
                                 const std::string& login_interfaces) const;
  void send_elsewhere(const std::shared_ptr<Session>& s, const OServ::EndpointGrant& grant,
                      const std::vector<std::string>& alternates, const std::string& key);
  void on_method_request(const std::shared_ptr<Session>& s, std::uint32_t id,
                         const std::string& digest);
  void on_upcall(const std::shared_ptr<Session>& s, const Lcf::Upcall& upcall);
  // The program `digest` from the cache, else fetched once however many ask meanwhile.
  void program(const std::string& digest, std::function<void(const std::string*)> done);
  void remember(const std::string& oid, Known known);
  // Loop thread: sends the Downcall frame, or replies that the endpoint is not here.
  void send_downcall(const std::string& oid, const std::string& method,
                     const std::vector<std::string>& args, const std::string& digest,
                     std::chrono::seconds timeout, std::function<void(DowncallOutcome)> reply);
  // Loop thread: method name -> the digest of its program, as last sent (DIR/cache/methods).
  void remember_digest(const std::string& method, const std::string& digest);
  void load_digests();
  void save_copy_soon();
  void save_copy();
  void load_copy();
  std::string address() const;  // "host+port"
  template <typename Call, typename Then>
  void ask_manager(Call call, Then then);

  asio::io_context& io_;
  GatewayOptions options_;
  ManagerCalls& manager_;
  OservLog& log_;
  // Sessions refused or ended before a login: whoever reaches the port can make them, so their
  // lines are limited (log_refusal; LogLimit's default: bursts of 200, then 5 a second).
  LogLimit refusals_;
  void log_refusal(const std::string& line);
  asio::ip::tcp::acceptor acceptor_;
  AcceptRetry accept_retry_;
  std::unique_ptr<lcf::ssl::context> tls_;  // made by listen()
  asio::ip::udp::socket discovery_;
  asio::ip::udp::endpoint discovery_peer_;
  std::array<char, lcf::kMaxDatagram + 1> datagram_{};
  asio::thread_pool pool_{4};      // calls to the Endpoint Manager
  asio::steady_timer save_timer_;
  bool save_pending_ = false;
  bool stopping_ = false;
  std::map<std::string, Known> copy_;                      // by OID
  std::map<std::string, std::shared_ptr<Session>> by_oid_; // logged-in sessions
  std::atomic<std::size_t> logged_in_{0};  // by_oid_.size(), for the metrics thread
  metrics::Registry* metrics_ = nullptr;   // set before listen(), if any
  // The series the event loop counts in (null without metrics_).
  struct Counted {
    metrics::Counter* downcalls_ok = nullptr;      // the endpoint answered
    metrics::Counter* downcalls_failed = nullptr;  // not logged in, gone, or no answer
    metrics::Histogram* downcall_took = nullptr;
    metrics::Counter* cache_hits = nullptr;        // method programs served from the cache
    metrics::Counter* fetches_ok = nullptr;        // fetched from the Endpoint Manager
    metrics::Counter* fetches_failed = nullptr;
  } counted_;
  static void count(metrics::Counter* c) {
    if (c) c->add();
  }
  void note_sessions() { logged_in_.store(by_oid_.size(), std::memory_order_relaxed); }
  metrics::Counter& login_counter(const std::string& kind);  // metrics_ set
  void count_login(const std::string& kind);
  // `reply`, counting the downcall's result and time when metrics are on.
  std::function<void(DowncallOutcome)> counted_reply(std::function<void(DowncallOutcome)> reply);
  std::map<std::string, OServ::LoginNote> seen_;             // normal logins not yet told, by OID
  bool telling_seen_ = false;
  asio::steady_timer seen_timer_;
  // Logins since the heap was last trimmed: a login storm's handshakes leave megabytes free in
  // the heap between the sessions that stay, kept by malloc unless trimmed (30 s after a
  // storm's first login, and again after the next one).
  std::size_t logins_since_trim_ = 0;
  asio::steady_timer trim_timer_;
  void note_login_for_trim();
  std::vector<std::string> others_;                        // other gateways, "host+port"
  std::map<std::string, std::vector<std::function<void(const std::string*)>>> fetching_;
  std::set<std::string> seen_upcalls_;                     // "oid/id" sent on and not yet acked
  std::map<std::string, std::string> digests_;             // method -> program digest last sent
  // Handshakes under way. At kMaxHandshakes the gateway stops accepting: a storm's sessions
  // wait in the kernel's listen backlog, where their handshake deadline has not started, rather
  // than all start at once and miss it together.
  static constexpr std::size_t kMaxHandshakes = 128;
  std::size_t handshaking_ = 0;
  bool accept_paused_ = false;
};

}  // namespace openoserv
