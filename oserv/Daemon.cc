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

#include "UniqueFd.h"

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
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  if (pid > 0) {
    write_end.reset();
    char byte = 0;
    ssize_t n;
    do n = ::read(read_end.get(), &byte, 1); while (n < 0 && errno == EINTR);
    if (n == 1) std::_Exit(0);
    // The daemon ended before it was ready: its exit status is start-up's. One that cannot be
    // known (the wait failed) is a failure, never a success.
    int status = 0;
    pid_t waited;
    do waited = ::waitpid(pid, &status, 0); while (waited < 0 && errno == EINTR);
    if (waited != pid) std::_Exit(1);
    std::_Exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
  }
  fd_ = std::move(write_end);
  ::setsid();
}

void Daemon::ready() {
  if (!fd_) return;
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (devnull) {
    ::dup2(devnull.get(), STDIN_FILENO);
    ::dup2(devnull.get(), STDOUT_FILENO);
    ::dup2(devnull.get(), STDERR_FILENO);
  }
  char byte = 0;
  if (::write(fd_.get(), &byte, 1) != 1) {
    // The parent is gone; nobody is left to tell.
  }
  fd_.reset();
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
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return;
  ::sendto(fd.get(), state, std::strlen(state), 0, reinterpret_cast<sockaddr*>(&sa),
           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
}

}  // namespace openoserv
