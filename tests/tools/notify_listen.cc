// notify_listen SOCKET SECONDS: receives sd_notify datagrams on SOCKET like systemd does and
// prints each one on its own line until READY=1 arrives (exit 0) or SECONDS pass (exit 1).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: notify_listen SOCKET SECONDS\n");
    return 2;
  }
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, argv[1], sizeof sa.sun_path - 1);
  ::unlink(argv[1]);
  int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::perror(argv[1]);
    return 2;
  }
  std::printf("listening\n");
  std::fflush(stdout);
  int remaining_ms = std::atoi(argv[2]) * 1000;
  while (remaining_ms > 0) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) == 1) {
      char buf[4096];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        std::string msg(buf, static_cast<size_t>(n));
        std::printf("%s\n", msg.c_str());
        std::fflush(stdout);
        if (msg.find("READY=1") != std::string::npos) return 0;
      }
    }
    remaining_ms -= 100;
  }
  return 1;
}
