// lcfd's logins, session, methods, upcalls and status page.
#include "Lcfd.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "Numbers.h"
#include "RegionCa.h"
#include "TextFile.h"
#include "UniqueFd.h"

namespace openoserv::lcf {

namespace fs = std::filesystem;

namespace {

int number(const std::string& key, const std::string& value, int min, int max) {
  auto v = parse_number<long>(value);
  if (!v || *v < min || *v > max)
    throw std::invalid_argument(
        fmt::format("{}={} is not a number from {} to {}", key, value, min, max));
  return static_cast<int>(*v);
}

std::string address(const std::string& key, const std::string& value) {
  boost::system::error_code ec;
  asio::ip::make_address_v4(value, ec);
  if (ec) throw std::invalid_argument(fmt::format("{}={} is not an IPv4 address", key, value));
  return value;
}

bool on_off(const std::string& key, const std::string& value) {
  if (value == "on" || value == "1" || value == "yes") return true;
  if (value == "off" || value == "0" || value == "no") return false;
  throw std::invalid_argument(fmt::format("{}={} is not on or off", key, value));
}

}  // namespace

bool LcfdConfig::set(const std::string& key, const std::string& value) {
  if (key == "lcs.login_interfaces") login_interfaces = parse_gateways(value, gateway_port);
  else if (key == "lcs.machine_name") label = value;
  else if (key == "lcs.status_address") status_address = value;
  else if (key == "local_ip_interface") local_ip = value.empty() ? value : address(key, value);
  else if (key == "lcs.gateway_port") gateway_port = static_cast<std::uint16_t>(number(key, value, 1, 65535));
  else if (key == "lcfd_port") status_port = static_cast<std::uint16_t>(number(key, value, 0, 65535));
  else if (key == "log_threshold") log_level = number(key, value, 0, 4);
  else if (key == "udp_interval") udp_interval = number(key, value, 1, 3600);
  else if (key == "udp_attempts") udp_attempts = number(key, value, 1, 100);
  else if (key == "bcast_disable") broadcast = number(key, value, 0, 1) == 0;
  else if (key == "lcs.broadcast_address") broadcast_address = address(key, value);
  else if (key == "login_interval") login_interval = number(key, value, 1, 86400);
  else if (key == "lcs.method_timeout") method_timeout = number(key, value, 1, 86400);
  else if (key == "lcs.cache_limit") cache_limit = static_cast<std::uint64_t>(number(key, value, 0, 1 << 30));
  else if (key == "lcs.broadcast") broadcast = number(key, value, 0, 1) == 1;  // bcast_disable's inverse
  else if (key == "lcs.tls") tls = on_off(key, value);
  else if (key == "lcs.ca_file") ca_file = value;
  else return false;
  return true;
}

std::string LcfdConfig::text() const {
  return fmt::format(
      "lcs.login_interfaces={}\nlcs.machine_name={}\nlcs.status_address={}\nlcs.gateway_port={}\n"
      "lcfd_port={}\nlog_threshold={}\nudp_interval={}\nlogin_interval={}\nlcs.method_timeout={}\n"
      "lcs.cache_limit={}\nbcast_disable={}\nudp_attempts={}\nlcs.broadcast_address={}\n"
      "lcs.tls={}\nlcs.ca_file={}\nlocal_ip_interface={}\n",
      gateways_text(login_interfaces), label, status_address, gateway_port, status_port, log_level,
      udp_interval, login_interval, method_timeout, cache_limit, broadcast ? 0 : 1, udp_attempts,
      broadcast_address, tls ? "on" : "off", ca_file, local_ip);
}

void apply_config_file(LcfdConfig& config, const std::string& text, const std::string& path) {
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos)
      throw std::invalid_argument(fmt::format("{} line {}: '{}' is not key=value", path, n, line));
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (value.empty()) continue;
    try {
      if (!config.set(key, value))
        throw std::invalid_argument(fmt::format("unknown setting {}", key));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("{} line {}: {}", path, n, e.what()));
    }
  }
}

