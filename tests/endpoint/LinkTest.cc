// A session over TLS on loopback, as the gateway and lcfd run it: the handshake, frames larger
// than a read and than a TLS record, many frames queued at once arriving whole and in order,
// the peer's chain, and the close seen by the other end.
#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "Link.h"
#include "RegionCa.h"
#include "SessionTls.h"

namespace openoserv::lcf {
namespace {

Lcf::MethodBody body_of(size_t size, char fill) {
  Lcf::MethodBody m;
  m.digest = std::to_string(size).c_str();
  m.program.length(static_cast<CORBA::ULong>(size));
  for (CORBA::ULong i = 0; i < size; ++i) m.program[i] = static_cast<CORBA::Octet>(fill + i % 7);
  return m;
}

// A gateway's TLS context, from a dispatcher certificate of a fresh region CA saved in `dir`.
auto gateway_context(const std::filesystem::path& dir, const std::string& ip = "127.0.0.1") {
  std::filesystem::create_directories(dir);
  const tls::Identity ca = tls::make_region_ca(42);
  tls::save_self(dir.string(),
                 tls::issue(ca, {.kind = tls::Subject::Kind::kDispatcher, .region = 42, .od = 2,
                                 .name = "", .ip = ip},
                            std::chrono::hours(24)),
                 ca.cert_pem);
  return gateway_tls_context((dir / "identity.pem").string());
}

TEST(Link, FramesCrossATlsSessionWholeAndInOrder) {
  ::signal(SIGPIPE, SIG_IGN);  // as the gateway and lcfd have it (Link.h)
  const auto dir = std::filesystem::temp_directory_path() / "oo-link-test";
  auto server_ctx = gateway_context(dir);
  auto client_ctx = endpoint_tls_context();

  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::shared_ptr<Link> server, client;
  std::vector<Frame> got;
  std::string server_closed, client_closed, handshakes;
  const std::vector<size_t> sizes = {1, 5000, 70000, 3, 16384, 200000};
  constexpr int kSmall = 500;  // queued at once after the big ones

  acceptor.async_accept([&](const boost::system::error_code& ec, asio::ip::tcp::socket s) {
    ASSERT_FALSE(ec) << ec.message();
    server = std::make_shared<Link>(std::move(s));
    server->tls_server(*server_ctx, /*allow_plain=*/false, std::chrono::seconds(5),
                       [&](const std::string& error) {
                         handshakes += "server:" + error + ";";
                         if (!error.empty()) return;
                         server->start([&](Frame&& f) { got.push_back(std::move(f)); },
                                       [&](const std::string& why) { server_closed = why; });
                       });
  });
  asio::ip::tcp::socket socket(io);
  socket.connect(acceptor.local_endpoint());
  client = std::make_shared<Link>(std::move(socket));
  client->tls_client(*client_ctx, std::chrono::seconds(5), [&](const std::string& error) {
    handshakes += "client:" + error + ";";
    if (!error.empty()) return;
    client->start([](Frame&&) {}, [&](const std::string& why) { client_closed = why; });
    for (size_t i = 0; i < sizes.size(); ++i)
      client->send(Type::kMethodBody, static_cast<std::uint32_t>(i + 1), body_of(sizes[i], 'a'));
    for (int i = 0; i < kSmall; ++i)
      client->send(Type::kMethodBody, static_cast<std::uint32_t>(1000 + i), body_of(10, 'k'));
    client->close_after_sending("done");
  });
  io.run_for(std::chrono::seconds(20));

  EXPECT_NE(handshakes.find("client:;"), std::string::npos) << handshakes;
  EXPECT_NE(handshakes.find("server:;"), std::string::npos) << handshakes;
  ASSERT_EQ(got.size(), sizes.size() + kSmall) << server_closed << " / " << client_closed;
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(got[i].id, i + 1);
    const auto m = decode<Lcf::MethodBody>(got[i]);
    ASSERT_EQ(m.program.length(), sizes[i]);
    const auto want = body_of(sizes[i], 'a');
    EXPECT_EQ(std::memcmp(m.program.get_buffer(), want.program.get_buffer(), sizes[i]), 0);
  }
  EXPECT_EQ(got.back().id, 1000u + kSmall - 1);
  EXPECT_TRUE(client->tls());
  ASSERT_EQ(client->peer_chain().size(), 2u);  // the gateway's certificate, then the CA
  EXPECT_EQ(tls::subject_of(client->peer_chain().front()).od, 2u);
  EXPECT_EQ(server_closed, "the other end closed the session");
  std::filesystem::remove_all(dir);
}

TEST(Link, APlainClientIsRefusedByATlsOnlyServer) {
  auto server_ctx_dir = std::filesystem::temp_directory_path() / "oo-link-test-plain";
  auto server_ctx = gateway_context(server_ctx_dir, "");
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::string refusal = "(none)";
  acceptor.async_accept([&](const boost::system::error_code& ec, asio::ip::tcp::socket s) {
    ASSERT_FALSE(ec);
    auto server = std::make_shared<Link>(std::move(s));
    server->tls_server(*server_ctx, false, std::chrono::seconds(5),
                       [&, server](const std::string& error) { refusal = error; });
  });
  asio::ip::tcp::socket socket(io);
  socket.connect(acceptor.local_endpoint());
  auto client = std::make_shared<Link>(std::move(socket));
  client->start([](Frame&&) {}, [](const std::string&) {});
  client->send(Type::kMethodBody, 1, body_of(10, 'p'));
  io.run_for(std::chrono::seconds(3));
  EXPECT_NE(refusal.find("plain (unencrypted) session"), std::string::npos) << refusal;
  std::filesystem::remove_all(server_ctx_dir);
}


// A handshake deadline that expires while the handshake's last bytes are arriving: the event
// loop (a gateway in a login storm) takes both at once, the handshake first. The deadline,
// already due, must not then end the session the handshake started.
TEST(Link, AHandshakeDeadlineDueAsTheHandshakeEndsLeavesTheSessionUp) {
  ::signal(SIGPIPE, SIG_IGN);
  const auto dir = std::filesystem::temp_directory_path() / "oo-link-deadline-test";
  auto server_ctx = gateway_context(dir);
  auto client_ctx = endpoint_tls_context();
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::shared_ptr<Link> server, client;
  int got = 0;
  std::string server_closed;
  acceptor.async_accept([&](const boost::system::error_code& ec, asio::ip::tcp::socket s) {
    ASSERT_FALSE(ec) << ec.message();
    server = std::make_shared<Link>(std::move(s));
    server->tls_server(*server_ctx, false, std::chrono::seconds(1), [&](const std::string& error) {
      ASSERT_EQ(error, "");
      server->start([&](Frame&&) { ++got; }, [&](const std::string& why) { server_closed = why; });
    });
  });
  asio::ip::tcp::socket socket(io);
  socket.connect(acceptor.local_endpoint());
  client = std::make_shared<Link>(std::move(socket));
  asio::steady_timer later(io);
  client->tls_client(*client_ctx, std::chrono::seconds(5), [&](const std::string& error) {
    ASSERT_EQ(error, "");
    // The client's Finished is on its way; the server's deadline passes before it is read.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    client->start([](Frame&&) {}, [](const std::string&) {});
    client->send(Type::kMethodBody, 1, body_of(3, 'c'));
    later.expires_after(std::chrono::milliseconds(500));
    later.async_wait([&](const boost::system::error_code&) {
      client->send(Type::kMethodBody, 2, body_of(3, 'c'));
      later.expires_after(std::chrono::milliseconds(500));
      later.async_wait([&](const boost::system::error_code&) { io.stop(); });
    });
  });
  io.run_for(std::chrono::seconds(10));
  EXPECT_EQ(server_closed, "");
  EXPECT_EQ(got, 2);
  std::filesystem::remove_all(dir);
}

// One connection to a gateway context: the client's handshake, then a frame each way (the
// gateway's ticket arrives with its frame). Returns whether the handshake resumed `resume`;
// `ticket` gets the ticket the gateway issued.
bool connect_once(asio::ssl::context& server_ctx, asio::ssl::context& client_ctx,
                  Link::TlsSession resume, Link::TlsSession& ticket) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::shared_ptr<Link> server, client;
  bool resumed = false, answered = false;
  acceptor.async_accept([&](const boost::system::error_code& ec, asio::ip::tcp::socket s) {
    ASSERT_FALSE(ec) << ec.message();
    server = std::make_shared<Link>(std::move(s));
    server->tls_server(server_ctx, false, std::chrono::seconds(5), [&](const std::string& error) {
      ASSERT_EQ(error, "");
      server->start([&](Frame&&) { server->send(Type::kMethodBody, 2, body_of(3, 's')); },
                    [](const std::string&) {});
    });
  });
  asio::ip::tcp::socket socket(io);
  socket.connect(acceptor.local_endpoint());
  client = std::make_shared<Link>(std::move(socket));
  client->tls_client(
      client_ctx, std::chrono::seconds(5),
      [&](const std::string& error) {
        ASSERT_EQ(error, "");
        resumed = client->resumed();
        client->start(
            [&](Frame&&) {
              answered = true;
              io.stop();
            },
            [](const std::string&) {});
        client->send(Type::kMethodBody, 1, body_of(3, 'c'));
      },
      std::move(resume), [&](Link::TlsSession t) { ticket = std::move(t); });
  io.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(answered);
  return resumed;
}

