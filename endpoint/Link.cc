// A session's reads, writes and heartbeats.
#include "Link.h"

#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "RegionCa.h"

namespace openoserv::lcf {

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

Link::Link(asio::ip::tcp::socket socket)
    : socket_(std::move(socket)), timer_(socket_.get_executor()) {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  peer_ = ec ? std::string("?") : fmt::format("{}:{}", ep.address().to_string(), ep.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  heard_ = std::chrono::steady_clock::now();
}

std::string Link::peer_ip() const { return peer_.substr(0, peer_.rfind(':')); }

void Link::SslFree::operator()(ssl_st* ssl) const { SSL_free(ssl); }

namespace {

// Why an OpenSSL call failed, from its error queue (or errno, for a system call).
std::string tls_error(int error) {
  if (const unsigned long e = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    ERR_clear_error();
    return text;
  }
  if (error == SSL_ERROR_SYSCALL)
    return errno ? std::strerror(errno) : "the other end closed the connection";
  return fmt::format("OpenSSL error {}", error);
}

}  // namespace

template <class Then>
void Link::arm(std::chrono::steady_clock::duration after, Then then) {
  const std::uint32_t current = ++armed_;
  timer_.expires_after(after);
  timer_.async_wait([self = shared_from_this(), current,
                     then = std::move(then)](const boost::system::error_code& ec) {
    if (!ec && current == self->armed_) then(*self);
  });
}

void Link::disarm() {
  ++armed_;
  timer_.cancel();
}

void Link::tls_client(asio::ssl::context& ctx, std::chrono::seconds deadline, Done done,
                      TlsSession resume, OnTicket on_ticket) {
  on_ticket_ = std::move(on_ticket);
  handshake(ctx, /*client=*/true, deadline, std::move(done), resume.get());
}

bool Link::resumed() const { return ssl_ && SSL_session_reused(ssl_.get()) == 1; }

int Link::ticket_arrived(ssl_st* ssl, ssl_session_st* session) {
  auto* link = static_cast<Link*>(SSL_get_app_data(ssl));
  if (!link || !link->on_ticket_) return 0;  // OpenSSL frees it
  // A copy: OpenSSL marks the connection's own session not resumable when the connection ends
  // without a close_notify, which is how a crashed gateway's sessions end.
  if (SSL_SESSION* copy = SSL_SESSION_dup(session))
    link->on_ticket_(TlsSession(copy, SSL_SESSION_free));
  return 0;  // OpenSSL keeps (and frees) its own
}

void Link::tls_server(asio::ssl::context& ctx, bool allow_plain, std::chrono::seconds deadline,
                      Done done) {
  arm(deadline, [](Link& self) {
    boost::system::error_code ignored;
    self.socket_.close(ignored);  // the wait below ends with an error
  });
  socket_.async_wait(asio::socket_base::wait_read, [self = shared_from_this(), &ctx, allow_plain,
                                                    deadline, done = std::move(done)](
                                                       const boost::system::error_code& ec) {
    unsigned char first = 0;
    boost::system::error_code peek_ec;
    if (!ec) self->socket_.receive(asio::buffer(&first, 1), asio::socket_base::message_peek, peek_ec);
    if (ec || peek_ec || !self->socket_.is_open()) {
      self->abandon();
      return done(ec ? fmt::format("nothing sent in {} s", deadline.count())
                     : "closed before its first bytes");
    }
    if (first == 0x16) return self->handshake(ctx, /*client=*/false, deadline, done);
    if (allow_plain) {
      self->disarm();
      return done("");
    }
    self->abandon();
    done("a plain (unencrypted) session, and this gateway takes TLS only (plain_sessions=accept "
         "in gateway.cfg allows it; lcs.tls=on at the endpoint is better)");
  });
}

void Link::handshake(asio::ssl::context& ctx, bool client, std::chrono::seconds deadline,
                     Done done, ssl_session_st* resume) {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  ssl_.reset(SSL_new(ctx.native_handle()));
  if (ec || !ssl_ || SSL_set_fd(ssl_.get(), socket_.native_handle()) != 1) {
    abandon();
    return done(ec ? fmt::format("TLS: {}", ec.message()) : "TLS: " + tls_error(SSL_ERROR_SSL));
  }
  SSL_set_app_data(ssl_.get(), this);  // for ticket_arrived; the SSL dies with this Link
  if (resume) SSL_set_session(ssl_.get(), resume);  // offered; a full handshake if refused
  if (client) SSL_set_connect_state(ssl_.get());
  else SSL_set_accept_state(ssl_.get());
  arm(deadline, [](Link& self) {
    boost::system::error_code ignored;
    self.socket_.close(ignored);  // the handshake's wait ends with an error
  });
  handshake_step(deadline, std::move(done));
}

void Link::handshake_step(std::chrono::seconds deadline, Done done) {
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    disarm();
    ticketed_ = std::chrono::steady_clock::now();
    return done("");
  }
  const int error = SSL_get_error(ssl_.get(), r);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE)
    return await(error, [self = shared_from_this(), deadline,
                         done = std::move(done)](const boost::system::error_code& ec) mutable {
      if (!ec && self->socket_.is_open()) return self->handshake_step(deadline, std::move(done));
      self->abandon();
      done(fmt::format("no TLS handshake within {} s", deadline.count()));
    });
  abandon();
  done("TLS handshake: " + tls_error(error));
}