std::uint64_t spool_upcall(const std::string& dir, const std::string& method,
                           const std::vector<std::string>& args) {
  const std::string spool = dir + "/spool";
  make_directories(spool, 0700);
  UniqueFd lock(::open((spool + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock || ::flock(lock.get(), LOCK_EX) != 0)
    throw std::runtime_error(fmt::format("{}/.lock: {}", spool, std::strerror(errno)));
  const auto last = read_text_file(spool + "/.next");
  std::uint64_t id = 1;
  if (last) {
    auto v = parse_number<std::uint64_t>(std::string_view(*last).substr(0, last->find('\n')));
    if (!v) throw std::runtime_error(fmt::format("{}/.next is damaged", spool));
    id = *v;
  }
  Lcf::Upcall u;
  u.id = id;
  u.method = method.c_str();
  u.args.length(static_cast<CORBA::ULong>(args.size()));
  for (CORBA::ULong i = 0; i < args.size(); ++i) u.args[i] = args[i].c_str();
  write_file_atomically(fmt::format("{}/{:020}.up", spool, id), encode(Type::kUpcall, 0, u), 0600);
  write_file_atomically(spool + "/.next", std::to_string(id + 1) + "\n", 0600);
  return id;
}

Lcfd::Lcfd(asio::io_context& io, LcfdConfig config, OservLog& log)
    : io_(io),
      config_(std::move(config)),
      log_(log),
      programs_(config_.dir + "/programs", std::chrono::seconds(config_.method_timeout),
                std::chrono::seconds(5)),
      tls_(endpoint_tls_context()),
      retry_timer_(io),
      upcall_timer_(io),
      udp_(io) {
  if (config_.ca_file.empty()) config_.ca_file = config_.dir + "/region-ca.pem";
}

Lcfd::~Lcfd() { programs_.stop_all(); }

void Lcfd::log(int level, const std::string& text) {
  if (level <= config_.log_level) log_.line(fmt::format("{} {}", level, text));
}

void Lcfd::start() {
  for (const auto& line : programs_.end_leftovers()) log(1, line);
  make_directories(config_.dir + "/cache", 0700);
  serve_status();
  round();
  upcall_timer_.expires_after(std::chrono::seconds(1));
  std::function<void(const boost::system::error_code&)> tick;
  auto again = std::make_shared<std::function<void(const boost::system::error_code&)>>();
  *again = [this, again](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    send_upcalls();
    upcall_timer_.expires_after(std::chrono::seconds(1));
    upcall_timer_.async_wait(*again);
  };
  upcall_timer_.async_wait(*again);
}

void Lcfd::stop() {
  stopping_ = true;
  retry_timer_.cancel();
  boost::system::error_code ignored;
  udp_.close(ignored);
  upcall_timer_.cancel();
  if (status_) {
    boost::system::error_code ec;
    status_->close(ec);
    if (status_retry_) status_retry_->cancel();  // none if listening failed
  }
  if (link_) link_->close("lcfd stops");
  programs_.stop_all();
}

std::optional<LcfDat> Lcfd::load_dat() {
  const std::string path = config_.dir + "/lcf.dat";
  try {
    return load_lcf_dat(path);
  } catch (const LcfDatError& e) {
    log(0, fmt::format("{}; trying {}.bak", e.what(), path));
    try {
      if (auto bak = load_lcf_dat(path + ".bak")) return bak;
    } catch (const LcfDatError& e2) {
      log(0, e2.what());
    }
    const std::string aside = fmt::format("{}.damaged-{}", path, ::time(nullptr));
    ::rename(path.c_str(), aside.c_str());
    log(0, fmt::format("{} set aside as {}; logging in as a new endpoint", path, aside));
    return std::nullopt;
  }
}

void Lcfd::round() {
  if (stopping_) return;
  dat_ = load_dat();
  candidates_.clear();
  auto add = [&](const GatewayAddress& g, const char* kind) {
    for (const auto& c : candidates_)
      if (c.gateway == g) return;
    candidates_.push_back({g, kind});
  };
  if (!redirect_.empty()) {
    for (const auto& g : redirect_) add(g, dat_ ? "isolated" : "initial");
    redirect_.clear();
  }
  if (dat_) {
    add(dat_->gateway, "normal");
    for (const auto& g : dat_->alternates) add(g, "isolated");
    for (const auto& g : config_.login_interfaces) add(g, "isolated");
    for (const auto& g : dat_->login_interfaces) add(g, "isolated");
  } else {
    for (const auto& g : config_.login_interfaces) add(g, "initial");
  }
  broadcast_tried_ = false;
  if (candidates_.empty() && !config_.broadcast) {
    log(0, "no gateway to log in to: give one with -g or -D lcs.login_interfaces=GW[+PORT], "
           "or let it broadcast (bcast_disable=0)");
    state_ = "no gateway configured";
    return;
  }
  attempt(0);
}

void Lcfd::attempt(std::size_t i) {
  if (stopping_) return;
  if (i >= candidates_.size() && !dat_ && config_.broadcast && !broadcast_tried_) {
    broadcast_tried_ = true;
    discover(config_.udp_attempts);
    return;
  }
  if (i >= candidates_.size()) {
    state_ = fmt::format("no gateway answered; next try in {} s", config_.login_interval);
    log(1, fmt::format("no gateway accepted a login; trying again in {} s", config_.login_interval));
    retry_timer_.expires_after(std::chrono::seconds(config_.login_interval));
    retry_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) round();
    });
    return;
  }
  // Away from the assigned gateway: a random jitter first, so that the endpoints of a dead
  // gateway do not all arrive at its alternates at once.
  if (i > 0 && candidates_[i - 1].kind == "normal") {
    std::uniform_int_distribution<int> ms(0, config_.udp_interval * 1000 / 5);
    retry_timer_.expires_after(std::chrono::milliseconds(ms(random_)));
    retry_timer_.async_wait([this, i](const boost::system::error_code& ec) {
      if (!ec) try_gateway(i);
    });
    return;
  }
  try_gateway(i);
}

