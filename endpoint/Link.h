// One session of the endpoint protocol on a TCP connection, as both ends run it (gateway/ and
// lcfd): TLS when the ends agree on it (SessionTls.h), frames in (reassembled, checked) and out
// (queued, written in order), heartbeats every interval, and the session closed when nothing has
// arrived for three intervals — a silent partition is found by missed heartbeats, not by TCP's
// timers. Runs on one io_context thread; every member is called on that thread.
//
// TLS is OpenSSL's on the non-blocking socket itself, the io_context waiting for readiness: a
// gateway holds thousands of sessions, and asio's ssl::stream keeps four 17 KB buffers for each
// (its BIO pair and its own), where an idle OpenSSL session with released buffers
// (SSL_MODE_RELEASE_BUFFERS) keeps a few KB. OpenSSL writes with write(2): the process must
// block or ignore SIGPIPE (the gateway and lcfd block it), or a peer's close kills it.
#pragma once

#include <chrono>
#include <list>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "Protocol.h"

struct ssl_st;  // OpenSSL's SSL
struct ssl_session_st;  // OpenSSL's SSL_SESSION

namespace openoserv::lcf {

namespace asio = boost::asio;

class Link : public std::enable_shared_from_this<Link> {
 public:
  using OnFrame = std::function<void(Frame&&)>;
  using OnClose = std::function<void(const std::string& why)>;

  using Done = std::function<void(const std::string& error)>;
  // A TLS session a gateway issued (a ticket), to resume at the next handshake with it: no
  // certificate parsed or signed, only a new key exchange (SessionTls.h).
  using TlsSession = std::shared_ptr<ssl_session_st>;
  using OnTicket = std::function<void(TlsSession)>;
  // An endpoint's last ticket and the gateway ("host+port") that issued it: offered again only
  // to that gateway. It must outlive the connections its keeper() is given to.
  struct LastTicket {
    TlsSession session;
    std::string gateway;
    TlsSession for_gateway(const std::string& g) const { return g == gateway ? session : nullptr; }
    OnTicket keeper(std::string g) {
      return [this, g = std::move(g)](TlsSession s) {
        session = std::move(s);
        gateway = g;
      };
    }
  };

  explicit Link(asio::ip::tcp::socket socket);

  // Before start: TLS from now on. The client's handshake, or (the gateway) the server's: the
  // first bytes decide — a TLS record starts a handshake, anything else is a plain session,
  // refused unless `allow_plain`. Bounded by `deadline`; `done` gets "" or why it failed (the
  // session is then closed and on_close is not called).
  // `resume`: a session of this gateway's to offer (null: none); `on_ticket` gets each session
  // the gateway issues on this connection (the context must be endpoint_tls_context()).
  void tls_client(asio::ssl::context& ctx, std::chrono::seconds deadline, Done done,
                  TlsSession resume = nullptr, OnTicket on_ticket = nullptr);
  void tls_server(asio::ssl::context& ctx, bool allow_plain, std::chrono::seconds deadline,
                  Done done);
  bool tls() const { return ssl_ != nullptr; }
  // The handshake resumed an earlier session (a ticket) instead of a full one.
  bool resumed() const;
  // OpenSSL's new-session callback of endpoint_tls_context(): to the connection's on_ticket.
  static int ticket_arrived(ssl_st* ssl, ssl_session_st* session);
  // The certificates the peer showed (PEM, its own first); empty for a plain session.
  std::vector<std::string> peer_chain() const;

  // Starts reading; `on_frame` gets every frame, `on_close` (once) why the session ended.
  void start(OnFrame on_frame, OnClose on_close);
  // Liveness from now on: the peer has three `interval`s from now to be heard, and from each
  // time it is. With `beat`, a Heartbeat is also sent every `interval` (a gateway sends none
  // before its LoginReply: the endpoint takes the first frame for that reply). Zero stops both.
  void set_heartbeat(std::chrono::seconds interval, bool beat = true);
  // The largest payload a frame from the peer may announce from now on (a larger one is a
  // protocol error that ends the session): kMaxPayload unless lowered.
  void set_frame_limit(std::uint32_t max_payload) { reader_.limit(max_payload); }

  void send(std::string frame);
  template <typename Message>
  void send(Type type, std::uint32_t id, const Message& message) {
    send(encode(type, id, message));
  }
  // Ends the session now (pending output is dropped), or once the queued frames are written.
  void close(const std::string& why);
  void close_after_sending(const std::string& why);

  bool is_open() const { return open_; }
  // "127.0.0.5:40112", where the other end is.
  const std::string& peer() const { return peer_; }
  std::string peer_ip() const;
  // A request id unused on this session.
  std::uint32_t next_id() { return ++last_id_ == 0 ? ++last_id_ : last_id_; }

 private:
  void read();
  void plain_read();
  void tls_read();
  // Takes `n` bytes read: frames to on_frame_; false once the session is closed.
  bool received(const char* bytes, std::size_t n);
  void write();
  void tls_write();
  void written();
  void tick();
  void beat();  // one Heartbeat
  // Runs `then(*this)` once `after` has passed, unless the timer is armed again or disarmed
  // first. An expiry already queued by then is dropped too: asio's cancel() cannot take it back,
  // and a handshake's deadline run after the handshake ended would close a logged-in session.
  template <class Then>
  void arm(std::chrono::steady_clock::duration after, Then then);
  void disarm();
  void handshake(asio::ssl::context& ctx, bool client, std::chrono::seconds deadline, Done done,
                 ssl_session_st* resume = nullptr);
  void handshake_step(std::chrono::seconds deadline, Done done);
  // Waits until the socket can do what OpenSSL's `error` (SSL_ERROR_WANT_READ or _WRITE) asks,
  // then `then` (with the wait's error).
  void await(int error, std::function<void(const boost::system::error_code&)> then);
  void abandon();
  void end_connection();
  void close_gracefully();
  void drain();
  static constexpr std::chrono::seconds kLinger{5};  // for the peer's end, after our last frame

  struct SslFree {
    void operator()(ssl_st* ssl) const;
  };

  asio::ip::tcp::socket socket_;
  std::unique_ptr<ssl_st, SslFree> ssl_;  // the TLS session over socket_ (null: plain)
  asio::steady_timer timer_;
  std::uint32_t armed_ = 0;  // which arming of timer_ is current
  std::string peer_;
  OnFrame on_frame_;
  OnClose on_close_;
  // Reads land in one buffer per thread and go here at once, partial frames only: a gateway
  // holds thousands of idle sessions, and none of them keeps a read buffer.
  FrameReader reader_;
  std::list<std::string> out_;  // (a std::deque allocates even when empty)
  OnTicket on_ticket_;
  bool writing_ = false;
  bool open_ = true;
  bool closing_ = false;  // close once out_ is written
  std::chrono::seconds heartbeat_{0};
  bool beat_ = false;  // send Heartbeats, not only listen for the peer's
  std::chrono::steady_clock::time_point heard_;
  std::chrono::steady_clock::time_point ticketed_;  // the gateway's last ticket on this session
  static constexpr std::chrono::hours kTicketRenewal{24};
  std::uint32_t last_id_ = 0;
};

// Milliseconds since the epoch (Heartbeat's clock).
std::uint64_t now_ms();

}  // namespace openoserv::lcf