void Link::await(int error, std::function<void(const boost::system::error_code&)> then) {
  socket_.async_wait(error == SSL_ERROR_WANT_WRITE ? asio::socket_base::wait_write
                                                   : asio::socket_base::wait_read,
                     std::move(then));
}

// A session that never started (its first bytes or handshake failed): closed without on_close.
void Link::abandon() {
  open_ = false;
  disarm();
  boost::system::error_code ignored;
  socket_.close(ignored);
}

std::vector<std::string> Link::peer_chain() const {
  std::vector<std::string> out;
  if (!ssl_) return out;
  // On a client, the chain holds the peer's own certificate first.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl_.get());
  for (int i = 0; chain && i < sk_X509_num(chain); ++i)
    out.push_back(tls::certificate_pem(sk_X509_value(chain, i)));
  return out;
}

void Link::start(OnFrame on_frame, OnClose on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  read();
}

void Link::set_heartbeat(std::chrono::seconds interval, bool beat) {
  heartbeat_ = interval;
  beat_ = beat;
  heard_ = std::chrono::steady_clock::now();
  if (interval.count() > 0) tick();
  else disarm();
}

void Link::tick() {
  arm(heartbeat_, [](Link& self) {
    if (!self.open_) return;
    // Bytes already in the socket were heard: this process is behind (a login storm on its
    // event loop), not its peer silent.
    boost::system::error_code unread;
    if (self.socket_.available(unread) > 0 && !unread) self.heard_ = std::chrono::steady_clock::now();
    const auto silent = std::chrono::steady_clock::now() - self.heard_;
    if (silent > 3 * self.heartbeat_) {
      self.close(fmt::format("nothing heard for {} s (three heartbeat intervals)",
                             std::chrono::duration_cast<std::chrono::seconds>(silent).count()));
      return;
    }
    if (self.beat_) self.beat();
    self.tick();
  });
}

void Link::beat() {
  // A gateway's session that lasts gets a fresh ticket daily, sent with this heartbeat, so
  // that its endpoint can still resume after a restart of the gateway weeks from now.
  if (ssl_ && SSL_is_server(ssl_.get()) &&
      std::chrono::steady_clock::now() - ticketed_ > kTicketRenewal) {
    SSL_new_session_ticket(ssl_.get());
    ticketed_ = std::chrono::steady_clock::now();
  }
  Lcf::Heartbeat hb;
  hb.sent = now_ms();
  send(Type::kHeartbeat, 0, hb);
}

namespace {

// Every read of this thread lands here and is taken out at once (Link::received).
std::array<char, 16384>& read_buffer() {
  thread_local std::array<char, 16384> buffer;
  return buffer;
}

}  // namespace

void Link::read() {
  if (ssl_) return tls_read();
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  if (ec) return close(fmt::format("read: {}", ec.message()));
  plain_read();
}

void Link::plain_read() {
  auto& buffer = read_buffer();
  while (open_) {
    boost::system::error_code ec;
    const std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again)
      return socket_.async_wait(asio::socket_base::wait_read,
                                [self = shared_from_this()](const boost::system::error_code& e) {
                                  if (!self->open_) return;
                                  if (e) return self->close(fmt::format("read: {}", e.message()));
                                  self->plain_read();
                                });
    if (ec)
      return close(ec == asio::error::eof ? "the other end closed the session"
                                          : fmt::format("read: {}", ec.message()));
    if (!received(buffer.data(), n)) return;
  }
}

void Link::tls_read() {
  auto& buffer = read_buffer();
  while (open_) {
    ERR_clear_error();
    const int n = SSL_read(ssl_.get(), buffer.data(), static_cast<int>(buffer.size()));
    if (n > 0) {
      if (!received(buffer.data(), static_cast<std::size_t>(n))) return;
      continue;  // more may be buffered in OpenSSL or the socket
    }
    const int error = SSL_get_error(ssl_.get(), n);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE)
      return await(error, [self = shared_from_this()](const boost::system::error_code& ec) {
        if (!self->open_) return;
        if (ec) return self->close(fmt::format("read: {}", ec.message()));
        self->tls_read();
      });
    // A TLS peer that closed without a close_notify is as gone as one that did.
    const unsigned long why = ERR_peek_error();
    const bool closed =
        error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && why == 0 && errno == 0) ||
        (error == SSL_ERROR_SSL && ERR_GET_REASON(why) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
    if (closed) {
      ERR_clear_error();
      return close("the other end closed the session");
    }
    return close("read: TLS: " + tls_error(error));
  }
}