// Broadcast discovery: a datagram to lcs.broadcast_address at the gateway port, answers
// collected for udp_interval; the gateways that answered become this round's candidates, tried
// in the order they answered. No answer: again, up to udp_attempts times, then the next round.
void Lcfd::discover(int attempts_left) {
  boost::system::error_code ec;
  if (!udp_.is_open()) {
    udp_.open(asio::ip::udp::v4(), ec);
    if (!ec) udp_.set_option(asio::socket_base::broadcast(true), ec);
    if (ec) {
      log(0, fmt::format("broadcast discovery: {}", ec.message()));
      udp_.close(ec);
      return attempt(candidates_.size());
    }
    candidates_.clear();
    collect_answers();
  }
  const std::string request = discovery_request(dat_ ? dat_->label : config_.label);
  const asio::ip::udp::endpoint to(asio::ip::make_address_v4(config_.broadcast_address),
                                   config_.gateway_port);
  udp_.send_to(asio::buffer(request), to, 0, ec);
  state_ = fmt::format("broadcasting for a gateway ({}:{})", config_.broadcast_address,
                       config_.gateway_port);
  log(ec ? 0 : 2, fmt::format("broadcast discovery to {}:{}: {}", config_.broadcast_address,
                              config_.gateway_port, ec ? ec.message() : "sent"));
  retry_timer_.expires_after(std::chrono::seconds(config_.udp_interval));
  retry_timer_.async_wait([this, attempts_left](const boost::system::error_code& ec) {
    if (ec) return;
    if (candidates_.empty() && attempts_left > 1) return discover(attempts_left - 1);
    boost::system::error_code ignored;
    udp_.close(ignored);
    if (candidates_.empty()) log(1, "no gateway answered the broadcast");
    attempt(0);
  });
}

void Lcfd::collect_answers() {
  udp_.async_receive_from(
      asio::buffer(datagram_), udp_peer_, [this](const boost::system::error_code& ec, std::size_t n) {
        if (ec == asio::error::operation_aborted || !udp_.is_open()) return;
        if (!ec) {
          if (auto a = parse_discovery_answer(std::string_view(datagram_.data(), n))) {
            const GatewayAddress g{a->host == "*" ? udp_peer_.address().to_string() : a->host, a->port};
            if (std::none_of(candidates_.begin(), candidates_.end(),
                             [&](const Candidate& c) { return c.gateway == g; })) {
              log(1, fmt::format("gateway {} ({}) answered the broadcast", a->label, g.text()));
              candidates_.push_back({g, "initial"});
            }
          }
        }
        collect_answers();
      });
}

