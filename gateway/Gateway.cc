// The gateway's event loop: logins, downcalls, the method cache, upcalls, a planned stop.
#include "Gateway.h"

#include <malloc.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "Failure.h"
#include "RegionCa.h"
#include "TextFile.h"

namespace openoserv {

using lcf::Type;

struct Gateway::Session {
  std::shared_ptr<lcf::Link> link;
  std::string oid;  // once logged in
  std::string label;
  std::string kind;
  std::string since;
  bool logging_in = false;
  // Downcalls in flight on this session, by request id.
  std::map<std::uint32_t, std::function<void(DowncallOutcome)>> calls;
};

Gateway::Gateway(asio::io_context& io, GatewayOptions options, ManagerCalls& manager,
                 OservLog& log)
    : io_(io),
      options_(std::move(options)),
      manager_(manager),
      log_(log),
      acceptor_(io),
      accept_retry_(io.get_executor()),
      discovery_(io),
      save_timer_(io),
      seen_timer_(io),
      trim_timer_(io) {}

Gateway::~Gateway() { pool_.join(); }

void Gateway::log_refusal(const std::string& line) {
  refusals_.write([this](const std::string& l) { log_.line(l); }, line,
                  "sessions refused or closed before a login");
}

std::string Gateway::address() const {
  return fmt::format("{}+{}", options_.listen_host, options_.listen_port);
}

template <typename Call, typename Then>
void Gateway::ask_manager(Call call, Then then) {
  asio::post(pool_, [this, call = std::move(call), then = std::move(then)]() mutable {
    std::string error;
    std::optional<decltype(call())> result;
    try {
      result.emplace(call());
    } catch (const Failure& e) {
      error = e.what();
    } catch (const std::exception& e) {
      error = e.what();
    }
    asio::post(io_, [then = std::move(then), result = std::move(result),
                     error = std::move(error)]() mutable { then(std::move(result), error); });
  });
}

void Gateway::listen() {
  load_copy();
  load_digests();
  tls_ = lcf::gateway_tls_context(options_.identity_file);
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(options_.listen_host, ec);
  if (ec) throw Failure(fmt::format("'{}' is not an IP address to listen on", options_.listen_host));
  asio::ip::tcp::endpoint where(ip, options_.listen_port);
  acceptor_.open(where.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(where, ec);
  if (ec)
    throw Failure(fmt::format("cannot listen on {}:{}: {}", options_.listen_host,
                              options_.listen_port, ec.message()));
  acceptor_.listen(asio::socket_base::max_listen_connections);
  log_.line(fmt::format("gateway {} listening on {}:{} for endpoints ({} known)", options_.label,
                        options_.listen_host, options_.listen_port, copy_.size()));
  accept();
  if (!options_.discovery) return;
  // Broadcasts reach only sockets bound to the wildcard address; several gateways of one host
  // share the port (SO_REUSEADDR), each answering with its own address.
  const asio::ip::udp::endpoint any(asio::ip::address_v4::any(), options_.listen_port);
  discovery_.open(any.protocol());
  discovery_.set_option(asio::socket_base::reuse_address(true));
  discovery_.bind(any, ec);
  if (ec) {
    log_.line(fmt::format("^broadcast discovery not answered: udp port {}: {}",
                          options_.listen_port, ec.message()));
    discovery_.close(ec);
    return;
  }
  answer_discovery();
}

void Gateway::answer_discovery() {
  discovery_.async_receive_from(
      asio::buffer(datagram_), discovery_peer_,
      [this](const boost::system::error_code& ec, std::size_t n) {
        if (ec == asio::error::operation_aborted || !discovery_.is_open()) return;
        if (!ec) {
          if (lcf::parse_discovery_request(std::string_view(datagram_.data(), n))) {
            const bool any = options_.listen_host == "0.0.0.0";
            const std::string answer = lcf::discovery_answer(
                {options_.label, any ? "*" : options_.listen_host, options_.listen_port});
            boost::system::error_code send_ec;  // not logged: a broadcast storm must not fill the log
            discovery_.send_to(asio::buffer(answer), discovery_peer_, 0, send_ec);
          }
        }
        answer_discovery();
      });
}

void Gateway::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket socket) {
    if (ec) {
      if (ec != asio::error::operation_aborted && !stopping_ &&
          accept_retry_.failed([this] { accept(); }))
        log_.line(fmt::format("^accept on {}: {} (trying again every {} ms; logged once)",
                              address(), ec.message(), AcceptRetry::kPause.count()));
      return;
    }
    if (accept_retry_.succeeded()) log_.line(fmt::format("accepting again on {}", address()));
    auto s = std::make_shared<Session>();
    s->link = std::make_shared<lcf::Link>(std::move(socket));
    ++handshaking_;
    s->link->tls_server(*tls_, options_.allow_plain, options_.heartbeat,
                        [this, s](const std::string& error) {
                          --handshaking_;
                          if (accept_paused_ && !stopping_) {
                            accept_paused_ = false;
                            accept();
                          }
                          if (error.empty()) return start_session(s);
                          log_refusal(fmt::format("^session from {} refused: {}", s->link->peer(),
                                                  error));
                        });
    if (handshaking_ < kMaxHandshakes) accept();
    else accept_paused_ = true;
  });
}

