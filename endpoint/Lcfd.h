// lcfd, the endpoint daemon (seed 4.8): logs in to a gateway and keeps the session, runs the
// methods the region calls on it, sends its upcalls, and serves a status page. No database: its
// state is files in its directory (lcf.dat, last.cfg, lcfd.log, lcfd.pid, cache/, spool/).
//
// Logins (docs/LCF-PROTOCOL.md): with no lcf.dat, an initial login to the login interfaces
// (-g, lcs.login_interfaces) in turn; with one, a normal login to the assigned gateway, and when
// it does not answer, after a random jitter, isolated logins to the alternates and then the login
// interfaces. With no lcf.dat and no gateway that answered, it broadcasts a discovery datagram
// (unless bcast_disable=1) and tries the gateways that answer. A refusal as an orphan sets lcf.dat aside (lcf.dat.orphan-<time>) and logs in as
// new. When every gateway failed it tries again every login_interval seconds, for ever.
//
// One event loop; method programs run on threads of their own and post their results back.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <utility>

#include <boost/asio.hpp>

#include "AcceptRetry.h"
#include "LcfDat.h"
#include "Link.h"
#include "SessionTls.h"
#include "MethodThreads.h"
#include "OservLog.h"
#include "Programs.h"

namespace openoserv::lcf {

struct LcfdConfig {
  std::string dir;                         // -C
  int log_level = 1;                       // -d, 0-4
  std::vector<GatewayAddress> login_interfaces;  // -g, lcs.login_interfaces
  std::uint16_t gateway_port = 9494;       // -P: for gateways named without a port
  std::uint16_t status_port = 9495;        // -p: the status page (0: none)
  std::string status_address = "0.0.0.0";  // lcs.status_address
  std::string local_ip;                    // local_ip_interface: the address it connects from
  std::string label;                       // -n, lcs.machine_name (default: the host name)
  int udp_interval = 5;                    // seconds: connect/answer wait, and the jitter bound
  int login_interval = 1800;               // seconds between rounds of login attempts
  int method_timeout = 600;                // seconds a method program may run
  std::uint64_t cache_limit = 20u << 20;   // bytes of method cache (least recently used go)
  bool broadcast = true;                   // udp broadcast discovery (bcast_disable=1: off)
  int udp_attempts = 6;                    // broadcasts per round, udp_interval apart
  std::string broadcast_address = "255.255.255.255";  // lcs.broadcast_address
  bool tls = true;                         // lcs.tls: sessions encrypted (docs/LCF-PROTOCOL.md)
  std::string ca_file;                     // lcs.ca_file: the region CA to trust (default
                                           // <dir>/region-ca.pem, when present)

  // -D key=value, as Tivoli names them; false when the key is unknown (the caller reports it).
  // Throws std::invalid_argument for a bad value.
  bool set(const std::string& key, const std::string& value);
  // last.cfg's text: every setting, one "key=value" per line.
  std::string text() const;
};

// last.cfg read back ("key=value" lines; unknown keys and bad values are errors naming the line).
void apply_config_file(LcfdConfig& config, const std::string& text, const std::string& path);

// Spools an upcall (lcfd --upcall): written to <dir>/spool atomically, sent by the running lcfd
// once logged in, resent after a reconnect until its gateway acknowledges it. Returns its id.
std::uint64_t spool_upcall(const std::string& dir, const std::string& method,
                           const std::vector<std::string>& args);

class Lcfd {
 public:
  Lcfd(asio::io_context& io, LcfdConfig config, OservLog& log);
  ~Lcfd();
  void start();
  void stop();

 private:
  struct Candidate {
    GatewayAddress gateway;
    std::string kind;
  };
  void log(int level, const std::string& text);
  void round();
  // One login attempt in progress: its socket (moved into the Link once connected), the timer
  // that bounds it, and what ends it when it fails.
  struct Attempt {
    asio::ip::tcp::socket socket;
    asio::steady_timer timer;
    bool finished = false;  // answered, or failed: nothing more happens to it
    std::string region_ca;  // the fingerprint of the CA the gateway proved itself with
    std::shared_ptr<Link> link;  // once connected
    std::function<void(const std::string&)> fail;
  };
  void attempt(std::size_t i);
  void discover(int attempts_left);
  void collect_answers();
  void try_gateway(std::size_t i);
  void secure(const std::shared_ptr<Attempt>& attempt, const Candidate& c);
  void start_login(const std::shared_ptr<Attempt>& attempt, const Candidate& c,
                   const std::shared_ptr<Link>& link);
  std::string trusted_ca();
  void logged_in(const std::shared_ptr<Attempt>& attempt, const Lcf::LoginReply& reply,
                 const Candidate& c);
  void session_ended(const std::string& why);
  bool set_interfaces(const std::string& text, std::string& result);
  void on_frame(const std::shared_ptr<Link>& link, Frame&& frame);
  void on_downcall(const std::shared_ptr<Link>& link, std::uint32_t id, const Lcf::Downcall& d);
  void run_program(const std::shared_ptr<Link>& link, std::uint32_t id, const std::string& path,
                   const Lcf::Downcall& d);
  void reply(const std::shared_ptr<Link>& link, std::uint32_t id, int code, const std::string& out);
  void store_program(const std::string& digest, const std::string& body);
  void trim_cache();
  void send_upcalls();
  void serve_status();
  void accept_status();
  void answer_status(asio::ip::tcp::socket s);
  std::string status_text();
  std::optional<LcfDat> load_dat();

  asio::io_context& io_;
  LcfdConfig config_;
  OservLog& log_;
  MethodThreads threads_;
  Programs programs_;
  std::unique_ptr<ssl::context> tls_;
  // Offered at the next handshake with the gateway that issued it (after its restart, say): a
  // resumption instead of a full handshake.
  Link::LastTicket ticket_;
  std::mt19937 random_{std::random_device{}()};
  asio::steady_timer retry_timer_;
  asio::steady_timer upcall_timer_;
  asio::ip::udp::socket udp_;              // broadcast discovery, while it runs
  asio::ip::udp::endpoint udp_peer_;
  std::array<char, kMaxDatagram + 1> datagram_{};
  bool broadcast_tried_ = false;           // this round
  std::unique_ptr<asio::ip::tcp::acceptor> status_;
  std::unique_ptr<AcceptRetry> status_retry_;  // made with status_
  // Status page connections open, shared with each connection (which may outlive this object
  // in the io_context's queue).
  std::shared_ptr<unsigned> status_open_ = std::make_shared<unsigned>(0);
  static constexpr unsigned kStatusConnections = 8;
  static constexpr std::chrono::seconds kStatusDeadline{5};
  std::vector<Candidate> candidates_;
  std::vector<GatewayAddress> redirect_;   // from a Redirect: where to log in next
  std::shared_ptr<Link> link_;             // the live session
  std::string state_ = "starting";
  std::optional<LcfDat> dat_;
  // Method bodies asked for: request id -> (digest, what to do with the program's path).
  struct Fetch {
    std::string digest;
    std::uint32_t downcall_id;
    Lcf::Downcall downcall;
  };
  std::map<std::uint32_t, Fetch> fetches_;
  std::optional<std::uint64_t> upcall_in_flight_;
  std::chrono::steady_clock::time_point upcall_sent_;
  bool stopping_ = false;
};

}  // namespace openoserv::lcf