// One login attempt at candidate i: resolve, connect, then start_login; any failure or
// timeout moves on to candidate i + 1.
void Lcfd::try_gateway(std::size_t i) {
  const Candidate c = candidates_[i];
  state_ = fmt::format("{} login to {}", c.kind, c.gateway.text());
  log(2, fmt::format("trying a {} login to gateway {}", c.kind, c.gateway.text()));
  auto t = std::make_shared<Attempt>(Attempt{
      .socket = asio::ip::tcp::socket(io_),
      .timer = asio::steady_timer(io_, std::chrono::seconds(config_.udp_interval)),
      .finished = false,
      .fail = nullptr});
  std::weak_ptr<Attempt> weak = t;
  t->fail = [this, i, c, weak](const std::string& why) {
    auto t = weak.lock();
    if (!t || t->finished) return;
    t->finished = true;
    boost::system::error_code ec;
    t->socket.close(ec);
    if (t->link) t->link->close(why);
    log(1, fmt::format("gateway {}: {}", c.gateway.text(), why));
    attempt(i + 1);
  };
  t->timer.async_wait([t](const boost::system::error_code& ec) {
    if (!ec) t->fail("no answer in time");
  });
  auto resolver = std::make_shared<asio::ip::tcp::resolver>(io_);
  resolver->async_resolve(
      c.gateway.host, std::to_string(c.gateway.port),
      [this, t, resolver, c](const boost::system::error_code& ec,
                             asio::ip::tcp::resolver::results_type r) {
        if (t->finished) return;
        if (ec) return t->fail(fmt::format("cannot resolve: {}", ec.message()));
        auto connected = [this, t, c](const boost::system::error_code& ec) {
          if (t->finished) return;
          if (ec) return t->fail(fmt::format("connect: {}", ec.message()));
          secure(t, c);
        };
        if (config_.local_ip.empty())
          return asio::async_connect(t->socket, r, [connected](const auto& ec, auto) { connected(ec); });
        // From the endpoint's own (service) address, which moves with it (seed 4.8): one
        // bound socket, to the first IPv4 address the name has (a range connect would reopen it).
        boost::system::error_code bind_ec;
        t->socket.open(asio::ip::tcp::v4(), bind_ec);
        if (!bind_ec) t->socket.bind({asio::ip::make_address_v4(config_.local_ip), 0}, bind_ec);
        if (bind_ec)
          return t->fail(fmt::format("cannot use local_ip_interface {}: {}", config_.local_ip,
                                     bind_ec.message()));
        for (const auto& entry : r)
          if (entry.endpoint().address().is_v4())
            return t->socket.async_connect(entry.endpoint(), connected);
        t->fail("the gateway's name has no IPv4 address");
      });
}

// The fingerprint of the region CA to trust: lcf.dat's, else the CA file's (empty: none yet).
std::string Lcfd::trusted_ca() {
  if (dat_ && !dat_->region_ca.empty()) return dat_->region_ca;
  auto pem = read_text_file(config_.ca_file);
  if (!pem) return "";
  try {
    return tls::fingerprint_of(*pem);
  } catch (const std::exception& e) {
    log(0, fmt::format("{}: not a certificate ({}); trusting no CA file", config_.ca_file, e.what()));
    return "";
  }
}

// Connected: TLS (unless lcs.tls=off), the gateway's certificate checked before anything is sent.
void Lcfd::secure(const std::shared_ptr<Attempt>& t, const Candidate& c) {
  auto link = t->link = std::make_shared<Link>(std::move(t->socket));
  if (!config_.tls) return start_login(t, c, link);
  const std::string gateway = c.gateway.text();
  link->tls_client(*tls_, std::chrono::seconds(config_.udp_interval),
                   [this, t, c, link](const std::string& error) {
                     if (t->finished) return;
                     if (!error.empty()) return t->fail(error);
                     const std::string trusted = trusted_ca();
                     try {
                       t->region_ca = check_gateway_chain(link->peer_chain(), trusted);
                     } catch (const std::exception& e) {
                       link->close("untrusted");
                       return t->fail(e.what());
                     }
                     if (trusted.empty())
                       log(0, fmt::format("trusting region CA {} on first use (from gateway {})",
                                          t->region_ca, c.gateway.text()));
                     start_login(t, c, link);
                   },
                   ticket_.for_gateway(gateway), ticket_.keeper(gateway));
}