void Gateway::start_session(const std::shared_ptr<Session>& s) {
  // A login must come soon; our heartbeats start with the LoginReply. Set before start(): the
  // Login may be read (and wait on the Endpoint Manager) within it.
  s->link->set_heartbeat(options_.heartbeat, /*beat=*/false);
  s->link->set_frame_limit(lcf::kMaxPayloadBeforeLogin);  // anyone may get this far
  std::weak_ptr<Session> weak = s;
  s->link->start(
      [this, weak](lcf::Frame&& f) {
        if (auto s = weak.lock()) on_frame(s, std::move(f));
      },
      [this, s](const std::string& why) {
        for (auto& [id, reply] : s->calls)
          reply({false, 0, fmt::format("endpoint {}'s session ended during the call: {}",
                                       s->label, why)});
        s->calls.clear();
        if (!s->oid.empty()) {
          auto it = by_oid_.find(s->oid);
          if (it != by_oid_.end() && it->second == s) by_oid_.erase(it);
          note_sessions();
          log_.line(fmt::format("endpoint {} ({}) from {}: session ended: {}", s->label, s->oid,
                                s->link->peer(), why));
        } else {
          log_refusal(fmt::format("session from {} ended before a login: {}", s->link->peer(), why));
        }
      });
}

void Gateway::on_frame(const std::shared_ptr<Session>& s, lcf::Frame&& f) {
  try {
    if (f.type == Type::kLogin) {
      if (!s->oid.empty() || s->logging_in)
        throw lcf::ProtocolError("a second Login on one session");
      on_login(s, lcf::decode<Lcf::Login>(f));
      return;
    }
    if (s->oid.empty()) throw lcf::ProtocolError(fmt::format("{} before a login", lcf::type_name(static_cast<std::uint8_t>(f.type))));
    switch (f.type) {
      case Type::kDowncallResult: {
        auto r = lcf::decode<Lcf::DowncallResult>(f);
        auto it = s->calls.find(f.id);
        if (it == s->calls.end()) return;  // the caller gave up
        auto reply = std::move(it->second);
        s->calls.erase(it);
        reply({true, r.exit_code, r.output.in()});
        return;
      }
      case Type::kMethodRequest:
        on_method_request(s, f.id, lcf::decode<Lcf::MethodRequest>(f).digest.in());
        return;
      case Type::kUpcall:
        on_upcall(s, lcf::decode<Lcf::Upcall>(f));
        return;
      default:
        throw lcf::ProtocolError(fmt::format("{} is not a frame an endpoint sends",
                                             lcf::type_name(static_cast<std::uint8_t>(f.type))));
    }
  } catch (const lcf::ProtocolError& e) {
    log_refusal(fmt::format("^session from {}: {}; closing it", s->link->peer(), e.what()));
    s->link->close(e.what());
  }
}

