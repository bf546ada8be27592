// Starts a benchmark's raw baseline server the way oserv.rc starts an oserv: as a child process
// in a session of its own.
//
// Why it matters: with scheduler autogroups (the Linux default), every session is a CFS group of
// its own, and under full load the kernel shares CPU between groups before threads. The oserv is a
// daemon (setsid), so it is a group; a baseline server left in the benchmark's session would share
// one group with the client threads and be scheduled differently. Measured on this project's
// 2-core machines: the same raw forwarder, 16 clients, is 1.3-1.5x slower in a session of its own.
// (Under systemd each service is a cgroup of its own, with the same effect.)
#pragma once

#include <omniORB4/CORBA.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "OrbInit.h"

namespace openoserv::bench {

// Forks; the child leaves this session and runs serve(ready_fd), which writes one byte to
// ready_fd once the server answers and never returns. Returns the child's pid when it is ready;
// exits with a message naming `what` when it does not start. The child dies with this process.
template <typename Serve>
pid_t start_baseline_server(const char* what, Serve&& serve) {
  int fds[2];
  if (::pipe(fds) != 0) {
    std::perror(what);
    std::exit(1);
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ::setsid();
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    serve(fds[1]);
    std::_Exit(0);
  }
  ::close(fds[1]);
  char byte = 0;
  if (pid < 0 || ::read(fds[0], &byte, 1) != 1) {
    std::cerr << what << ": the raw baseline server did not start\n";
    std::exit(1);
  }
  ::close(fds[0]);
  return pid;
}

// The body of a baseline server: an ORB with `options`, the servant make(orb) activated on the
// omniINSPOA under `key` (as the oserv's Dispatcher is), readiness signalled on ready_fd, then
// the ORB runs until the process is killed.
template <typename MakeServant>
[[noreturn]] void serve_object(const char* name, const OrbOptions& options, const char* key,
                               int ready_fd, MakeServant&& make) {
  CORBA::ORB_var orb = init_orb(name, options);
  CORBA::Object_var obj = orb->resolve_initial_references("omniINSPOA");
  PortableServer::POA_var poa = PortableServer::POA::_narrow(obj);
  PortableServer::ServantBase* servant = make(orb.in());
  PortableServer::ObjectId_var id = PortableServer::string_to_ObjectId(key);
  poa->activate_object_with_id(id, servant);
  PortableServer::POAManager_var(poa->the_POAManager())->activate();
  char byte = 1;
  if (::write(ready_fd, &byte, 1) != 1) std::_Exit(1);
  ::close(ready_fd);
  orb->run();
  std::_Exit(0);
}

}  // namespace openoserv::bench
