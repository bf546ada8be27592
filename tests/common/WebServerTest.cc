// The HTTP server under the metrics and the console (common/WebServer.h), over plain HTTP: what
// a client that stalls, floods or misbehaves gets, and what the handler's answer becomes.
#include <utility>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "WebServer.h"

namespace openoserv::web {
namespace {

namespace asio = boost::asio;

// A client connection that gives up reading after 10 s (a server that never closes fails the
// test instead of hanging it).
struct Client {
  asio::io_context io;
  asio::ip::tcp::socket s{io};
  explicit Client(const std::string& address) {
    const auto colon = address.rfind(':');
    s.connect({asio::ip::make_address(address.substr(0, colon)),
               static_cast<unsigned short>(std::stoi(address.substr(colon + 1)))});
    timeval ten{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &ten, sizeof ten);
  }
  void send(const std::string& bytes) { asio::write(s, asio::buffer(bytes)); }
  // Everything until the server closes ("" when it closed at once).
  std::string read_all() {
    std::string out;
    boost::system::error_code ec;
    char buf[4096];
    while (std::size_t n = s.read_some(asio::buffer(buf), ec)) out.append(buf, n);
    return out;
  }
};

std::string request(const std::string& method, const std::string& path) {
  return method + " " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

Handler echo(std::atomic<int>& calls) {
  return [&calls](const Request& r) {
    ++calls;
    if (r.target == "/throw") throw std::runtime_error("the handler failed");
    Response answer{.body = r.method + " " + r.target};
    answer.headers.emplace_back("X-Peer-Known", r.peer.empty() ? "no" : "yes");
    return answer;
  };
}

TEST(WebServer, TheHandlersAnswerGoesOutAsGiven) {
  std::atomic<int> calls{0};
  Server server("127.0.0.1", echo(calls), Options{});
  Client c(server.address());
  c.send(request("GET", "/a?b=c"));
  const std::string answer = c.read_all();
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("X-Peer-Known: yes\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("\r\n\r\nGET /a?b=c"), std::string::npos) << answer;
}

TEST(WebServer, HeadGetsTheHeadersWithoutTheBody) {
  std::atomic<int> calls{0};
  Server server("127.0.0.1", echo(calls), Options{});
  Client c(server.address());
  c.send(request("HEAD", "/x"));
  const std::string answer = c.read_all();
  EXPECT_NE(answer.find("Content-Length: 7\r\n"), std::string::npos) << answer;
  EXPECT_EQ(answer.substr(answer.size() - 4), "\r\n\r\n") << answer;
}

TEST(WebServer, AHandlerThatThrowsIsA500NamingTheServer) {
  std::atomic<int> calls{0};
  Server server("127.0.0.1", echo(calls), Options{.what = "console"});
  Client c(server.address());
  c.send(request("GET", "/throw"));
  const std::string answer = c.read_all();
  EXPECT_EQ(answer.rfind("HTTP/1.1 500", 0), 0u) << answer;
  EXPECT_NE(answer.find("console: the handler failed"), std::string::npos) << answer;
}

TEST(WebServer, AnOversizedRequestNeverReachesTheHandler) {
  std::atomic<int> calls{0};
  Server server("127.0.0.1", echo(calls), Options{});
  Client c(server.address());
  c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n");
  const std::string answer = c.read_all();
  EXPECT_EQ(answer.find("200 OK"), std::string::npos) << answer;
  EXPECT_EQ(calls.load(), 0);
}

TEST(WebServer, AClientThatStallsHoldsOnlyItsOwnConnectionUntilTheDeadline) {
  std::atomic<int> calls{0};
  Server server("127.0.0.1", echo(calls), Options{.deadline = std::chrono::seconds(1)});
  Client stalled(server.address());
  stalled.send("GET / HTTP/1.1\r\n");  // and nothing more
  Client other(server.address());
  other.send(request("GET", "/other"));
  EXPECT_NE(other.read_all().find("GET /other"), std::string::npos);
  // The stalled one is closed by the server (read_all would fail the test after 10 s).
  EXPECT_EQ(stalled.read_all(), "");
  EXPECT_EQ(calls.load(), 1);
}

TEST(WebServer, ConnectionsOverTheCapAreClosedAsTheyArrive) {
  std::atomic<int> calls{0};
  Server server("127.0.0.1", echo(calls),
                Options{.deadline = std::chrono::seconds(2), .max_connections = 2});
  Client a(server.address()), b(server.address());
  a.send("GET");  // two connections held open
  b.send("GET");
  Client third(server.address());
  EXPECT_EQ(third.read_all(), "");  // closed without an answer
  EXPECT_EQ(a.read_all(), "");      // the deadline frees the two
  EXPECT_EQ(b.read_all(), "");
  Client fourth(server.address());
  fourth.send(request("GET", "/again"));
  EXPECT_NE(fourth.read_all().find("GET /again"), std::string::npos);
}

// CPU time used by this process so far.
std::chrono::microseconds cpu_used() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  const auto us = [](const timeval& t) { return std::chrono::seconds(t.tv_sec) +
                                                std::chrono::microseconds(t.tv_usec); };
  return us(u.ru_utime) + us(u.ru_stime);
}

// No descriptor left to accept a connection with (EMFILE): the server waits a moment before
// trying again instead of trying again at once, which kept a CPU busy for as long as it lasted,
// and serves the connection once a descriptor is free.
TEST(WebServer, WithNoDescriptorLeftItWaitsToAcceptAgainInsteadOfSpinning) {
  std::atomic<int> calls{0};
  Server server("127.0.0.1", echo(calls), Options{});
  const auto colon = server.address().rfind(':');
  sockaddr_in to{.sin_family = AF_INET,
                 .sin_port = htons(static_cast<std::uint16_t>(
                     std::stoi(server.address().substr(colon + 1)))),
                 .sin_addr = {.s_addr = htonl(INADDR_LOOPBACK)},
                 .sin_zero = {}};
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  const rlimit was = limit;
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_cur, 512);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  std::vector<int> taken;  // every descriptor but the one the client's socket takes
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) taken.push_back(fd);
  ASSERT_EQ(errno, EMFILE);
  ::close(taken.back());
  taken.pop_back();
  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0);
  ASSERT_EQ(::connect(client, reinterpret_cast<const sockaddr*>(&to), sizeof to), 0);
  const std::string get = request("GET", "/later");
  ASSERT_EQ(::send(client, get.data(), get.size(), 0), static_cast<ssize_t>(get.size()));

  const auto before = cpu_used();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto spent = cpu_used() - before;
  for (int fd : taken) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &was);
  // Trying again at once took the whole 500 ms of a CPU; every 100 ms, next to nothing.
  EXPECT_LT(spent, std::chrono::milliseconds(200));

  timeval ten{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &ten, sizeof ten);
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::recv(client, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  ::close(client);
  EXPECT_NE(answer.find("GET /later"), std::string::npos) << answer;
  EXPECT_EQ(calls.load(), 1);
}

TEST(WebServer, BadAddressesAndMissingFilesAreNamed) {
  std::atomic<int> calls{0};
  try {
    Server s("localhost:9", echo(calls), Options{.what = "console"});
    ADD_FAILURE() << "a host name was taken";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "console at localhost:9: 'localhost' is not an IP address");
  }
  try {
    Server s("127.0.0.1", echo(calls),
             Options{.what = "console",
                     .tls = Tls{.certificate = "/nonexistent/identity.pem",
                                .key = "/nonexistent/identity.pem",
                                .client_ca = "/nonexistent/ca.pem"}});
    ADD_FAILURE() << "a missing certificate was taken";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("console: cannot load /nonexistent/identity.pem"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace openoserv::web