void Gateway::on_login(const std::shared_ptr<Session>& s, const Lcf::Login& l) {
  const std::string kind = l.kind.in(), oid = l.oid.in(), key = l.key.in();
  const std::string address = s->link->peer_ip();
  if (stopping_) {
    refuse_login(s, fmt::format("gateway {} is stopping", options_.label), false);
    return;
  }
  if (kind == "normal") {
    auto it = copy_.find(oid);
    if (it != copy_.end()) {
      if (tls::sha256_hex(key) != it->second.key_hash) {
        refuse_login(s, fmt::format("endpoint {} did not prove its identity (wrong key)", oid),
                     false);
        return;
      }
      accept_login(s, oid, it->second.label, "normal", "", others_);
      if (s->oid == oid) note_seen(oid, address);
      return;
    }
  } else if (kind != "initial" && kind != "isolated") {
    refuse_login(s, fmt::format("'{}' is not a kind of login", kind), false);
    return;
  }
  // The Endpoint Manager decides: initial, isolated, or a normal login the copy does not know
  // (a migration the gateway has not heard of yet).
  s->logging_in = true;
  s->link->set_heartbeat(std::chrono::seconds(0));  // the endpoint waits, as silent as we are
  const std::string ask_kind = kind == "initial" ? "initial" : "isolated";
  ask_manager(
      [this, ask_kind, l = Lcf::Login(l), address] {
        return manager_.login(ask_kind, l.label.in(), l.oid.in(), l.key.in(), l.interp.in(),
                              address, options_.label);
      },
      [this, s, kind, key](std::optional<OServ::EndpointGrant> grant, const std::string& error) {
        s->logging_in = false;
        if (!s->link->is_open()) return;
        if (!grant) {
          refuse_login(s, error, error.rfind("orphan:", 0) == 0);
          return;
        }
        const auto& e = grant->endpoint;
        std::vector<std::string> alternates;
        for (CORBA::ULong i = 0; i < grant->alternates.length(); ++i)
          alternates.push_back(fmt::format("{}+{}", grant->alternates[i].host.in(),
                                           grant->alternates[i].port));
        const std::string new_key = grant->key.in();
        if (std::string(grant->gateway.label.in()) != options_.label) {
          // Assigned elsewhere (a select_gateway_policy): the endpoint keeps its identity and
          // logs in there next.
          send_elsewhere(s, *grant, alternates, new_key.empty() ? key : new_key);
          return;
        }
        remember(e.oid.in(), {e.label.in(), e.key_hash.in()});
        accept_login(s, e.oid.in(), e.label.in(), kind, new_key.empty() ? key : new_key,
                     alternates, e.login_interfaces.in());
      });
}

void Gateway::accept_login(const std::shared_ptr<Session>& s, const std::string& oid,
                           const std::string& label, const std::string& kind,
                           const std::string& key, const std::vector<std::string>& alternates,
                           const std::string& login_interfaces) {
  if (auto it = by_oid_.find(oid); it != by_oid_.end() && it->second->link->is_open()) {
    refuse_login(s,
                 fmt::format("endpoint {} ({}) is already logged in from {} since {}; a second "
                             "session with its identity is refused",
                             label, oid, it->second->link->peer(), it->second->since),
                 false);
    return;
  }
  s->oid = oid;
  s->label = label;
  s->kind = kind;
  s->since = OservLog::timestamp();
  s->link->set_frame_limit(lcf::kMaxPayload);  // a method's output may be megabytes
  by_oid_[oid] = s;
  note_sessions();
  count_login(kind);
  s->link->send(Type::kLoginReply, 0,
                accepted_reply(oid, key, address(), alternates, login_interfaces));
  // The endpoint was silent while its login waited here (on the Endpoint Manager, in a storm
  // for many seconds): its three heartbeat intervals start with the reply.
  s->link->set_heartbeat(options_.heartbeat);
  log_.line(fmt::format("endpoint {} ({}) from {}: {} login", label, oid, s->link->peer(), kind));
  note_login_for_trim();
}

void Gateway::note_login_for_trim() {
  if (logins_since_trim_++ > 0) return;
  trim_timer_.expires_after(std::chrono::seconds(30));
  trim_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    ::malloc_trim(0);
    logins_since_trim_ = 0;
  });
}

void Gateway::note_seen(const std::string& oid, const std::string& address) {
  auto& n = seen_[oid];
  n.oid = oid.c_str();
  n.address = address.c_str();
  n.when = static_cast<CORBA::LongLong>(::time(nullptr));
  if (seen_.size() == 1 && !telling_seen_) {
    seen_timer_.expires_after(std::chrono::seconds(5));
    seen_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) tell_seen();
    });
  }
}