// Sends the Login and waits for the LoginReply; the session's frames after it go to on_frame.
void Lcfd::start_login(const std::shared_ptr<Attempt>& t, const Candidate& c,
                       const std::shared_ptr<Link>& link) {
  // The answer may wait on the Endpoint Manager: allow it its time.
  t->timer.expires_after(std::chrono::seconds(config_.udp_interval) + std::chrono::seconds(30));
  t->timer.async_wait([t](const boost::system::error_code& ec) {
    if (!ec) t->fail("no answer to the login in time");
  });
  Lcf::Login l;
  l.protocol = kVersion;
  l.kind = c.kind.c_str();
  l.label = (dat_ ? dat_->label : config_.label).c_str();
  l.oid = (dat_ && c.kind != "initial" ? dat_->oid : std::string()).c_str();
  l.key = (dat_ && c.kind != "initial" ? dat_->key : std::string()).c_str();
  l.interp = "linux-x86_64";
  l.address = "";
  l.port = config_.status_port;
  link->start(
      [this, link, t, c](Frame&& f) {
        if (t->finished) return on_frame(link, std::move(f));
        if (f.type != Type::kLoginReply) {
          link->close("the gateway sent something before its LoginReply");
          return;
        }
        t->finished = true;
        t->timer.cancel();
        Lcf::LoginReply r;
        try {
          r = decode<Lcf::LoginReply>(f);
        } catch (const ProtocolError& e) {
          link->close(e.what());
          return;
        }
        logged_in(t, r, c);
      },
      [this, t, link](const std::string& why) {
        if (!t->finished) return t->fail(why);
        if (link == link_) session_ended(why);
      });
  link->send(Type::kLogin, 0, l);
}

void Lcfd::logged_in(const std::shared_ptr<Attempt>& t, const Lcf::LoginReply& r,
                     const Candidate& c) {
  const std::shared_ptr<Link> link = t->link;
  if (!r.accepted) {
    const std::string why = r.reason.in();
    log(0, fmt::format("gateway {} refused the {} login: {}", c.gateway.text(), c.kind, why));
    link->close("refused");
    if (r.orphan) {
      const std::string path = config_.dir + "/lcf.dat";
      const std::string aside = fmt::format("{}.orphan-{}", path, ::time(nullptr));
      ::rename(path.c_str(), aside.c_str());
      ::unlink((path + ".bak").c_str());  // the same unknown identity
      log(0, fmt::format("the Endpoint Manager does not know this endpoint: {} set aside as {}; "
                         "logging in as a new endpoint",
                         path, aside));
      if (config_.login_interfaces.empty() && dat_) config_.login_interfaces.push_back(dat_->gateway);
      asio::post(io_, [this] { round(); });
      return;
    }
    // Try the next gateway.
    for (std::size_t i = 0; i < candidates_.size(); ++i)
      if (candidates_[i].gateway == c.gateway) {
        asio::post(io_, [this, i] { attempt(i + 1); });
        return;
      }
    return;
  }
  LcfDat dat;
  dat.label = dat_ ? dat_->label : config_.label;
  dat.oid = r.oid.in();
  dat.key = std::string(r.key.in()).empty() && dat_ ? dat_->key : std::string(r.key.in());
  try {
    auto gws = parse_gateways(r.gateway.in(), config_.gateway_port);
    dat.gateway = gws.empty() ? c.gateway : gws.front();
    for (CORBA::ULong i = 0; i < r.alternates.length(); ++i)
      for (auto& g : parse_gateways(r.alternates[i].in(), config_.gateway_port))
        dat.alternates.push_back(g);
  } catch (const std::invalid_argument& e) {
    link->close(fmt::format("the LoginReply names a bad gateway: {}", e.what()));
    return;
  }
  if (const std::string set = r.login_interfaces.in(); !set.empty()) {
    try {
      config_.login_interfaces = parse_gateways(set, config_.gateway_port);
      log(1, fmt::format("login interfaces from the Endpoint Manager: {}", set));
    } catch (const std::invalid_argument& e) {
      log(0, fmt::format("the LoginReply's login interfaces are not a list: {}", e.what()));
    }
  }
  dat.login_interfaces = config_.login_interfaces;
  dat.last_login = ::time(nullptr);
  dat.region_ca = t->region_ca.empty() && dat_ ? dat_->region_ca : t->region_ca;
  try {
    save_lcf_dat(config_.dir + "/lcf.dat", dat);
  } catch (const std::exception& e) {
    log(0, fmt::format("lcf.dat not saved: {}", e.what()));
  }
  dat_ = dat;
  link_ = link;
  link->set_heartbeat(std::chrono::seconds(std::max<CORBA::ULong>(r.heartbeat, 1)));
  state_ = fmt::format("logged in to gateway {} ({} login)", dat.gateway.text(), c.kind);
  log(1, fmt::format("{} login to gateway {} accepted: endpoint {} ({})", c.kind,
                     dat.gateway.text(), dat.label, dat.oid));
  upcall_in_flight_.reset();
  send_upcalls();
}

