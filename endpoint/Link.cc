// A session's reads, writes and heartbeats.
#include "Link.h"

#include <fmt/core.h>

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
  socket_.async_read_some(
      asio::buffer(buffer_),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (!self->open_) return;
        if (ec) {
          self->close(ec == asio::error::eof ? "the other end closed the session"
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
      });
}

void Link::send(std::string frame) {
  if (!open_ || closing_) return;
  out_.push_back(std::move(frame));
  if (!writing_) write();
}

void Link::write() {
  writing_ = true;
  asio::async_write(socket_, asio::buffer(out_.front()),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->writing_ = false;
                      if (!self->open_) return;
                      if (ec) {
                        self->close(fmt::format("write: {}", ec.message()));
                        return;
                      }
                      self->out_.pop_front();
                      if (!self->out_.empty()) self->write();
                      else if (self->closing_) self->close("closed after its last frame");
                    });
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
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  if (on_close_) {
    auto f = std::move(on_close_);
    on_close_ = nullptr;
    f(why);
  }
}

}  // namespace openoserv::lcf