void Gateway::tell_seen() {
  if (seen_.empty() || stopping_) return;
  OServ::LoginNotes notes(static_cast<CORBA::ULong>(seen_.size()));
  notes.length(static_cast<CORBA::ULong>(seen_.size()));
  CORBA::ULong i = 0;
  for (auto& [oid, n] : seen_) notes[i++] = n;
  auto batch = std::make_shared<std::map<std::string, OServ::LoginNote>>(std::move(seen_));
  seen_.clear();
  telling_seen_ = true;
  ask_manager(
      [this, notes = std::move(notes)] {
        manager_.seen(options_.label, notes);
        return true;
      },
      [this, batch](std::optional<bool> told, const std::string& error) {
        telling_seen_ = false;
        if (!told) {
          // Kept for the next batch; a newer login of the same endpoint wins.
          for (auto& [oid, n] : *batch) seen_.emplace(oid, n);
          log_.line(fmt::format("^{} normal login(s) not told to the Endpoint Manager yet: {}",
                                batch->size(), error));
        }
        if (seen_.empty()) return;
        seen_timer_.expires_after(std::chrono::seconds(told ? 5 : 30));
        seen_timer_.async_wait([this](const boost::system::error_code& ec) {
          if (!ec) tell_seen();
        });
      });
}

Lcf::LoginReply Gateway::accepted_reply(const std::string& oid, const std::string& key,
                                        const std::string& gateway,
                                        const std::vector<std::string>& alternates,
                                        const std::string& login_interfaces) const {
  Lcf::LoginReply r;
  r.accepted = true;
  r.orphan = false;
  r.reason = "";
  r.oid = oid.c_str();
  r.key = key.c_str();
  r.gateway = gateway.c_str();
  r.alternates.length(static_cast<CORBA::ULong>(alternates.size()));
  for (CORBA::ULong i = 0; i < alternates.size(); ++i) r.alternates[i] = alternates[i].c_str();
  r.heartbeat = static_cast<CORBA::ULong>(options_.heartbeat.count());
  r.login_interfaces = login_interfaces.c_str();
  return r;
}

void Gateway::send_elsewhere(const std::shared_ptr<Session>& s, const OServ::EndpointGrant& grant,
                             const std::vector<std::string>& alternates, const std::string& key) {
  const std::string to = fmt::format("{}+{}", grant.gateway.host.in(), grant.gateway.port);
  s->link->send(Type::kLoginReply, 0,
                accepted_reply(grant.endpoint.oid.in(), key, to, alternates,
                               grant.endpoint.login_interfaces.in()));
  const std::string why = fmt::format("endpoint {} is assigned to gateway {} ({})",
                                      grant.endpoint.label.in(), grant.gateway.label.in(), to);
  Lcf::Redirect go;
  go.gateways.length(1);
  go.gateways[0] = to.c_str();
  go.reason = why.c_str();
  s->link->send(Type::kRedirect, 0, go);
  s->link->close_after_sending(why);
  log_.line(fmt::format("{}: sent there", why));
}

void Gateway::count_metrics(metrics::Registry& registry) {
  metrics_ = &registry;
  registry.gauge("openoserv_gateway_sessions", "Endpoints logged in to this gateway now.",
                 [this] {
                   return std::vector<std::pair<std::string, double>>{
                       {"", double(logged_in_.load(std::memory_order_relaxed))}};
                 });
  for (const char* kind : {"initial", "normal", "isolated", "refused"}) login_counter(kind);
  const auto ok_and_failed = [&](const char* name, const char* help) {
    return std::pair{&registry.counter(name, help, metrics::label("result", "ok")),
                     &registry.counter(name, help, metrics::label("result", "failed"))};
  };
  std::tie(counted_.downcalls_ok, counted_.downcalls_failed) =
      ok_and_failed("openoserv_gateway_downcalls_total",
                    "Downcalls through this gateway: ok (the endpoint answered), failed.");
  counted_.downcall_took = &registry.histogram(
      "openoserv_gateway_downcall_duration_seconds",
      "From a downcall's arrival at the gateway to the endpoint's answer.");
  std::tie(counted_.fetches_ok, counted_.fetches_failed) =
      ok_and_failed("openoserv_gateway_method_fetches_total",
                    "Method programs fetched from the Endpoint Manager (once per program).");
  counted_.cache_hits = &registry.counter(
      "openoserv_gateway_method_cache_hits_total",
      "Method programs endpoints asked for, sent from this gateway's cache.");
}