// An administrator's login interfaces (wep set interfaces): used from the next login on, and
// kept in lcf.dat. False, with why, for a list that is not one.
bool Lcfd::set_interfaces(const std::string& text, std::string& result) {
  std::vector<GatewayAddress> list;
  try {
    list = parse_gateways(text, config_.gateway_port);
  } catch (const std::invalid_argument& e) {
    result = fmt::format("not a list of gateways: {}\n", e.what());
    return false;
  }
  config_.login_interfaces = list;
  if (dat_) {
    dat_->login_interfaces = list;
    try {
      save_lcf_dat(config_.dir + "/lcf.dat", *dat_);
    } catch (const std::exception& e) {
      result = fmt::format("login interfaces set, but lcf.dat was not saved: {}\n", e.what());
      log(0, result);
      return false;
    }
  }
  result = fmt::format("login interfaces: {}\n", gateways_text(list));
  log(1, result.substr(0, result.size() - 1));
  return true;
}

void Lcfd::session_ended(const std::string& why) {
  link_.reset();
  fetches_.clear();
  upcall_in_flight_.reset();
  if (stopping_) return;
  state_ = fmt::format("session ended ({}); logging in again", why);
  log(1, fmt::format("session with the gateway ended: {}", why));
  asio::post(io_, [this] { round(); });
}

void Lcfd::on_frame(const std::shared_ptr<Link>& link, Frame&& f) {
  try {
    switch (f.type) {
      case Type::kDowncall:
        on_downcall(link, f.id, decode<Lcf::Downcall>(f));
        return;
      case Type::kMethodBody: {
        auto m = decode<Lcf::MethodBody>(f);
        auto it = fetches_.find(f.id);
        if (it == fetches_.end()) return;
        Fetch fetch = std::move(it->second);
        fetches_.erase(it);
        const std::string body(reinterpret_cast<const char*>(m.program.get_buffer()),
                               m.program.length());
        if (body.empty() || tls::sha256_hex(body) != fetch.digest) {
          reply(link, fetch.downcall_id, 127,
                fmt::format("method program {} could not be downloaded from the gateway",
                            fetch.digest));
          return;
        }
        store_program(fetch.digest, body);
        run_program(link, fetch.downcall_id, config_.dir + "/cache/" + fetch.digest,
                    fetch.downcall);
        return;
      }
      case Type::kUpcallAck: {
        auto a = decode<Lcf::UpcallAck>(f);
        if (upcall_in_flight_ && *upcall_in_flight_ == a.id) {
          ::unlink(fmt::format("{}/spool/{:020}.up", config_.dir, a.id).c_str());
          upcall_in_flight_.reset();
          log(2, fmt::format("upcall {} acknowledged", a.id));
          send_upcalls();
        }
        return;
      }
      case Type::kRedirect: {
        auto r = decode<Lcf::Redirect>(f);
        redirect_.clear();
        for (CORBA::ULong i = 0; i < r.gateways.length(); ++i)
          for (auto& g : parse_gateways(r.gateways[i].in(), config_.gateway_port))
            redirect_.push_back(g);
        log(1, fmt::format("redirected by the gateway: {}", r.reason.in()));
        return;
      }
      default:
        throw ProtocolError(fmt::format("{} is not a frame a gateway sends after the login",
                                        type_name(static_cast<std::uint8_t>(f.type))));
    }
  } catch (const std::invalid_argument& e) {
    link->close(fmt::format("protocol error: {}", e.what()));
  } catch (const ProtocolError& e) {
    link->close(fmt::format("protocol error: {}", e.what()));
  }
}

void Lcfd::reply(const std::shared_ptr<Link>& link, std::uint32_t id, int code,
                 const std::string& out) {
  Lcf::DowncallResult r;
  r.exit_code = code;
  r.output = out.c_str();
  link->send(Type::kDowncallResult, id, r);
}