// A gateway's ticket resumes the session at the next connection, also with a gateway restarted
// from the same identity (its ticket keys are derived from its key); another gateway's identity
// takes a full handshake, which works as before.
TEST(Link, AGatewaysTicketResumesTheSessionAfterItRestarts) {
  ::signal(SIGPIPE, SIG_IGN);
  const auto dir = std::filesystem::temp_directory_path() / "oo-link-ticket-test";
  std::filesystem::create_directories(dir / "other");
  const tls::Identity ca = tls::make_region_ca(42);
  for (const auto& [sub, od] : {std::pair{std::string(""), 2u}, {std::string("other"), 3u}})
    tls::save_self((dir / sub).string(),
                   tls::issue(ca, {.kind = tls::Subject::Kind::kDispatcher, .region = 42,
                                   .od = od, .name = "", .ip = "127.0.0.1"},
                              std::chrono::hours(24)),
                   ca.cert_pem);
  auto client_ctx = endpoint_tls_context();
  Link::TlsSession ticket, again, other;
  {
    auto gateway = gateway_tls_context((dir / "identity.pem").string());
    EXPECT_FALSE(connect_once(*gateway, *client_ctx, nullptr, ticket)) << "the first is full";
    ASSERT_TRUE(ticket) << "no ticket from the gateway";
    EXPECT_TRUE(connect_once(*gateway, *client_ctx, ticket, again));
  }
  // A ticket is resumed once (OpenSSL's client, as TLS 1.3 advises); each connection brings the
  // next.
  ASSERT_TRUE(again);
  auto restarted = gateway_tls_context((dir / "identity.pem").string());
  EXPECT_TRUE(connect_once(*restarted, *client_ctx, again, ticket)) << "after a restart";
  auto another = gateway_tls_context((dir / "other" / "identity.pem").string());
  EXPECT_FALSE(connect_once(*another, *client_ctx, ticket, other)) << "another gateway's keys";
  EXPECT_TRUE(other) << "a ticket of its own";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace openoserv::lcf