std::function<void(DowncallOutcome)> Gateway::counted_reply(
    std::function<void(DowncallOutcome)> reply) {
  if (!counted_.downcall_took) return reply;
  return [this, reply = std::move(reply), start = std::chrono::steady_clock::now()](DowncallOutcome r) {
    count(r.ok ? counted_.downcalls_ok : counted_.downcalls_failed);
    counted_.downcall_took->observe(std::chrono::steady_clock::now() - start);
    reply(std::move(r));
  };
}

metrics::Counter& Gateway::login_counter(const std::string& kind) {
  return metrics_->counter("openoserv_gateway_logins_total",
                           "Logins this gateway accepted, by kind, and refused.",
                           metrics::label("kind", kind));
}

void Gateway::count_login(const std::string& kind) {
  if (metrics_) login_counter(kind).add();
}

void Gateway::refuse_login(const std::shared_ptr<Session>& s, const std::string& why, bool orphan) {
  count_login("refused");
  Lcf::LoginReply r;
  r.accepted = false;
  r.orphan = orphan;
  r.reason = why.c_str();
  r.heartbeat = 0;
  r.login_interfaces = "";
  s->link->send(Type::kLoginReply, 0, r);
  s->link->close_after_sending(why);
  log_refusal(fmt::format("^login from {} refused: {}", s->link->peer(), why));
}

void Gateway::remember(const std::string& oid, Known known) {
  auto& slot = copy_[oid];
  if (slot.label == known.label && slot.key_hash == known.key_hash) return;
  slot = std::move(known);
  save_copy_soon();
}

void Gateway::downcall(const std::string& oid, const std::string& method,
                       const std::vector<std::string>& args, const std::string& digest,
                       std::chrono::seconds timeout, std::function<void(DowncallOutcome)> reply) {
  asio::post(io_, [=, this, reply = std::move(reply)]() mutable {
    if (!digest.empty()) remember_digest(method, digest);
    send_downcall(oid, method, args, digest, timeout, std::move(reply));
  });
}

void Gateway::downcall_here(const std::string& oid, const std::string& method,
                            const std::vector<std::string>& args, std::chrono::seconds timeout,
                            std::function<void(DowncallOutcome)> reply) {
  asio::post(io_, [=, this, reply = std::move(reply)]() mutable {
    std::string digest;
    if (method != "ping" && method != "status") {
      auto it = digests_.find(method);
      if (it == digests_.end()) {
        reply({false, 0, fmt::format("gateway {} has never sent method {} to an endpoint; only "
                                     "the Endpoint Manager (at the TMR server, which does not "
                                     "answer) has its program",
                                     options_.label, method)});
        return;
      }
      digest = it->second;
    }
    send_downcall(oid, method, args, digest, timeout, std::move(reply));
  });
}

void Gateway::send_downcall(const std::string& oid, const std::string& method,
                            const std::vector<std::string>& args, const std::string& digest,
                            std::chrono::seconds timeout,
                            std::function<void(DowncallOutcome)> reply) {
  reply = counted_reply(std::move(reply));
  auto it = by_oid_.find(oid);
  if (it == by_oid_.end() || !it->second->link->is_open()) {
    reply({false, 0, fmt::format("endpoint {} is not logged in at gateway {}", oid,
                                 options_.label)});
    return;
  }
  auto& s = it->second;
  Lcf::Downcall d;
  d.oid = oid.c_str();
  d.method = method.c_str();
  d.args.length(static_cast<CORBA::ULong>(args.size()));
  for (CORBA::ULong i = 0; i < args.size(); ++i) d.args[i] = args[i].c_str();
  d.digest = digest.c_str();
  d.timeout = static_cast<CORBA::ULong>(timeout.count());
  const std::uint32_t id = s->link->next_id();
  s->calls[id] = std::move(reply);
  s->link->send(Type::kDowncall, id, d);
}

void Gateway::remember_digest(const std::string& method, const std::string& digest) {
  auto& slot = digests_[method];
  if (slot == digest) return;
  slot = digest;
  std::string text;
  for (const auto& [name, d] : digests_) text += fmt::format("{} {}\n", name, d);
  try {
    make_directories(options_.dir + "/cache", 0700);
    write_file_atomically(options_.dir + "/cache/methods", text, 0600);
  } catch (const std::exception& e) {
    log_.line(fmt::format("^the method index was not saved: {}", e.what()));
  }
}