bool Link::received(const char* bytes, std::size_t n) {
  heard_ = std::chrono::steady_clock::now();
  reader_.feed(std::string_view(bytes, n));
  try {
    while (open_) {
      auto frame = reader_.next();
      if (!frame) break;
      if (frame->type == Type::kHeartbeat) {
        decode<Lcf::Heartbeat>(*frame);  // checked like any frame; nothing else to do
        continue;
      }
      on_frame_(std::move(*frame));
    }
  } catch (const ProtocolError& e) {
    close(fmt::format("protocol error: {}", e.what()));
  }
  return open_;
}

void Link::send(std::string frame) {
  if (!open_ || closing_) return;
  out_.push_back(std::move(frame));
  if (!writing_) write();
}

void Link::write() {
  writing_ = true;
  if (ssl_) return tls_write();
  asio::async_write(socket_, asio::buffer(out_.front()), [self = shared_from_this()](
                                                             const boost::system::error_code& ec,
                                                             std::size_t) {
    self->writing_ = false;
    if (!self->open_) return;
    if (ec) return self->close(fmt::format("write: {}", ec.message()));
    self->written();
  });
}

void Link::tls_write() {
  while (!out_.empty()) {
    ERR_clear_error();
    const std::string& frame = out_.front();
    // Whole or not at all (no partial writes); a retry passes the same frame, as OpenSSL asks.
    const int n = SSL_write(ssl_.get(), frame.data(), static_cast<int>(frame.size()));
    if (n > 0) {
      out_.pop_front();
      continue;
    }
    const int error = SSL_get_error(ssl_.get(), n);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE)
      return await(error, [self = shared_from_this()](const boost::system::error_code& ec) {
        if (!self->open_) return;
        if (!ec) return self->tls_write();
        self->writing_ = false;
        self->close(fmt::format("write: {}", ec.message()));
      });
    writing_ = false;
    return close("write: TLS: " + tls_error(error));
  }
  writing_ = false;
  if (closing_) close_gracefully();
}

// The frame at the front of out_ is written: the next, or the close that waited for it.
void Link::written() {
  out_.pop_front();
  if (!out_.empty()) write();
  else if (closing_) close_gracefully();
}

void Link::close_after_sending(const std::string& why) {
  if (!open_) return;
  auto self = shared_from_this();  // on_close may let go of the last other reference
  closing_ = true;
  if (on_close_) {
    auto f = std::move(on_close_);
    on_close_ = nullptr;
    f(why);
  }
  // All written already: the same graceful end, not close(). The peer may still send (a TLS
  // session ticket after the handshake), and a socket closed with that arriving resets the
  // connection before the peer has read our last frames.
  if (out_.empty() && !writing_) close_gracefully();
}

// Without losing what was sent: closing a socket with unread bytes waiting makes the kernel
// reset the connection, and the peer then drops what it had not read yet. So the TLS
// close_notify, the end of our stream, whatever has arrived read and dropped, then the close.
void Link::end_connection() {
  boost::system::error_code ec;
  if (ssl_ && socket_.is_open()) {
    ERR_clear_error();
    SSL_shutdown(ssl_.get());  // non-blocking: sent if it fits, as it does
    ERR_clear_error();
  }
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (socket_.is_open()) {
    char scrap[4096];
    for (int i = 0; i < 64 && ::recv(socket_.native_handle(), scrap, sizeof scrap, MSG_DONTWAIT) > 0;
         ++i) {
    }
  }
  socket_.close(ec);
}

// The last frame is written: the peer reads it all if our end waits for its end before
// closing (a close with its bytes arriving would reset the connection under them).
void Link::close_gracefully() {
  if (!open_) return;
  open_ = false;
  boost::system::error_code ec;
  if (ssl_ && socket_.is_open()) {
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  arm(kLinger, [](Link& self) {
    boost::system::error_code ignored;
    self.socket_.close(ignored);  // the peer did not end in time: the wait ends
  });
  drain();
  asio::post(timer_.get_executor(), [self = shared_from_this()] { self->on_frame_ = nullptr; });
  if (on_close_) {
    auto f = std::move(on_close_);
    on_close_ = nullptr;
    f("closed after its last frame");
  }
}

// Reads and drops what arrives until the peer's end (or the linger timer closes the socket).
void Link::drain() {
  socket_.async_wait(asio::socket_base::wait_read, [self = shared_from_this()](
                                                       const boost::system::error_code& ec) {
    if (ec || !self->socket_.is_open()) return;
    char scrap[4096];
    const ssize_t n = ::recv(self->socket_.native_handle(), scrap, sizeof scrap, MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) return self->drain();
    boost::system::error_code ignored;
    self->disarm();
    self->socket_.close(ignored);
  });
}

void Link::close(const std::string& why) {
  if (!open_) return;
  open_ = false;
  boost::system::error_code ec;
  disarm();
  end_connection();
  // The frame handler may hold this Link (and it may be running now): let it go afterwards.
  asio::post(timer_.get_executor(), [self = shared_from_this()] { self->on_frame_ = nullptr; });
  if (on_close_) {
    auto f = std::move(on_close_);
    on_close_ = nullptr;
    f(why);
  }
}

}  // namespace openoserv::lcf
