// A session's reads, writes and heartbeats.
#include "Link.h"

#include <openssl/ssl.h>

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

void Link::tls_client(asio::ssl::context& ctx, std::chrono::seconds deadline, Done done) {
  handshake(ctx, asio::ssl::stream_base::client, deadline, std::move(done));
}

void Link::tls_server(asio::ssl::context& ctx, bool allow_plain, std::chrono::seconds deadline,
                      Done done) {
  timer_.expires_after(deadline);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    boost::system::error_code ignored;
    if (!ec) self->socket_.close(ignored);  // the wait below ends with an error
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
    if (first == 0x16) return self->handshake(ctx, asio::ssl::stream_base::server, deadline, done);
    if (allow_plain) {
      self->timer_.cancel();
      return done("");
    }
    self->abandon();
    done("a plain (unencrypted) session, and this gateway takes TLS only (plain_sessions=accept "
         "in gateway.cfg allows it; lcs.tls=on at the endpoint is better)");
  });
}

void Link::handshake(asio::ssl::context& ctx, asio::ssl::stream_base::handshake_type role,
                     std::chrono::seconds deadline, Done done) {
  tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(std::move(socket_), ctx);
  timer_.expires_after(deadline);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    boost::system::error_code ignored;
    if (!ec) self->socket().close(ignored);
  });
  tls_->async_handshake(role, [self = shared_from_this(), deadline, done = std::move(done)](
                                  const boost::system::error_code& ec) {
    const bool timed_out = !self->socket().is_open();
    if (!ec && !timed_out) {
      self->timer_.cancel();
      return done("");
    }
    self->abandon();
    done(timed_out ? fmt::format("no TLS handshake within {} s", deadline.count())
                   : fmt::format("TLS handshake: {}", ec.message()));
  });
}

// A session that never started (its first bytes or handshake failed): closed without on_close.
void Link::abandon() {
  open_ = false;
  timer_.cancel();
  boost::system::error_code ignored;
  socket().close(ignored);
}

std::vector<std::string> Link::peer_chain() const {
  std::vector<std::string> out;
  if (!tls_) return out;
  // On a client, the chain holds the peer's own certificate first.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(tls_->native_handle());
  for (int i = 0; chain && i < sk_X509_num(chain); ++i)
    out.push_back(tls::certificate_pem(sk_X509_value(chain, i)));
  return out;
}

void Link::start(OnFrame on_frame, OnClose on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  read();
}

void Link::set_heartbeat(std::chrono::seconds interval) {
  heartbeat_ = interval;
  if (interval.count() > 0) tick();
}

void Link::tick() {
  timer_.expires_after(heartbeat_);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || !self->open_) return;
    const auto silent = std::chrono::steady_clock::now() - self->heard_;
    if (silent > 3 * self->heartbeat_) {
      self->close(fmt::format("nothing heard for {} s (three heartbeat intervals)",
                              std::chrono::duration_cast<std::chrono::seconds>(silent).count()));
      return;
    }
    Lcf::Heartbeat hb;
    hb.sent = now_ms();
    self->send(Type::kHeartbeat, 0, hb);
    self->tick();
  });
}

void Link::read() {
  auto on_read = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (!self->open_) return;
        if (ec) {
          // A TLS peer that closed without a close_notify is as gone as one that did.
          const bool closed = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
          self->close(closed ? "the other end closed the session"
                                             : fmt::format("read: {}", ec.message()));
          return;
        }
        self->heard_ = std::chrono::steady_clock::now();
        self->reader_.feed(std::string_view(self->buffer_.data(), n));
        try {
          while (self->open_) {
            auto frame = self->reader_.next();
            if (!frame) break;
            if (frame->type == Type::kHeartbeat) {
              decode<Lcf::Heartbeat>(*frame);  // checked like any frame; nothing else to do
              continue;
            }
            self->on_frame_(std::move(*frame));
          }
        } catch (const ProtocolError& e) {
          self->close(fmt::format("protocol error: {}", e.what()));
          return;
        }
        if (self->open_) self->read();
  };
  if (tls_) tls_->async_read_some(asio::buffer(buffer_), std::move(on_read));
  else socket_.async_read_some(asio::buffer(buffer_), std::move(on_read));
}

void Link::send(std::string frame) {
  if (!open_ || closing_) return;
  out_.push_back(std::move(frame));
  if (!writing_) write();
}

void Link::write() {
  writing_ = true;
  auto on_written = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->writing_ = false;
                      if (!self->open_) return;
                      if (ec) {
                        self->close(fmt::format("write: {}", ec.message()));
                        return;
                      }
                      self->out_.pop_front();
                      if (!self->out_.empty()) self->write();
                      else if (self->closing_) self->close("closed after its last frame");
  };
  if (tls_) asio::async_write(*tls_, asio::buffer(out_.front()), std::move(on_written));
  else asio::async_write(socket_, asio::buffer(out_.front()), std::move(on_written));
}

void Link::close_after_sending(const std::string& why) {
  if (!open_) return;
  if (out_.empty() && !writing_) {
    close(why);
    return;
  }
  closing_ = true;
  if (on_close_) {
    auto f = std::move(on_close_);
    on_close_ = nullptr;
    f(why);
  }
}

void Link::close(const std::string& why) {
  if (!open_) return;
  open_ = false;
  boost::system::error_code ec;
  timer_.cancel();
  socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket().close(ec);
  // The frame handler may hold this Link (and it may be running now): let it go afterwards.
  asio::post(timer_.get_executor(), [self = shared_from_this()] { self->on_frame_ = nullptr; });
  if (on_close_) {
    auto f = std::move(on_close_);
    on_close_ = nullptr;
    f(why);
  }
}

}  // namespace openoserv::lcf