void Gateway::load_digests() {
  const std::string path = options_.dir + "/cache/methods";
  auto text = read_text_file(path);
  if (!text) return;
  std::istringstream in(*text);
  std::string name, digest;
  while (in >> name >> digest)
    if (tls::is_sha256_hex(digest)) digests_[name] = digest;
}

void Gateway::program(const std::string& digest, std::function<void(const std::string*)> done) {
  const std::string path = options_.dir + "/cache/" + digest;
  if (auto body = read_text_file(path); body && tls::sha256_hex(*body) == digest) {
    count(counted_.cache_hits);
    done(&*body);
    return;
  }
  auto& waiting = fetching_[digest];
  waiting.push_back(std::move(done));
  if (waiting.size() > 1) return;  // already being fetched
  ask_manager([this, digest] { return manager_.method_body(digest); },
              [this, digest, path](std::optional<std::string> body, const std::string& error) {
                if (body && tls::sha256_hex(*body) != digest) {
                  body.reset();
                }
                count(body ? counted_.fetches_ok : counted_.fetches_failed);
                if (body) {
                  make_directories(options_.dir + "/cache", 0700);
                  write_file_atomically(path, *body, 0600);
                  log_.line(fmt::format("method {} fetched from the Endpoint Manager ({} bytes)",
                                        digest, body->size()));
                } else {
                  log_.line(fmt::format("^method {} not fetched: {}", digest,
                                        error.empty() ? "its digest does not match" : error));
                }
                auto waiters = std::move(fetching_[digest]);
                fetching_.erase(digest);
                for (auto& w : waiters) w(body ? &*body : nullptr);
              });
}

void Gateway::on_method_request(const std::shared_ptr<Session>& s, std::uint32_t id,
                                const std::string& digest) {
  program(digest, [s, id, digest](const std::string* body) {
    Lcf::MethodBody m;
    m.digest = digest.c_str();
    if (body) {
      m.program.length(static_cast<CORBA::ULong>(body->size()));
      std::copy(body->begin(), body->end(), m.program.get_buffer());
    }
    s->link->send(Type::kMethodBody, id, m);  // empty: the endpoint reports the call failed
  });
}

void Gateway::on_upcall(const std::shared_ptr<Session>& s, const Lcf::Upcall& u) {
  const std::string oid = s->oid;
  const std::uint64_t id = u.id;
  const std::string tag = fmt::format("{}/{}", oid, id);
  if (!seen_upcalls_.insert(tag).second) return;  // already on its way to the manager
  std::vector<std::string> args;
  for (CORBA::ULong i = 0; i < u.args.length(); ++i) args.push_back(u.args[i].in());
  ask_manager(
      [this, oid, id, method = std::string(u.method.in()), args] {
        return manager_.upcall(oid, id, method, args);
      },
      [this, s, tag, id, oid](std::optional<std::string> outcome, const std::string& error) {
        seen_upcalls_.erase(tag);
        if (!outcome) {
          // Not acknowledged: the endpoint keeps it spooled and sends it again.
          log_.line(fmt::format("^upcall {} of endpoint {} not recorded: {}", id, oid, error));
          return;
        }
        Lcf::UpcallAck ack;
        ack.id = id;
        if (s->link->is_open()) s->link->send(Type::kUpcallAck, 0, ack);
      });
}

void Gateway::forget(const std::string& oid, const std::string& redirect) {
  asio::post(io_, [this, oid, redirect] {
    if (copy_.erase(oid)) save_copy_soon();
    auto it = by_oid_.find(oid);
    if (it == by_oid_.end()) return;
    auto s = it->second;
    by_oid_.erase(it);
    note_sessions();
    Lcf::Redirect r;
    if (!redirect.empty()) {
      r.gateways.length(1);
      r.gateways[0] = redirect.c_str();
    }
    r.reason = fmt::format("endpoint {} now belongs to {}", s->label,
                           redirect.empty() ? std::string("no gateway here") : redirect)
                   .c_str();
    s->link->send(Type::kRedirect, 0, r);
    s->link->close_after_sending("moved to another gateway");
  });
}