void Lcfd::on_downcall(const std::shared_ptr<Link>& link, std::uint32_t id, const Lcf::Downcall& d) {
  const std::string method = d.method.in(), digest = d.digest.in();
  log(2, fmt::format("downcall {} {}", method, digest.empty() ? "(built in)" : digest));
  if (digest.empty()) {
    if (method == "ping") return reply(link, id, 0, "alive\n");
    if (method == "status") return reply(link, id, 0, status_text());
    if (method == "set_interfaces" && d.args.length() == 1) {
      std::string why;
      if (set_interfaces(d.args[0].in(), why)) return reply(link, id, 0, why);
      return reply(link, id, 1, why);
    }
    return reply(link, id, 127, fmt::format("lcfd has no built-in method {}", method));
  }
  if (!tls::is_sha256_hex(digest))
    return reply(link, id, 127, "the downcall names no valid program digest");
  const std::string path = config_.dir + "/cache/" + digest;
  if (::access(path.c_str(), X_OK) == 0) {
    ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // most recently used
    log(3, fmt::format("method {} from the cache", digest));
    return run_program(link, id, path, d);
  }
  const std::uint32_t fetch_id = link->next_id();
  fetches_[fetch_id] = {digest, id, d};
  Lcf::MethodRequest m;
  m.digest = digest.c_str();
  link->send(Type::kMethodRequest, fetch_id, m);
}

void Lcfd::store_program(const std::string& digest, const std::string& body) {
  const std::string path = config_.dir + "/cache/" + digest;
  write_file_atomically(path, body, 0700);
  log(2, fmt::format("method {} downloaded ({} bytes)", digest, body.size()));
  trim_cache();
}

void Lcfd::trim_cache() {
  struct Entry {
    fs::path path;
    fs::file_time_type used;
    std::uintmax_t size;
  };
  std::vector<Entry> entries;
  std::uintmax_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(config_.dir + "/cache", ec)) {
    if (!e.is_regular_file(ec)) continue;
    entries.push_back({e.path(), e.last_write_time(ec), e.file_size(ec)});
    total += entries.back().size;
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.used < b.used; });
  for (const auto& e : entries) {
    if (total <= config_.cache_limit || entries.size() <= 1) break;
    fs::remove(e.path, ec);
    total -= e.size;
    log(2, fmt::format("method {} dropped from the cache (lcs.cache_limit {})",
                       e.path.filename().string(), config_.cache_limit));
  }
}

void Lcfd::run_program(const std::shared_ptr<Link>& link, std::uint32_t id,
                       const std::string& path, const Lcf::Downcall& d) {
  std::vector<std::string> argv = {path, d.oid.in(), d.method.in()};
  for (CORBA::ULong i = 0; i < d.args.length(); ++i) argv.push_back(d.args[i].in());
  std::vector<std::string> env = {"LCF_DATDIR=" + config_.dir,
                                  "LCF_ENDPOINT=" + (dat_ ? dat_->label : config_.label),
                                  fmt::format("LCF_OID={}", d.oid.in())};
  std::weak_ptr<Link> weak = link;
  std::thread([this, argv = std::move(argv), env = std::move(env), weak, id, method = std::string(d.method.in())] {
    int code = 0;
    std::string out;
    try {
      MethodThreads::Scope scope(threads_, argv[1], method, "run");
      auto r = programs_.run(argv, env, scope);
      code = r.exit_code;
      out = std::move(r.output);
    } catch (const std::exception& e) {
      code = 127;
      out = e.what();
    }
    asio::post(io_, [this, weak, id, code, out = std::move(out)] {
      if (auto link = weak.lock(); link && link->is_open()) reply(link, id, code, out);
    });
  }).detach();
}

void Lcfd::send_upcalls() {
  if (!link_ || !link_->is_open()) return;
  const auto now = std::chrono::steady_clock::now();
  // Unanswered (its gateway could not reach the Endpoint Manager): sent again after a while.
  if (upcall_in_flight_ && now - upcall_sent_ < std::chrono::seconds(10)) return;
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(config_.dir + "/spool", ec))
    if (e.path().extension() == ".up") names.push_back(e.path().filename().string());
  if (names.empty()) return;
  std::sort(names.begin(), names.end());
  const std::string path = config_.dir + "/spool/" + names.front();
  auto bytes = read_text_file(path);
  if (!bytes) return;
  FrameReader reader;
  reader.feed(*bytes);
  try {
    auto frame = reader.next();
    if (!frame || frame->type != Type::kUpcall) throw ProtocolError("not one Upcall frame");
    auto u = decode<Lcf::Upcall>(*frame);
    upcall_in_flight_ = u.id;
    upcall_sent_ = now;
    link_->send(*bytes);
    log(2, fmt::format("upcall {} {} sent", u.id, u.method.in()));
  } catch (const ProtocolError& e) {
    const std::string aside = path + ".damaged";
    ::rename(path.c_str(), aside.c_str());
    log(0, fmt::format("{} is damaged ({}); set aside as {}", path, e.what(), aside));
  }
}

