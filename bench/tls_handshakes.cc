// tls_handshakes: the raw baseline of the endpoint benchmark's login rate (docs/PERFORMANCE.md,
// "Endpoint scale"): full TLS handshakes on loopback with OpenSSL alone, nothing else, using the
// gateway's certificate and the endpoint sessions' contexts (SessionTls.h) on both ends, as many
// client and server threads as the machine has CPUs, so that the two ends share the CPUs as the
// simulator and the gateway do. Each connection: connect, handshake, one byte each way (so the
// handshake is complete at both ends), close. Prints handshakes per second and the CPU time
// (user + system, both ends) per handshake.
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <utility>

#include <boost/asio.hpp>
#include <boost/program_options.hpp>
#include <fmt/core.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "SessionTls.h"

namespace asio = boost::asio;
namespace po = boost::program_options;
using tcp = asio::ip::tcp;

namespace {

constexpr const char* kUsage =
    "usage: tls_handshakes --identity PEM [--address A.B.C.D] [--count N] [--threads T]\n"
    "\n"
    "Runs N full TLS handshakes on loopback between T client and T server threads of this\n"
    "process (OpenSSL only), with the certificate and key in PEM (a gateway's identity.pem) and\n"
    "the contexts of endpoint sessions, and prints handshakes per second and the CPU time per\n"
    "handshake, both ends together. The raw baseline of scripts/bench.sh endpoints.\n";

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// One connection's TLS, blocking, on descriptor `fd`: false when it failed.
bool exchange(SSL_CTX* ctx, int fd, bool client) {
  const int one = 1;  // as the sessions do: no Nagle delay on the last small write
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx), SSL_free);
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) return false;
  if ((client ? SSL_connect(ssl.get()) : SSL_accept(ssl.get())) != 1) return false;
  char byte = 'x';
  if (client) return SSL_write(ssl.get(), &byte, 1) == 1 && SSL_read(ssl.get(), &byte, 1) == 1;
  return SSL_read(ssl.get(), &byte, 1) == 1 && SSL_write(ssl.get(), &byte, 1) == 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string identity, address = "127.0.0.1";
  int count = 5000;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  po::options_description opts("options");
  opts.add_options()("help,h", "this text")("identity", po::value(&identity), "certificate and key (PEM)")(
      "address", po::value(&address), "loopback address to listen on (default 127.0.0.1)")(
      "count", po::value(&count), "handshakes (default 5000)")(
      "threads", po::value(&threads), "client threads, and as many server threads (default: CPUs)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "tls_handshakes: " << e.what() << "\n\n" << kUsage << "\n" << opts;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << kUsage << "\n" << opts;
    return 0;
  }
  if (identity.empty() || count <= 0 || threads == 0) {
    std::cerr << "tls_handshakes: --identity is required, --count and --threads above 0\n\n"
              << kUsage << "\n" << opts;
    return 2;
  }
  try {
    auto server_ctx = openoserv::lcf::gateway_tls_context(identity);
    auto client_ctx = openoserv::lcf::endpoint_tls_context();
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address(address), 0));
    acceptor.listen(1024);
    const auto where = acceptor.local_endpoint();
    std::atomic<int> next{0}, failed{0};
    std::vector<std::thread> workers;
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    for (unsigned i = 0; i < threads; ++i) {
      workers.emplace_back([&] {  // server
        for (;;) {  // accept(2) itself: an asio acceptor is not for several threads at once
          const int fd = ::accept(acceptor.native_handle(), nullptr, nullptr);
          if (fd < 0) return;  // shut down: all done
          if (!exchange(server_ctx->native_handle(), fd, false)) ++failed;
          ::close(fd);
        }
      });
      workers.emplace_back([&] {  // client
        while (next.fetch_add(1) < count) {
          tcp::socket s(io);
          boost::system::error_code ec;
          s.connect(where, ec);
          if (ec || !exchange(client_ctx->native_handle(), s.native_handle(), true)) ++failed;
        }
      });
    }
    for (unsigned i = 1; i < workers.size(); i += 2) workers[i].join();
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - c0;
    ::shutdown(acceptor.native_handle(), SHUT_RDWR);  // wakes the accepting threads
    for (unsigned i = 0; i < workers.size(); i += 2) workers[i].join();
    if (failed > 0) {
      std::cerr << fmt::format("tls_handshakes: {} of {} handshakes failed\n", failed.load(), count);
      return 1;
    }
    std::cout << fmt::format(
        "raw TLS handshakes (OpenSSL alone, {} client and {} server threads): {} in {:.2f} s, "
        "{:.0f} per second, {:.3f} ms CPU each (both ends)\n",
        threads, threads, count, wall, count / wall, cpu * 1000 / count);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "tls_handshakes: " << e.what() << "\n";
    return 1;
  }
}
