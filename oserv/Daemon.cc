// Fork with readiness pipe; sd_notify without libsystemd (the protocol is one datagram).
#include "Daemon.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace openoserv {

void Daemon::detach() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    std::perror("oserv: pipe");
    std::exit(1);
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("oserv: fork");
    std::exit(1);
  }
  if (pid > 0) {
    ::close(fds[1]);
    char byte = 0;
    ssize_t n;
    do n = ::read(fds[0], &byte, 1); while (n < 0 && errno == EINTR);
    if (n == 1) std::_Exit(0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::_Exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
  }
  ::close(fds[0]);
  fd_ = fds[1];
  ::setsid();
}

void Daemon::ready() {
  if (fd_ < 0) return;
  int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(devnull, STDOUT_FILENO);
    ::dup2(devnull, STDERR_FILENO);
    if (devnull > STDERR_FILENO) ::close(devnull);
  }
  char byte = 0;
  if (::write(fd_, &byte, 1) != 1) {
  }
  ::close(fd_);
  fd_ = -1;
}

void sd_notify_state(const char* state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  size_t len = std::strlen(path);
  if (len >= sizeof sa.sun_path) return;
  std::memcpy(sa.sun_path, path, len);
  if (sa.sun_path[0] == '@') sa.sun_path[0] = '\0';  // abstract namespace
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  ::sendto(fd, state, std::strlen(state), 0, reinterpret_cast<sockaddr*>(&sa),
           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
  ::close(fd);
}

}  // namespace openoserv