std::string Lcfd::status_text() {
  std::string text = fmt::format("lcfd {}\nlabel: {}\nstate: {}\n", config_.dir,
                                 dat_ ? dat_->label : config_.label, state_);
  if (dat_)
    text += fmt::format("oid: {}\ngateway: {}\nalternates: {}\nlast login: {}\n", dat_->oid,
                        dat_->gateway.text(), gateways_text(dat_->alternates), dat_->last_login);
  return text;
}

void Lcfd::serve_status() {
  if (config_.status_port == 0) return;
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(config_.status_address, ec);
  if (ec) throw std::invalid_argument(fmt::format("lcs.status_address={} is not an IP address",
                                                  config_.status_address));
  asio::ip::tcp::endpoint where(ip, config_.status_port);
  status_ = std::make_unique<asio::ip::tcp::acceptor>(io_);
  status_->open(where.protocol());
  status_->set_option(asio::socket_base::reuse_address(true));
  status_->bind(where, ec);
  if (ec)
    throw std::runtime_error(fmt::format("cannot serve the status page on {}:{}: {}",
                                         config_.status_address, config_.status_port, ec.message()));
  status_->listen();
  status_retry_ = std::make_unique<AcceptRetry>(io_.get_executor());
  accept_status();
}

// Anyone who reaches the port may connect, so none of it may cost the endpoint its session:
// at most kStatusConnections at once (more are closed as they arrive), each closed
// kStatusDeadline after it came whatever its client does, and a failed accept (no descriptor
// left) is tried again a moment later.
void Lcfd::accept_status() {
  status_->async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket s) {
    if (ec == asio::error::operation_aborted || stopping_) return;
    if (ec) {
      if (status_retry_->failed([this] { accept_status(); }))
        log_.line(fmt::format("^status page: accept: {} (trying again every {} ms; logged once)",
                              ec.message(), AcceptRetry::kPause.count()));
      return;
    }
    status_retry_->succeeded();
    if (*status_open_ < kStatusConnections) answer_status(std::move(s));
    accept_status();
  });
}

void Lcfd::answer_status(asio::ip::tcp::socket s) {
  struct Connection {
    asio::ip::tcp::socket socket;
    asio::steady_timer deadline;
    std::shared_ptr<unsigned> open;
    std::array<char, 2048> request{};
    std::string answer;
    Connection(asio::ip::tcp::socket&& s, std::shared_ptr<unsigned> count)
        : socket(std::move(s)), deadline(socket.get_executor()), open(std::move(count)) {
      ++*open;
    }
    ~Connection() { --*open; }
  };
  auto c = std::make_shared<Connection>(std::move(s), status_open_);
  c->deadline.expires_after(kStatusDeadline);
  c->deadline.async_wait([c](const boost::system::error_code& ec) {
    boost::system::error_code ignored;
    if (!ec) c->socket.close(ignored);
  });
  // The answer follows whatever the client sends first (the request line of an HTTP GET).
  c->socket.async_read_some(asio::buffer(c->request), [this, c](const boost::system::error_code& ec,
                                                                std::size_t) {
    if (ec || stopping_) {
      c->deadline.cancel();
      return;
    }
    std::string body = status_text();
    if (auto log = read_text_file(config_.dir + "/lcfd.log")) {
      size_t start = log->size() > 4096 ? log->find('\n', log->size() - 4096) + 1 : 0;
      body += "\nlcfd.log (last lines):\n" + log->substr(start);
    }
    c->answer = fmt::format(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n"
        "Connection: close\r\n\r\n{}",
        body.size(), body);
    asio::async_write(c->socket, asio::buffer(c->answer), [c](const boost::system::error_code&,
                                                              std::size_t) {
      boost::system::error_code ignored;
      c->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      c->deadline.cancel();
    });
  });
}

}  // namespace openoserv::lcf