std::vector<SessionInfo> Gateway::sessions() {
  std::vector<SessionInfo> out;
  for (const auto& [oid, s] : by_oid_)
    out.push_back({oid, s->label, s->link->peer(), s->since, s->kind});
  return out;
}

std::string Gateway::session_of(const std::string& oid) {
  auto it = by_oid_.find(oid);
  return it != by_oid_.end() && it->second->link->is_open() ? it->second->link->peer() : "";
}

void Gateway::register_with_manager(const std::string& ior) {
  ask_manager(
      [this, ior] {
        std::vector<OServ::GatewayEntry> others;
        auto mine = manager_.started(options_.label, ior, others);
        return std::make_pair(std::move(mine), std::move(others));
      },
      [this, ior](auto result, const std::string& error) {
        if (!result) {
          log_.line(fmt::format("^Endpoint Manager not reached ({}); serving normal logins from "
                                "the copy, and trying again in 5 s",
                                error));
          auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(5));
          t->async_wait([this, t, ior](const boost::system::error_code& ec) {
            if (!ec && !stopping_) register_with_manager(ior);
          });
          return;
        }
        // The manager's list is the truth: endpoints moved away while this gateway was down are
        // dropped, new ones added.
        std::map<std::string, Known> fresh;
        for (const auto& e : result->first) fresh[e.oid.in()] = {e.label.in(), e.key_hash.in()};
        copy_ = std::move(fresh);
        others_.clear();
        for (const auto& g : result->second) others_.push_back(fmt::format("{}+{}", g.host.in(), g.port));
        save_copy();
        log_.line(fmt::format("registered with the Endpoint Manager: {} endpoint(s), {} other "
                              "gateway(s)",
                              copy_.size(), others_.size()));
      });
}

void Gateway::stop(std::function<void()> done) {
  stopping_ = true;
  trim_timer_.cancel();
  accept_retry_.cancel();
  boost::system::error_code ec;
  acceptor_.close(ec);
  discovery_.close(ec);
  Lcf::Redirect r;
  r.gateways.length(static_cast<CORBA::ULong>(others_.size()));
  for (CORBA::ULong i = 0; i < others_.size(); ++i) r.gateways[i] = others_[i].c_str();
  r.reason = fmt::format("gateway {} is stopping", options_.label).c_str();
  // A send may fail at once (a peer gone) and close its session, which leaves by_oid_: walk a
  // snapshot, not the map itself.
  std::vector<std::shared_ptr<Session>> sessions;
  sessions.reserve(by_oid_.size());
  for (const auto& [oid, s] : by_oid_) sessions.push_back(s);
  for (const auto& s : sessions) {
    s->link->send(Type::kRedirect, 0, r);
    s->link->close_after_sending("the gateway stops");
  }
  log_.line(fmt::format("gateway {} stopping: {} endpoint(s) sent to {} other gateway(s)",
                        options_.label, sessions.size(), others_.size()));
  if (save_pending_) save_copy();
  auto t = std::make_shared<asio::steady_timer>(io_, options_.shutdown_grace);
  t->async_wait([t, done = std::move(done)](const boost::system::error_code&) { done(); });
}

// The copy: "<oid> <label> <key sha256>" lines, replaced atomically.
void Gateway::load_copy() {
  const std::string path = options_.dir + "/endpoints";
  auto text = read_text_file(path);
  if (!text) return;
  std::istringstream in(*text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::istringstream fields(line);
    std::string oid, label, hash;
    if (!(fields >> oid >> label >> hash) || hash.size() != 64) {
      log_.line(fmt::format("^{} line {} is damaged; ignored (the Endpoint Manager's list "
                            "replaces the copy once it answers)",
                            path, n));
      continue;
    }
    copy_[oid] = {label, hash};
  }
}

void Gateway::save_copy_soon() {
  if (save_pending_) return;
  save_pending_ = true;
  save_timer_.expires_after(std::chrono::milliseconds(200));
  save_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) save_copy();
  });
}

void Gateway::save_copy() {
  save_pending_ = false;
  std::string text;
  for (const auto& [oid, k] : copy_) text += fmt::format("{} {} {}\n", oid, k.label, k.key_hash);
  try {
    write_file_atomically(options_.dir + "/endpoints", text, 0600);
  } catch (const std::exception& e) {
    log_.line(fmt::format("^the copy of the endpoints was not saved: {}", e.what()));
  }
}

}  // namespace openoserv
